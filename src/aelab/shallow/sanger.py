"""Exact principal components: Sanger's rule for linear tied autoencoders, its ODE, and unit-PC overlaps.

Vanilla SGD of a linear autoencoder converges to the span of the leading principal components
only (any invertible mixing of the units is as good). Sanger's rule (Sanger 1989, the
generalised Hebbian algorithm), used by Refinetti & Goldt (ICML 2022, sec. 3.3) as the linear
model of their truncated SGD, lets unit k reconstruct only what units 1..k leave:

    v_k <- v_k + (eta / D) lambda_k (x - sum_{a <= k} v_a lambda_a),   lambda_k = v_k . x / D,

for a tied linear network x_hat = sum_k v_k lambda_k (the normalisation of
:class:`aelab.shallow.config.ModelConfig`). It is the decoder half of the tied gradient with
every interaction sum truncated at a <= k; unit k then converges to +-e_k itself.

ODE. Averaging one step over x ~ N(0, Omega), with b_tau = V e_tau / sqrt(D) (K-vector per
eigen-direction, rho~ = rho_tau / D) and Q = Cov(lambda) = sum_tau rho~_tau b b^T + (bulk/D) S:

    d b_tau / dt = eta (rho~_tau b_tau - tril(Q) b_tau),
    d S / dt     = eta (2 (bulk/D) S - tril(Q) S - S tril(Q)^T)        (bulk second moment S),

with t = steps / D. At the stable fixed point b_tau = +-delta_{tau k} for the K leading
directions (Q = diag(rho~_1..K)): the units are the principal components, in order.

The overlap matrix O[k, m] = |v_k . e_m| / |v_k| (cosine between decoder k and principal
direction m) is the identity for exact principal components and a rotation for the span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from aelab.activations import Activation, get_activation
from aelab.data.synthetic import Covariance
from aelab.shallow.ode import OdeSystem
from aelab.shallow.state import State

__all__ = ["SangerSystem", "sanger_steps", "sanger_steps_numpy", "overlap_matrix", "identity_distance"]


@dataclass(frozen=True)
class SangerSystem:
    """The ODE of Sanger's rule; drop-in for :func:`aelab.shallow.ode.integrate` (tied linear states).

    Attributes:
        cov: the input covariance.
        lr: eta.
        K: hidden units.
    """

    cov: Covariance
    lr: float
    K: int

    @property
    def act(self) -> Activation:
        return get_activation("linear")

    @property
    def _packer(self) -> OdeSystem:
        return OdeSystem(cov=self.cov, act=self.act, lr=self.lr, K=self.K, tied=True)

    def pack(self, state: State) -> np.ndarray:
        return self._packer.pack(state)

    def unpack(self, y: np.ndarray, bias: np.ndarray | None = None) -> State:
        return self._packer.unpack(y, bias)

    def derivative(self, state: State) -> State:
        """d state / dt of Sanger's rule."""
        K, D = self.K, self.cov.D
        w = self.cov.eigenvalues / D
        rb = self.cov.bulk / D
        B = state.B
        Sbb = state.S[K:, K:]
        Q = (B.T * w) @ B + rb * Sbb
        L = np.tril(Q)
        dB = self.lr * (w[:, None] * B - B @ L.T)
        dSbb = self.lr * (2.0 * rb * Sbb - L @ Sbb - Sbb @ L.T)
        return State(A=dB, B=dB, S=np.tile(dSbb, (2, 2)), bias=np.zeros(K))

    def rhs(self, t: float, y: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        return self.pack(self.derivative(self.unpack(y, bias)))


@numba.njit(cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"}, boundscheck=False)
def _kernel(V, Z, std, lr):  # pragma: no cover - jitted
    n_steps, D = Z.shape
    K = V.shape[0]
    x = np.empty(D)
    e = np.empty(D)
    lam = np.empty(K)
    inv_d = 1.0 / D
    step = lr * inv_d
    for s in range(n_steps):
        for i in range(D):
            x[i] = std[i] * Z[s, i]
            e[i] = x[i]
        for k in range(K):
            acc = 0.0
            for i in range(D):
                acc += V[k, i] * x[i]
            lam[k] = acc * inv_d
        for k in range(K):
            c = step * lam[k]
            for i in range(D):
                e[i] -= V[k, i] * lam[k]
                V[k, i] += c * e[i]


def sanger_steps(V: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float) -> None:
    """``len(Z)`` steps of Sanger's rule in place on samples x = std * Z[s] (V: (K, D) float64)."""
    _kernel(V, Z, np.asarray(std, float), float(lr))


def sanger_steps_numpy(V: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float) -> None:
    """The same steps in plain NumPy (reference for the kernel)."""
    D = Z.shape[1]
    for s in range(Z.shape[0]):
        x = std * Z[s]
        lam = V @ x / D
        resid = x[None, :] - np.cumsum(V * lam[:, None], axis=0)
        V += (lr / D) * lam[:, None] * resid


def overlap_matrix(state: State, m: int | None = None) -> np.ndarray:
    """O[k, j] = |v_k . e_j| / |v_k| for the first ``m`` tracked directions (default K).

    |v_k|^2 / D = T0_kk includes the bulk, so rows of O have norm <= 1.
    """
    K = state.K
    m = K if m is None else m
    norm = np.sqrt(np.sum(state.B**2, axis=0) + np.diag(state.S[K:, K:]))
    return np.abs(state.B[:m].T) / np.where(norm > 0, norm, 1.0)[:, None]


def identity_distance(O: np.ndarray) -> float:
    """max |O - I| over the K x K block: 0 when unit k is exactly the k-th principal direction."""
    K = O.shape[0]
    return float(np.max(np.abs(O[:, :K] - np.eye(K))))

