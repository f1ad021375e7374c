"""Online SGD of shallow autoencoders on Gaussian inputs, fast (numba) and plain (NumPy).

The simulator works in the eigenbasis of the input covariance: x = sqrt(rho) * xi with
xi ~ N(0, I_D). SGD is equivariant under rotations of the input space (W -> W O, x -> O^T x),
and i.i.d. Gaussian initial weights are rotation invariant, so this is exactly SGD on
N(0, Omega) in distribution, at the cost of D multiplications per sample.

One step on a fresh sample x, with e = x - x_hat and h_k = v_k . e / D (Refinetti & Goldt 2022):
    untied:  v_k += (lr/D) g(lambda_k) e,        lambda_k = w_k . x / sqrt(D) + b_k
             w_k += (lr/D) g'(lambda_k) h_k x / sqrt(D)
             b_k += (lr/D) g'(lambda_k) h_k
    tied:    v_k += (lr/D) (g(lambda_k) e + g'(lambda_k) h_k x),   lambda_k = v_k . x / D + b_k
    truncated: unit k uses e_k = x - sum_{a <= k} v_a g(lambda_a) in place of e.
Weight decay kappa multiplies every parameter by (1 - lr kappa / D) per step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from aelab.activations import Activation

__all__ = ["ACTIVATION_CODES", "sgd_steps", "sgd_steps_numpy"]

# activations compiled into the kernel; others run through the NumPy path
ACTIVATION_CODES = {"linear": 0, "erf": 1, "relu": 2, "tanh": 3, "sigmoid": 4}
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@numba.njit(cache=True, inline="always")
def _g(code: int, x: float) -> float:
    if code == 0:
        return x
    if code == 1:
        return math.erf(x / _SQRT2)
    if code == 2:
        return x if x > 0.0 else 0.0
    if code == 3:
        return math.tanh(x)
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(cache=True, inline="always")
def _dg(code: int, x: float) -> float:
    if code == 0:
        return 1.0
    if code == 1:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    if code == 2:
        return 1.0 if x > 0.0 else 0.0
    if code == 3:
        t = math.tanh(x)
        return 1.0 - t * t
    s = 1.0 / (1.0 + math.exp(-x))
    return s * (1.0 - s)


# reassociation lets the reductions vectorise; NaN and infinity keep their IEEE meaning
@numba.njit(cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"}, boundscheck=False)
def _kernel(W, V, bias, Z, std, lr, code, tied, train_bias, truncated, decay):  # pragma: no cover - jitted
    n_steps, D = Z.shape
    K = V.shape[0]
    x = np.empty(D)
    e = np.empty(D)
    lam = np.empty(K)
    gk = np.empty(K)
    dgk = np.empty(K)
    hk = np.empty(K)
    inv_sqrt_d = 1.0 / math.sqrt(D)
    inv_d = 1.0 / D
    step = lr * inv_d
    shrink = 1.0 - lr * decay * inv_d
    enc_scale = inv_d if tied else inv_sqrt_d
    for s in range(n_steps):
        for i in range(D):
            x[i] = std[i] * Z[s, i]
        for k in range(K):
            acc = 0.0
            if tied:
                for i in range(D):
                    acc += V[k, i] * x[i]
            else:
                for i in range(D):
                    acc += W[k, i] * x[i]
            lam[k] = acc * enc_scale + bias[k]
            gk[k] = _g(code, lam[k])
            dgk[k] = _dg(code, lam[k])
        if truncated:
            # h_k = v_k . (x - sum_{a<=k} v_a g_a) / D, then the decoder updates with their own residuals
            for i in range(D):
                e[i] = x[i]
            for k in range(K):
                acc = 0.0
                for i in range(D):
                    e[i] -= V[k, i] * gk[k]
                    acc += V[k, i] * e[i]
                hk[k] = acc * inv_d
            for i in range(D):
                e[i] = x[i]
            for k in range(K):
                c = step * gk[k]
                for i in range(D):
                    e[i] -= V[k, i] * gk[k]
                    V[k, i] = V[k, i] * shrink + c * e[i]
        else:
            for i in range(D):
                acc = x[i]
                for k in range(K):
                    acc -= V[k, i] * gk[k]
                e[i] = acc
            for k in range(K):
                acc = 0.0
                for i in range(D):
                    acc += V[k, i] * e[i]
                hk[k] = acc * inv_d
            if tied:
                for k in range(K):
                    c1 = step * gk[k]
                    c2 = step * dgk[k] * hk[k]
                    for i in range(D):
                        V[k, i] = V[k, i] * shrink + c1 * e[i] + c2 * x[i]
            else:
                for k in range(K):
                    c = step * gk[k]
                    for i in range(D):
                        V[k, i] = V[k, i] * shrink + c * e[i]
        if not tied:
            for k in range(K):
                c = step * dgk[k] * hk[k] * inv_sqrt_d
                for i in range(D):
                    W[k, i] = W[k, i] * shrink + c * x[i]
        if train_bias:
            for k in range(K):
                bias[k] += step * dgk[k] * hk[k]


def sgd_steps(W: np.ndarray, V: np.ndarray, bias: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float,
              act: Activation, tied: bool = False, train_bias: bool = False, truncated: bool = False,
              weight_decay: float = 0.0) -> None:
    """Run ``len(Z)`` SGD steps in place, one per row of standard normals ``Z`` (shape (n, D)).

    Args:
        W, V: (K, D) encoder and decoder weights in the eigenbasis (W is ignored when tied).
        bias: (K,) encoder biases (updated only if ``train_bias``).
        Z: (n, D) standard normal draws; the samples are x = std * Z[s].
        std: (D,) square roots of the covariance eigenvalues.
    """
    code = ACTIVATION_CODES.get(act.name)
    if code is None:
        sgd_steps_numpy(W, V, bias, Z, std, lr=lr, act=act, tied=tied, train_bias=train_bias, truncated=truncated,
                        weight_decay=weight_decay)
        return
    _kernel(W, V, bias, Z, std, float(lr), code, bool(tied), bool(train_bias), bool(truncated), float(weight_decay))


def sgd_steps_numpy(W: np.ndarray, V: np.ndarray, bias: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float,
                    act: Activation, tied: bool = False, train_bias: bool = False, truncated: bool = False,
                    weight_decay: float = 0.0) -> None:
    """The same steps as :func:`sgd_steps` in plain NumPy: any activation, and a reference for the kernel."""
    n, D = Z.shape
    step = lr / D
    shrink = 1.0 - lr * weight_decay / D
    sq = math.sqrt(D)
    for s in range(n):
        x = std * Z[s]
        lam = (V @ x) / D + bias if tied else (W @ x) / sq + bias
        g, dg = act.f(lam), act.df(lam)
        if truncated:
            cum = np.cumsum(V * g[:, None], axis=0)  # row k: sum_{a<=k} v_a g_a
            resid = x[None, :] - cum
            h = np.einsum("ki,ki->k", V, resid) / D
            V_new = V * shrink + step * g[:, None] * resid
        else:
            e = x - g @ V
            h = (V @ e) / D
            V_new = V * shrink + step * g[:, None] * e[None, :]
            if tied:
                V_new += step * (dg * h)[:, None] * x[None, :]
        if not tied:
            W *= shrink
            W += (step / sq) * (dg * h)[:, None] * x[None, :]
        if train_bias:
            bias += step * dg * h
        V[...] = V_new
