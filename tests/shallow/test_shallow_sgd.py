"""The SGD step: numba kernel = NumPy reference = autograd of the loss with the paper's learning rates."""

import numpy as np
import pytest

from aelab.activations import Activation, get_activation
from aelab.shallow.sgd import sgd_steps, sgd_steps_numpy

D, K = 60, 3


def _setup(seed=0, tied=False):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, D)) * 0.5
    V = rng.standard_normal((K, D)) * (0.5 if tied else 2.0)
    b = rng.standard_normal(K) * 0.3
    std = np.sqrt(rng.uniform(0.2, 3.0, D))
    Z = rng.standard_normal((5, D))
    return W, V, b, std, Z


CASES = [dict(tied=t, train_bias=bi, truncated=tr, weight_decay=wd)
         for t, bi, tr, wd in [(False, False, False, 0.0), (False, True, False, 0.1), (True, False, False, 0.0),
                               (True, True, False, 0.2), (False, False, True, 0.0), (False, True, True, 0.0)]]


@pytest.mark.parametrize("act", ["linear", "erf", "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("case", CASES)
def test_kernel_equals_numpy_reference(act, case):
    a = _setup(tied=case["tied"])
    b = [x.copy() for x in a]
    sgd_steps(a[0], a[1], a[2], a[4], a[3], lr=0.7, act=get_activation(act), **case)
    sgd_steps_numpy(b[0], b[1], b[2], b[4], b[3], lr=0.7, act=get_activation(act), **case)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("act", ["erf", "relu", "tanh"])
@pytest.mark.parametrize("tied,bias", [(False, False), (False, True), (True, False), (True, True)])
def test_step_equals_autograd(act, tied, bias):
    """One step = gradient of L = |x - x_hat|^2/(2D) with rates eta/D (W), eta (V), eta/D (b)."""
    torch = pytest.importorskip("torch")
    W, V, b, std, Z = _setup(1, tied)
    lr = 0.9
    g = get_activation(act)
    x = std * Z[0]
    tW, tV, tb = (torch.tensor(v, requires_grad=True) for v in (W, V, b))
    tx = torch.tensor(x)
    lam = (tV @ tx) / D + tb if tied else (tW @ tx) / np.sqrt(D) + tb
    loss = ((tx - g.torch(lam) @ tV) ** 2).sum() / (2 * D)
    loss.backward()
    W1, V1, b1 = W.copy(), V.copy(), b.copy()
    sgd_steps(W1, V1, b1, Z[:1], std, lr=lr, act=g, tied=tied, train_bias=bias)
    np.testing.assert_allclose(V1, V - lr * tV.grad.numpy(), rtol=1e-10, atol=1e-14)
    if not tied:
        np.testing.assert_allclose(W1, W - lr / D * tW.grad.numpy(), rtol=1e-10, atol=1e-14)
    expected_b = b - lr / D * tb.grad.numpy() if bias else b
    np.testing.assert_allclose(b1, expected_b, rtol=1e-10, atol=1e-14)


def test_truncated_step_equals_per_unit_autograd():
    """Truncated SGD: unit k follows the gradient of |x - sum_{a<=k} v_a g_a|^2/(2D) in its own weights."""
    torch = pytest.importorskip("torch")
    W, V, b, std, Z = _setup(2)
    g = get_activation("erf")
    x = torch.tensor(std * Z[0])
    W1, V1, b1 = W.copy(), V.copy(), b.copy()
    sgd_steps(W1, V1, b1, Z[:1], std, lr=1.0, act=g, truncated=True)
    for k in range(K):
        tW, tV = torch.tensor(W, requires_grad=True), torch.tensor(V, requires_grad=True)
        lam = (tW @ x) / np.sqrt(D) + torch.tensor(b)
        out = g.torch(lam[: k + 1]) @ tV[: k + 1]
        loss = ((x - out) ** 2).sum() / (2 * D)
        loss.backward()
        np.testing.assert_allclose(V1[k], V[k] - tV.grad.numpy()[k], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(W1[k], W[k] - tW.grad.numpy()[k] / D, rtol=1e-10, atol=1e-14)


def test_user_activation_runs_through_numpy_path():
    cube = Activation("cube_test", lambda x: x**3 / 3, lambda x: x**2)
    W, V, b, std, Z = _setup(3)
    a = [W.copy(), V.copy(), b.copy()]
    sgd_steps(*a, Z, std, lr=0.1, act=cube)
    assert not np.allclose(a[1], V)
    assert np.all(np.isfinite(a[1]))


def test_simulation_is_deterministic_given_a_seed():
    from aelab.config import load_config
    from aelab.shallow.config import ShallowConfig
    from aelab.shallow.simulation import simulate_seed

    c = load_config(ShallowConfig, {"data": {"D": 100}, "train": {"time": 3.0, "seeds": [5]}, "output": {"points": 4}})
    t = c.time_grid()
    a, b = simulate_seed(c, 5, t), simulate_seed(c, 5, t)
    assert a.equals(b)
    assert not a.equals(simulate_seed(c, 6, t))
