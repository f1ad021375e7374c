"""The SGD kernels = the NumPy reference for every number of units, over many chunks: the one-pass
kernel of one or two units (the encoder update deferred by one pass, weight decay a scalar factor)
and the two-pass kernel of units in pairs."""

import numpy as np
import pytest

from aelab.activations import get_activation
from aelab.compiled_activations import ERF
from aelab.shallow import sgd
from aelab.shallow.sgd import sgd_steps, sgd_steps_numpy


@pytest.mark.parametrize("K", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("tied,bias,decay", [(False, False, 0.0), (False, True, 0.1), (True, False, 0.0),
                                             (True, True, 0.2)])
@pytest.mark.parametrize("act", ["erf", "leaky_relu(0.2)", "softplus", "hardtanh"])
def test_kernel_equals_reference_for_any_number_of_units(K, tied, bias, decay, act):
    rng = np.random.default_rng(K)
    D = 37
    W = rng.standard_normal((K, D)) * 0.5
    V = rng.standard_normal((K, D)) * (0.5 if tied else 1.5)
    b = rng.standard_normal(K) * 0.3
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    a = [W.copy(), V.copy(), b.copy()]
    r = [W.copy(), V.copy(), b.copy()]
    g = get_activation(act)
    for _ in range(3):  # several calls: the deferred update is flushed at the end of each
        Z = rng.standard_normal((6, D)).astype(np.float32)
        sgd_steps(*a, Z, std, lr=0.7, act=g, tied=tied, train_bias=bias, weight_decay=decay)
        sgd_steps_numpy(*r, Z, std, lr=0.7, act=g, tied=tied, train_bias=bias, weight_decay=decay)
    for x, y in zip(a, r):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)


def _weights(rng, K, D, tied):
    W = rng.standard_normal((K, D)) * 0.5
    V = rng.standard_normal((K, D)) * (0.5 if tied else 1.5)
    return W, V, rng.standard_normal(K) * 0.3


@pytest.mark.parametrize("K", [1, 2, 3, 4])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_kernels_equal_reference_over_long_chunks(K, tied, bias, decay):
    """D = 101: the vectorised body and its remainder; chunks of 50 rows, float32 and float64 draws."""
    rng = np.random.default_rng(10 * K + 2 * tied + bias)
    D = 101
    W, V, b = _weights(rng, K, D, tied)
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    a = [W.copy(), V.copy(), b.copy()]
    r = [W.copy(), V.copy(), b.copy()]
    for dtype in (np.float32, np.float64, np.float32):
        Z = rng.standard_normal((50, D)).astype(dtype)
        sgd_steps(*a, Z, std, lr=0.9, act=get_activation("erf"), tied=tied, train_bias=bias, weight_decay=decay)
        sgd_steps_numpy(*r, Z, std, lr=0.9, act=get_activation("erf"), tied=tied, train_bias=bias,
                        weight_decay=decay)
    for x, y in zip(a, r):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("K", [1, 2])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("shrink", [0.6, 0.3])
def test_strong_weight_decay(K, tied, shrink):
    """Shrink 0.6 a step: the one-pass kernel folds its scale factor into the weights every ~27 steps;
    0.3: the two-pass kernel runs."""
    rng = np.random.default_rng(K)
    D, lr = 30, 0.9
    W, V, b = _weights(rng, K, D, tied)
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    a = [W.copy(), V.copy(), b.copy()]
    r = [W.copy(), V.copy(), b.copy()]
    Z = rng.standard_normal((80, D)).astype(np.float32)
    decay = (1.0 - shrink) * D / lr
    sgd_steps(*a, Z, std, lr=lr, act=get_activation("erf"), tied=tied, train_bias=True, weight_decay=decay)
    sgd_steps_numpy(*r, Z, std, lr=lr, act=get_activation("erf"), tied=tied, train_bias=True, weight_decay=decay)
    for x, y in zip(a, r):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("K", [1, 2, 3, 4])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("bias,decay", [(False, 0.0), (True, 0.3)])
def test_float32_kernels_equal_reference_to_single_precision(K, tied, bias, decay):
    """float32 weights: the passes' arithmetic in single precision, the activations in double."""
    rng = np.random.default_rng(K + 7 * tied)
    D = 101
    W, V, b = _weights(rng, K, D, tied)
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    a = [W.astype(np.float32), V.astype(np.float32), b.copy()]
    r = [W.copy(), V.copy(), b.copy()]
    for _ in range(3):
        Z = rng.standard_normal((50, D)).astype(np.float32)
        sgd_steps(*a, Z, std, lr=0.9, act=get_activation("erf"), tied=tied, train_bias=bias, weight_decay=decay)
        sgd_steps_numpy(*r, Z, std, lr=0.9, act=get_activation("erf"), tied=tied, train_bias=bias,
                        weight_decay=decay)
    assert a[1].dtype == np.float32
    for x, y in zip(a, r):
        np.testing.assert_allclose(x, y, rtol=2e-5, atol=2e-6)  # measured: ~1e-6


@pytest.mark.parametrize("K", [1, 2])
@pytest.mark.parametrize("tied", [False, True])
def test_one_pass_and_two_pass_kernels_agree(K, tied):
    """The two-pass kernel, which runs one or two units only under very strong weight decay, on the
    one-pass kernel's cases."""
    rng = np.random.default_rng(3 * K + tied)
    D = 77
    W, V, b = _weights(rng, K, D, tied)
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    Z = rng.standard_normal((60, D)).astype(np.float32)
    out = []
    for kernel in (sgd._kernel_pair, sgd._kernel):
        w = [W.copy(), V.copy(), b.copy()]
        kernel(*w, Z, std, 0.9, ERF, 0.0, tied, True, 0.2)
        out.append(w)
    for x, y in zip(*out):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)
