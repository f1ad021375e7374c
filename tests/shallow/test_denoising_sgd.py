"""The compiled denoising SGD kernel equals its NumPy reference, and a zero noise with no skip is the
autoencoder's step."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.activations import get_activation
from aelab.shallow.sgd import sgd_steps, sgd_steps_numpy


@pytest.mark.parametrize("act", ["erf", "relu", "tanh", "linear", "sigmoid"])
@pytest.mark.parametrize("tied,truncated,bias", [(False, False, False), (False, True, True), (True, False, True)])
def test_kernel_equals_reference(act, tied, truncated, bias):
    rng = np.random.default_rng(2)
    D, K, n = 40, 3, 60
    W0, V0 = rng.normal(size=(K, D)) * 0.3, rng.normal(size=(K, D)) * 0.3
    if tied:
        W0 = V0.copy()
    b0 = rng.normal(size=K) * 0.1
    Z = rng.standard_normal((n, D)).astype(np.float32)
    Xi = rng.standard_normal((n, D)).astype(np.float32)
    std = np.sqrt(rng.uniform(0.5, 3.0, D))
    out = []
    for step in (sgd_steps, sgd_steps_numpy):
        W, V, b, s = W0.copy(), V0.copy(), b0.copy(), np.array([0.2])
        step(W, V, b, Z, std, lr=2.0, act=get_activation(act), tied=tied, train_bias=bias, truncated=truncated,
             weight_decay=0.1, noise=0.7, Xi=Xi, skip=s)
        out.append((W, V, b, s))
    for a, c in zip(*out):
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-13)
    assert out[0][3][0] != 0.2  # the skip moved


def test_zero_noise_without_skip_is_the_autoencoder_step():
    rng = np.random.default_rng(4)
    D, K, n = 30, 2, 40
    W0, V0 = rng.normal(size=(K, D)) * 0.3, rng.normal(size=(K, D)) * 0.3
    Z = rng.standard_normal((n, D)).astype(np.float32)
    std = np.ones(D)
    act = get_activation("erf")
    a = (W0.copy(), V0.copy(), np.zeros(K))
    sgd_steps(*a, Z, std, lr=1.0, act=act)
    b = (W0.copy(), V0.copy(), np.zeros(K))
    sgd_steps(*b, Z, std, lr=1.0, act=act, noise=0.0, Xi=None, skip=None)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = (W0.copy(), V0.copy(), np.zeros(K))  # a skip held at 0 that does not move: the autoencoder
    sgd_steps_numpy(*c, Z, std, lr=1.0, act=act, skip=None)
    for x, y in zip(a, c):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
