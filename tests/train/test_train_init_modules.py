"""Initialisers on any torch autoencoder: a user's nn.Sequential or a module with its layers named.

The oracles: empirical variances of wide layers against the scheme's formula (five standard
errors), the advisor's recommendation computed independently, bit-equality with the same
scheme on the equivalent DeepAutoencoder, determinism given the generator and an untouched
global RNG.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from aelab.errors import ConfigError
from aelab.train import init as I
from aelab.train.models import DeepAutoencoder


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _assert_variance(values: torch.Tensor, expected: float, n_se: float = 5.0):
    """Sample variance of Gaussian entries within n_se standard errors, SE = var sqrt(2/n)."""
    v = values.detach().double().flatten()
    se = expected * math.sqrt(2.0 / v.numel())
    assert abs(float(v.var()) - expected) < n_se * se, (float(v.var()), expected, se)
    assert abs(float(v.mean())) < n_se * math.sqrt(expected / v.numel())


def _user_ae():
    return nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 784))


def test_li_nguyen_on_a_plain_sequential_draws_the_papers_law():
    ae = _user_ae()
    info = I.li_nguyen_(ae, sigma_w_sq=1.7, sigma_b_sq=0.3, generator=_gen(1))
    assert info == {"sigma_w_sq": 1.7, "sigma_b_sq": 0.3}
    enc, dec = ae[0], ae[2]
    _assert_variance(enc.weight, 1.7 / 784)
    # the decoder is drawn like the transposed encoder: sigma_W^2 / n_0, not its own fan-in 256
    _assert_variance(dec.weight, 1.7 / 784)
    assert abs(float(dec.weight.detach().var()) * 784 / 1.7 - 1.0) < 0.05
    assert torch.count_nonzero(dec.bias) == 0  # decoder biases v_l = 0
    assert enc.bias.std() > 0


def test_encoder_biases_have_variance_sigma_b_sq():
    ae = nn.Sequential(nn.Linear(100, 3000), nn.ReLU(), nn.Linear(3000, 3000), nn.ReLU(),
                       nn.Linear(3000, 3000), nn.ReLU(), nn.Linear(3000, 100))
    I.li_nguyen_(ae, sigma_w_sq=2.0, sigma_b_sq=0.05, generator=_gen(2))
    _assert_variance(torch.cat([ae[0].bias, ae[2].bias]), 0.05)
    assert torch.count_nonzero(ae[4].bias) == 0 and torch.count_nonzero(ae[6].bias) == 0
    _assert_variance(ae[2].weight, 2.0 / 3000)  # W_2: sigma_W^2 / n_1
    _assert_variance(ae[4].weight, 2.0 / 3000)  # D_2 like W_2^T: sigma_W^2 / n_1
    _assert_variance(ae[6].weight, 2.0 / 100)  # D_1 (100 x 3000) like W_1^T: sigma_W^2 / n_0


def test_advisor_on_a_user_sequential_uses_the_theorys_variances():
    advisor = pytest.importorskip("aelab.deep.advisor")
    x = torch.rand(200, 784, generator=_gen(3))
    tau_sq = float(x.double().square().mean())
    ae = _user_ae()
    info = I.init_autoencoder_(ae, "advisor", data=x, generator=_gen(4))
    sw, sb = advisor.recommend_init("tanh", "tanh", 1, alpha=1.0, bottleneck="tanh", input_variance=tau_sq)
    assert info["sigma_w_sq"] == pytest.approx(sw) and info["sigma_b_sq"] == pytest.approx(sb)
    assert (info["encoder"], info["bottleneck"], info["depth"]) == ("tanh", "tanh", 1)
    _assert_variance(ae[0].weight, sw / 784)
    _assert_variance(ae[2].weight, sw / 784)
    # li_nguyen_ without variances is the advisor's choice; explicit activation names win over the modules'
    relu = I.li_nguyen_(_user_ae(), encoder="relu", decoder="relu", bottleneck="relu", generator=_gen(4))
    assert relu["sigma_w_sq"] == pytest.approx(advisor.recommend_init("relu", "relu", 1, bottleneck="relu")[0])


@pytest.mark.parametrize("scheme", ["gaussian", "advisor", "xavier", "xavier_normal", "he", "orthogonal", "lsuv"])
def test_every_scheme_is_deterministic_given_the_generator_and_leaves_the_global_rng(scheme):
    kw = {"sigma_w_sq": 1.3, "sigma_b_sq": 0.1} if scheme == "gaussian" else {}
    x = torch.rand(64, 784, generator=_gen(5))
    states = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        ae = _user_ae()  # torch's own default initialisation uses the global RNG
        before = torch.get_rng_state()
        I.init_autoencoder_(ae, scheme, generator=_gen(6), data=x, **kw)
        assert torch.equal(torch.get_rng_state(), before)  # no draw from the global RNG
        states.append([p.detach().clone() for p in ae.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*states))
    other = _user_ae()
    I.init_autoencoder_(other, scheme, generator=_gen(7), data=x, **kw)
    assert not torch.equal(other[0].weight, states[0][0])


@pytest.mark.parametrize("scheme", ["gaussian", "advisor", "xavier", "he", "orthogonal", "lsuv"])
def test_a_sequential_and_the_same_deep_autoencoder_get_the_same_weights(scheme):
    """One implementation: the layers of DeepAutoencoder and nn.Sequential are drawn alike."""
    kw = {"sigma_w_sq": 1.3, "sigma_b_sq": 0.1} if scheme == "gaussian" else {}
    x = torch.rand(100, 30, generator=_gen(8))
    deep = DeepAutoencoder([30, 20, 10], encoder="tanh", bottleneck="relu", decoder="tanh", output="linear",
                           tied=False)
    seq = nn.Sequential(nn.Linear(30, 20), nn.Tanh(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 20), nn.Tanh(),
                        nn.Linear(20, 30))
    info_deep = I.initialise(deep, scheme, generator=_gen(9), data=x, **kw)
    info_seq = I.init_autoencoder_(seq, scheme, generator=_gen(9), data=x, **kw)
    assert info_deep.keys() == info_seq.keys()
    if scheme != "lsuv":  # LSUV's passes differ in what they run; the orthogonal draws agree
        assert info_deep == info_seq
    pairs = [(deep.weight[0], seq[0].weight), (deep.weight[1], seq[2].weight),
             (deep.dec_weight[1], seq[4].weight), (deep.dec_weight[0], seq[6].weight),
             (deep.enc_bias[0], seq[0].bias), (deep.enc_bias[1], seq[2].bias),
             (deep.dec_bias[1], seq[4].bias), (deep.dec_bias[0], seq[6].bias)]
    for a, b in pairs:
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-6, atol=0)


def test_he_follows_each_layers_activation():
    ae = nn.Sequential(nn.Linear(1000, 1000), nn.LeakyReLU(0.3), nn.Linear(1000, 1000), nn.ReLU(),
                       nn.Linear(1000, 1000), nn.Tanh(), nn.Linear(1000, 1000))
    I.init_autoencoder_(ae, "he", generator=_gen(10))
    _assert_variance(ae[0].weight, 2.0 / (1.09 * 1000))
    _assert_variance(ae[2].weight, 2.0 / 1000)
    assert all(torch.count_nonzero(ae[i].bias) == 0 for i in (0, 2, 4, 6))


def test_lsuv_on_a_user_sequential_gives_unit_variance_hidden_layers():
    x = torch.rand(400, 50, generator=_gen(11))
    ae = nn.Sequential(nn.Linear(50, 80), nn.Tanh(), nn.Linear(80, 20), nn.ReLU(), nn.Linear(20, 80), nn.Tanh(),
                       nn.Linear(80, 50))
    info = I.init_autoencoder_(ae, "lsuv", data=x, generator=_gen(12), lsuv_tol=0.01, lsuv_iters=20)
    assert len(info["lsuv_variances"]) == 3  # the output layer keeps its scale
    h = x
    with torch.no_grad():
        for i, module in enumerate(ae):
            h = module(h)
            if isinstance(module, nn.Linear) and i < 6:
                assert abs(float(h.var()) - 1.0) < 0.01, i


def test_a_module_with_its_layers_named():
    class AE(nn.Module):
        def __init__(self):
            super().__init__()
            self.decode = nn.Linear(300, 900)  # registered first: the order of modules() is not the forward order
            self.encode = nn.Linear(900, 300)

        def forward(self, x):
            return self.decode(torch.relu(self.encode(x)))

    ae = AE()
    with pytest.raises(ConfigError, match="bottleneck activation"):  # functional relu: not seen
        I.li_nguyen_(ae, generator=_gen(13), encoder_layers=[ae.encode], decoder_layers=[ae.decode])
    info = I.li_nguyen_(ae, generator=_gen(13), encoder_layers=[ae.encode], decoder_layers=[ae.decode],
                        bottleneck="relu", encoder="relu", decoder="relu")
    assert info["bottleneck"] == "relu"
    _assert_variance(ae.encode.weight, info["sigma_w_sq"] / 900)
    _assert_variance(ae.decode.weight, info["sigma_w_sq"] / 900)


def test_layers_that_do_not_form_an_autoencoder_are_refused():
    with pytest.raises(ConfigError, match="3 nn.Linear layers"):
        I.init_autoencoder_(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 4)), "xavier",
                            generator=_gen())
    with pytest.raises(ConfigError, match="different activations"):
        I.init_autoencoder_(nn.Sequential(nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2),
                                          nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 8)),
                            "advisor", generator=_gen())
    with pytest.raises(ConfigError, match="unknown initialiser 'glorot'"):
        I.init_autoencoder_(_user_ae(), "glorot", generator=_gen())
    with pytest.raises(ConfigError, match="unknown activation"):
        I.li_nguyen_(_user_ae(), encoder="swish", generator=_gen())
