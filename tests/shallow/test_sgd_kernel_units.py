"""The fused SGD kernel (units in pairs, the encoder update deferred by one pass) = the NumPy reference
for every number of units, over many chunks."""

import numpy as np
import pytest

from aelab.activations import get_activation
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
