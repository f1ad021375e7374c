"""The torch autoencoders against the paper's equations written out in NumPy, and their gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aelab.activations import get_activation
from aelab.errors import ConfigError
from aelab.train.models import DeepAutoencoder


def _numpy_forward(x, Ws, bs, vs, Ds, *, enc, bott, dec, out):
    """Li & Nguyen (2019), Sec. 2.1, transcribed: x_l = W_l sigma(x_{l-1}) + b_l, xhat_l = W_l^T phi(xhat_{l+1}) + v_l."""
    sigma, phi_L, phi, phi_0 = (get_activation(n) for n in (enc, bott, dec, out))
    L = len(Ws)
    h = x
    for l in range(L):
        z = h @ Ws[l].T + bs[l]
        h = sigma(z) if l < L - 1 else phi_L(z)
    u = h
    for l in reversed(range(L)):
        D = Ws[l].T if Ds is None else Ds[l]
        z = u @ D.T + vs[l]
        if l > 0:
            u = phi(z)
    return phi_0(z)


def _params(model):
    Ws = [w.detach().double().numpy() for w in model.weight]
    bs = [b.detach().double().numpy() for b in model.enc_bias]
    vs = [v.detach().double().numpy() for v in model.dec_bias]
    Ds = None if model.dec_weight is None else [d.detach().double().numpy() for d in model.dec_weight]
    return Ws, bs, vs, Ds


def _randomise(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) / np.sqrt(p.shape[-1]))


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("acts", [("tanh", "relu", "tanh", "linear"), ("relu", "softplus", "sigmoid", "tanh"),
                                  ("leaky_relu(0.2)", "erf", "relu", "sigmoid")])
def test_forward_matches_the_papers_equations(tied, acts):
    enc, bott, dec, out = acts
    model = DeepAutoencoder([7, 5, 6, 4], encoder=enc, bottleneck=bott, decoder=dec, output=out, tied=tied,
                            dtype=torch.float64)
    _randomise(model)
    x = np.random.default_rng(1).standard_normal((9, 7))
    expected = _numpy_forward(x, *_params(model), enc=enc, bott=bott, dec=dec, out=out)
    got = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_depth_one_is_a_shallow_weight_tied_autoencoder():
    model = DeepAutoencoder([5, 3], bottleneck="tanh", output="linear", dtype=torch.float64)
    _randomise(model)
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    W, b, v = model.weight[0], model.enc_bias[0], model.dec_bias[0]
    torch.testing.assert_close(model(x), torch.tanh(x @ W.T + b) @ W + v, rtol=1e-13, atol=1e-13)


def test_tied_gradients_against_finite_differences():
    """gradcheck compares autograd with central differences for every weight and bias (W_l used twice)."""
    model = DeepAutoencoder([6, 4, 3], encoder="tanh", bottleneck="softplus", decoder="tanh", output="sigmoid",
                            dtype=torch.float64)
    _randomise(model, seed=3)
    x = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def loss(*ps):
        out = torch.func.functional_call(model, dict(zip(names, ps)), (x,))
        return ((out - x) ** 2).sum(dim=1).div(x.pow(2).sum(dim=1)).mean()

    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_tied_gradient_is_the_sum_of_encoder_and_decoder_gradients():
    """dLoss/dW_l (tied) = dLoss/dW_l + (dLoss/dD_l)^T of the untied model with D_l = W_l^T."""
    kw = dict(encoder="tanh", bottleneck="relu", decoder="tanh", output="linear", dtype=torch.float64)
    tied = DeepAutoencoder([8, 6, 5, 4], tied=True, **kw)
    untied = DeepAutoencoder([8, 6, 5, 4], tied=False, **kw)
    _randomise(tied, seed=5)
    with torch.no_grad():
        for i in range(3):
            untied.weight[i].copy_(tied.weight[i])
            untied.dec_weight[i].copy_(tied.weight[i].T)
            untied.enc_bias[i].copy_(tied.enc_bias[i])
            untied.dec_bias[i].copy_(tied.dec_bias[i])
    x = torch.randn(6, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    for m in (tied, untied):
        ((m(x) - x) ** 2).sum().backward()
    for i in range(3):
        torch.testing.assert_close(tied.weight[i].grad, untied.weight[i].grad + untied.dec_weight[i].grad.T)
        assert untied.dec_weight[i].grad.abs().max() > 0 and untied.weight[i].grad.abs().max() > 0


def test_batch_norm_makes_the_layer_scale_irrelevant():
    model = DeepAutoencoder([6, 5, 5, 3], batch_norm=True, bias=False, dtype=torch.float64)
    _randomise(model, seed=8)
    x = torch.randn(16, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    before = model(x)
    with torch.no_grad():
        model.weight[1].mul_(10.0)  # x_2 is normalised before sigma; the decoder's W_2^T u grows
        model.weight[0].mul_(10.0)
    after_enc = model.encode(x)[1]
    with torch.no_grad():
        model.weight[1].div_(10.0)
        model.weight[0].div_(10.0)
    torch.testing.assert_close(after_enc, model.encode(x)[1], rtol=1e-3, atol=1e-4)  # up to BN eps
    torch.testing.assert_close(model(x), before)


def test_residual_layers_follow_their_formula():
    model = DeepAutoencoder([6, 4, 4, 4], residual=True, encoder="tanh", bottleneck="tanh", decoder="tanh",
                            dtype=torch.float64)
    _randomise(model, seed=10)
    s = model.residual_scale
    assert s == pytest.approx(1 / np.sqrt(3))
    x = torch.randn(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    seen = {}
    model(x, trace=lambda name, t: seen.setdefault(name.split(" (")[0], t))
    W, b, v = model.weight, model.enc_bias, model.dec_bias
    x1 = x @ W[0].T + b[0]
    x2 = x1 + s * (torch.tanh(x1) @ W[1].T + b[1])
    x3 = x2 + s * (torch.tanh(x2) @ W[2].T + b[2])
    xh3 = torch.tanh(x3) @ W[2] + v[2]  # never residual across the bottleneck
    xh2 = xh3 + s * (torch.tanh(xh3) @ W[1] + v[1])
    xh1 = torch.tanh(xh2) @ W[0] + v[0]  # the output layer changes width
    for name, value in [("encoder layer 2", x2), ("encoder layer 3", x3), ("decoder layer 3", xh3),
                        ("decoder layer 2", xh2), ("decoder layer 1", xh1)]:
        torch.testing.assert_close(seen[name], value)


def test_dropout_is_seeded_unbiased_and_off_in_eval():
    model = DeepAutoencoder([10, 200, 200], dropout=0.3, encoder="linear", bottleneck="linear", decoder="linear")
    x = torch.rand(64, 10, generator=torch.Generator().manual_seed(12))
    model.set_dropout_seed(5)
    a = model(x)
    b = model(x)
    assert not torch.equal(a, b)
    model.set_dropout_seed(5)
    torch.testing.assert_close(model(x), a, rtol=0, atol=0)
    model.eval()
    plain = DeepAutoencoder([10, 200, 200], encoder="linear", bottleneck="linear", decoder="linear")
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x), plain(x), rtol=0, atol=0)
    # inverted dropout keeps the mean: average the masked hidden layer over many draws
    h = torch.ones(2000, 200)
    model.train()
    kept = model._drop(h)
    assert abs(float(kept.mean()) - 1.0) < 4 * np.sqrt(0.3 / 0.7 / h.numel())
    assert abs(float((kept == 0).float().mean()) - 0.3) < 4 * np.sqrt(0.21 / h.numel())


def test_bad_shapes_are_config_errors():
    with pytest.raises(ConfigError, match="depth"):
        DeepAutoencoder([784])
    with pytest.raises(ConfigError, match="width"):
        DeepAutoencoder([784, 0, 3])
    with pytest.raises(ConfigError, match="unknown activation"):
        DeepAutoencoder([4, 3], encoder="swishy")
