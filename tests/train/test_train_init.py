"""Initialisers: empirical statistics of the drawn weights against their formulas, LSUV, pretraining."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aelab.errors import ConfigError
from aelab.train import init as I
from aelab.train.models import DeepAutoencoder


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _assert_variance(values: torch.Tensor, expected: float, kurtosis: float = 3.0, n_se: float = 5.0):
    """Sample variance within n_se standard errors, SE = var sqrt((kurtosis - 1)/n)."""
    v = values.double().flatten()
    n = v.numel()
    se = expected * math.sqrt((kurtosis - 1.0) / n)
    assert abs(float(v.var()) - expected) < n_se * se, (float(v.var()), expected, se)
    assert abs(float(v.mean())) < n_se * math.sqrt(expected / n)


def _kurtosis(values: torch.Tensor) -> float:
    v = values.double().flatten()
    v = v - v.mean()
    return float((v**4).mean() / (v**2).mean() ** 2)


@pytest.mark.parametrize("sigma_w_sq", [0.5, 2.312])
def test_gaussian_weights_have_variance_sigma_w_sq_over_fan_in(sigma_w_sq):
    w = I.gaussian_(torch.empty(300, 700), sigma_w_sq, generator=_gen(1))
    _assert_variance(w, sigma_w_sq / 700)
    assert abs(_kurtosis(w) - 3.0) < 0.05


def test_gaussian_bias_variance_and_zero():
    _assert_variance(I.gaussian_bias_(torch.empty(200_000), 0.211, generator=_gen(2)), 0.211)
    assert torch.count_nonzero(I.gaussian_bias_(torch.ones(10), 0.0)) == 0


def test_xavier_uniform_and_normal():
    fan_out, fan_in = 250, 600
    expected = 2.0 / (fan_in + fan_out)
    u = I.xavier_uniform_(torch.empty(fan_out, fan_in), generator=_gen(3))
    _assert_variance(u, expected, kurtosis=1.8)
    assert float(u.abs().max()) <= math.sqrt(6.0 / (fan_in + fan_out))
    assert abs(_kurtosis(u) - 1.8) < 0.03  # uniform, not Gaussian
    n = I.xavier_normal_(torch.empty(fan_out, fan_in), generator=_gen(4))
    _assert_variance(n, expected)
    assert abs(_kurtosis(n) - 3.0) < 0.05


@pytest.mark.parametrize("act, slope", [("relu", 0.0), ("tanh", 0.0), ("leaky_relu", 0.01), ("leaky_relu(0.2)", 0.2)])
def test_he_variance_follows_the_activation(act, slope):
    assert I.he_slope(act) == pytest.approx(slope)
    w = I.he_(torch.empty(400, 500), I.he_slope(act), generator=_gen(5))
    _assert_variance(w, 2.0 / ((1.0 + slope**2) * 500))


@pytest.mark.parametrize("shape", [(300, 500), (500, 300)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = I.orthogonal_(torch.empty(*shape, dtype=torch.float64), generator=_gen(6))
    gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
    torch.testing.assert_close(gram, torch.eye(min(shape), dtype=torch.float64), atol=1e-10, rtol=0)


def test_initialise_gaussian_on_tied_and_untied_models():
    widths = [300, 400, 400, 200]
    for tied in (True, False):
        model = DeepAutoencoder(widths, tied=tied)
        info = I.initialise(model, "gaussian", sigma_w_sq=1.5, sigma_b_sq=0.3, generator=_gen(7))
        assert info == {"sigma_w_sq": 1.5, "sigma_b_sq": 0.3}
        for l, w in enumerate(model.weight):
            _assert_variance(w.detach(), 1.5 / widths[l])
        _assert_variance(torch.cat([b.detach() for b in model.enc_bias]), 0.3)
        assert all(torch.count_nonzero(v) == 0 for v in model.dec_bias)  # decoder biases start at zero
        if not tied:
            for l, d in enumerate(model.dec_weight):
                _assert_variance(d.detach(), 1.5 / widths[l])  # drawn like W_l^T: sigma_W^2 / n_{l-1}


@pytest.mark.parametrize("scheme", ["xavier", "xavier_normal", "he", "orthogonal"])
def test_initialise_by_name_zeroes_biases_and_is_seeded(scheme):
    a = DeepAutoencoder([50, 40, 30], tied=False, encoder="relu", decoder="relu")
    b = DeepAutoencoder([50, 40, 30], tied=False, encoder="relu", decoder="relu")
    with torch.no_grad():
        for p in a.enc_bias:
            p.fill_(1.0)
    I.initialise(a, scheme, generator=_gen(8))
    I.initialise(b, scheme, generator=_gen(8))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert all(torch.count_nonzero(v) == 0 for v in a.enc_bias)
    if scheme == "he":  # relu encoder: 2 / fan_in
        _assert_variance(a.weight[0].detach(), 2.0 / 50)


def test_lsuv_gives_unit_variance_layer_outputs():
    torch.manual_seed(0)
    x = torch.rand(500, 60, generator=_gen(9))
    for tied in (True, False):
        model = DeepAutoencoder([60, 80, 80, 40], tied=tied, encoder="tanh", bottleneck="relu", decoder="tanh")
        info = I.initialise(model, "lsuv", data=x, generator=_gen(10), lsuv_tol=0.01, lsuv_iters=20)
        variances = {}
        with torch.no_grad():
            model(x, trace=lambda name, t: variances.setdefault(name, float(t.var())))
        for l in (1, 2, 3):
            assert abs(variances[f"encoder layer {l} (x_{l})"] - 1.0) < 0.01
        if not tied:
            assert abs(variances["decoder layer 3 (xhat_3)"] - 1.0) < 0.01
            assert abs(variances["decoder layer 2 (xhat_2)"] - 1.0) < 0.01
        assert len(info["lsuv_variances"]) == (3 if tied else 5)


def test_advisor_uses_the_theorys_variances():
    advisor = pytest.importorskip("aelab.deep.advisor", reason="aelab.deep.advisor is not in this tree yet")
    model = DeepAutoencoder([30, 40, 40, 40], encoder="tanh", decoder="relu", bottleneck="relu", tied=True)
    x = torch.full((10, 30), 0.5)
    info = I.initialise(model, "advisor", data=x, generator=_gen(11))
    sw, sb = advisor.recommend_init("tanh", "relu", 3, alpha=1.0, bottleneck="relu", input_variance=0.25)
    assert info["sigma_w_sq"] == pytest.approx(sw) and info["sigma_b_sq"] == pytest.approx(sb)
    _assert_variance(torch.cat([w.detach().flatten() * np.sqrt(w.shape[1]) for w in model.weight]), sw)


def test_unknown_scheme_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown initialiser 'glorot'"):
        I.initialise(DeepAutoencoder([4, 3]), "glorot", generator=_gen())
    with pytest.raises(ConfigError, match="sigma_w_sq"):
        I.initialise(DeepAutoencoder([4, 3]), "gaussian", generator=_gen())
    with pytest.raises(ConfigError, match="lsuv"):
        I.initialise(DeepAutoencoder([4, 3]), "lsuv", generator=_gen())


def test_layerwise_pretraining_trains_each_layer_and_helps_the_stack(low_rank_arrays):
    from aelab.train.loop import normalised_loss
    from aelab.train.pretraining import pretrain

    x = torch.from_numpy(np.array(low_rank_arrays.train))
    kw = dict(encoder="tanh", bottleneck="linear", decoder="tanh", output="sigmoid")
    model = DeepAutoencoder([24, 16, 8, 4], **kw)
    I.initialise(model, "xavier", generator=_gen(12))
    with torch.no_grad():
        before = float(normalised_loss(model(x), x))
    info = pretrain(model, x, steps_per_layer=300, batch_size=50, optimizer="adam", lr=0.01, seed=0)
    with torch.no_grad():
        after = float(normalised_loss(model(x), x))
    losses = info["pretrain_losses"]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[0] < 0.05  # the first shallow autoencoder reconstructs the data well
    assert after < 0.25 * before  # before: about the loss of the mean image
