"""Long-time analysis of the shallow-autoencoder ODE: fixed points, their stability, algebraic approaches.

Refinetti & Goldt (ICML 2022, sec. 3.2) explain the end of learning by the fixed points of the
ODEs. Here they are found automatically for any activation, tied or untied, with or without a
trained bias: integrate the ODE to a long time, then solve v(y) = 0 for the network variables
y = (a_tau, b_tau, biases) by root finding from there, and classify the root by the eigenvalues
of the Jacobian dv/dy (central finite differences of :meth:`OdeSystem.derivative`).

The bulk second moment S obeys dS/dt = L S + S L^T (see :mod:`aelab.shallow.ode`), a Lyapunov
equation whose only stationary point is S = 0 (unless two eigenvalues of L sum to zero): a fixed
point has no bulk component, and its bulk stability is given by the eigenvalues mu_i + mu_j of
that linear map (:func:`bulk_eigenvalues`; the Jacobian is block-triangular at S = 0). The
encoder's bulk modes are slow (rate O(bulk/D)): on times t << D/bulk a trajectory keeps the
bulk part of its initial encoder, which adds noise of variance ~ bulk * init_std^2 to the fields.

Without truncation the ODE is the gradient flow dy/dt = -(eta/2) grad pmse(y) (checked in the
tests), so the Jacobian at a fixed point is -(eta/2) times the Hessian of the population error:
symmetric, with real eigenvalues. Positive eigenvalues are escape directions (a saddle), zero
eigenvalues continuous symmetries (GL(K) for linear untied networks, O(K) tied, the rescaling
w -> c w, v -> v / c of each bias-free ReLU unit).

Untied sigmoidal networks have no fixed point at finite weights: they approach the PCA error by
shrinking the encoder and growing the decoder. With one unit on each leading principal direction
(eigenvalue rho_tau, rho~ = rho_tau / D) and g = erf(x/sqrt 2), eliminating the fast decoder gives
the slow equation dQ/dt = -(4 eta / 3 pi) Q^4 for the encoder norm Q = E[lambda^2] of each unit, so

    Q(t) ~ (4 eta t / pi)^(-1/3),   tr T0(t) ~ (pi / 2) sum_tau rho~_tau / Q(t) ~ t^(1/3),
    pmse(t) - pmse_PCA ~ sum_tau rho~_tau Q(t)^2 / 6 ~ t^(-2/3)

(:func:`untied_erf_asymptote`; derivation in docs/shallow-results.md). Tied erf networks cannot
grow the decoder independently and stop at a fixed point strictly above the PCA error.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import root

from aelab.shallow.ode import OdeSystem, integrate
from aelab.shallow.state import State

__all__ = ["FixedPoint", "bulk_eigenvalues", "network_vector", "network_state", "velocity", "jacobian",
           "find_fixed_point",
           "long_time_state", "untied_erf_asymptote", "power_law_exponent"]


@dataclass(frozen=True)
class FixedPoint:
    """A root of the ODE's velocity and its linear stability.

    Attributes:
        state: the fixed point.
        pmse: its population error.
        residual: max |dy/dt| there (0 at an exact fixed point).
        converged: the root finder met the tolerance.
        eigenvalues: of the Jacobian of the network variables, sorted by decreasing real part.
        bulk_eigenvalues: of the bulk second moment's linear dynamics (empty without a bulk).
        n_unstable: eigenvalues (both kinds) with real part above the zero threshold.
        n_zero: eigenvalues (both kinds) within the zero threshold (symmetries, marginal directions).
        seconds: time spent.
    """

    state: State
    pmse: float
    residual: float
    converged: bool
    eigenvalues: np.ndarray = field(repr=False)
    bulk_eigenvalues: np.ndarray = field(repr=False)
    n_unstable: int
    n_zero: int
    seconds: float = 0.0

    @property
    def stable(self) -> bool:
        """A converged fixed point without escape directions."""
        return self.converged and self.n_unstable == 0

    @property
    def max_eigenvalue(self) -> float:
        return float(np.real(self.eigenvalues[0]))


def _bulk_template(system: OdeSystem, state: State) -> np.ndarray:
    """The bulk second moment at a fixed point: zero (see :func:`bulk_eigenvalues`)."""
    return np.zeros_like(state.S)


def network_vector(system: OdeSystem, state: State) -> np.ndarray:
    """The network variables y = (A, B, bias, skip) (tied: (B, bias, skip)) as one vector."""
    parts = [state.B.ravel()] if system.tied else [state.A.ravel(), state.B.ravel()]
    if system.train_bias:
        parts.append(state.bias)
    if system.train_skip:
        parts.append(np.array([state.skip]))
    return np.concatenate(parts)


def network_state(system: OdeSystem, y: np.ndarray, template: State) -> State:
    """The state with network variables ``y`` and the bulk and fixed biases of ``template``."""
    M, K = system.cov.M, system.K
    n = M * K
    if system.tied:
        B = y[:n].reshape(M, K)
        A, i = B, n
    else:
        A, B, i = y[:n].reshape(M, K), y[n:2 * n].reshape(M, K), 2 * n
    bias = y[i:i + K] if system.train_bias else template.bias
    skip = float(y[i + (K if system.train_bias else 0)]) if system.train_skip else template.skip
    return State(A=A, B=B, S=_bulk_template(system, template), bias=bias, skip=skip)


def velocity(system: OdeSystem, y: np.ndarray, template: State) -> np.ndarray:
    """dy/dt of the network variables (bulk as in :func:`network_state`)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return network_vector(system, system.derivative(network_state(system, y, template)))


def jacobian(system: OdeSystem, state: State, *, step: float = 1e-6) -> np.ndarray:
    """d velocity / d y at ``state`` by central differences (steps step * max(1, |y_i|))."""
    y0 = network_vector(system, state)
    J = np.empty((y0.size, y0.size))
    for i in range(y0.size):
        h = step * max(1.0, abs(y0[i]))
        yp, ym = y0.copy(), y0.copy()
        yp[i] += h
        ym[i] -= h
        J[:, i] = (velocity(system, yp, state) - velocity(system, ym, state)) / (2 * h)
    return J


def find_fixed_point(system: OdeSystem, guess: State, *, tol: float = 1e-10, zero_tol: float = 1e-6,
                     step: float = 1e-6) -> FixedPoint:
    """Solve velocity(y) = 0 from ``guess`` (a long-time state) and classify the root.

    Args:
        system: the ODE.
        guess: the starting state (its encoder bulk is kept).
        tol: the root must have max |dy/dt| below tol * (1 + max |y|).
        zero_tol: eigenvalues with |Re| below zero_tol * max |eigenvalue| count as zero.
        step: relative finite-difference step of the Jacobian.
    """
    start = _time.perf_counter()
    y0 = network_vector(system, guess)
    f = (lambda y: velocity(system, y, guess))
    best = None
    for method in ("hybr", "lm"):
        sol = root(f, y0, method=method, tol=1e-14)
        y = sol.x
        res = float(np.max(np.abs(f(y)))) if np.all(np.isfinite(y)) else np.inf
        if best is None or res < best[1]:
            best = (y, res)
        if res <= tol * (1.0 + float(np.max(np.abs(y)))):
            break
    y, res = best
    state = network_state(system, y, guess)
    converged = bool(np.isfinite(res) and res <= tol * (1.0 + float(np.max(np.abs(y)))))
    if np.all(np.isfinite(y)):
        eig = np.linalg.eigvals(jacobian(system, state, step=step))
    else:
        eig = np.full(y.size, np.nan)
    eig = eig[np.argsort(-np.real(eig))]
    bulk = bulk_eigenvalues(system, state) if np.all(np.isfinite(y)) else np.array([])
    both = np.concatenate([eig, bulk])
    scale = float(np.max(np.abs(both))) if np.all(np.isfinite(both)) and both.size else 1.0
    thr = zero_tol * max(scale, 1e-300)
    n_unstable = int(np.sum(np.real(both) > thr))
    n_zero = int(np.sum(np.abs(np.real(both)) <= thr))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pmse = system.pmse(state)
    return FixedPoint(state=state, pmse=pmse, residual=res, converged=converged, eigenvalues=eig,
                      bulk_eigenvalues=bulk, n_unstable=n_unstable, n_zero=n_zero,
                      seconds=_time.perf_counter() - start)


def bulk_eigenvalues(system: OdeSystem, state: State) -> np.ndarray:
    """Growth rates mu_i + mu_j (i <= j) of the bulk second moment at a state with S = 0.

    mu are the eigenvalues of the per-direction matrix L(rho_bulk / D) of the bulk directions
    (tied: L_tied); empty when the covariance has no bulk.
    """
    if system.cov.n_bulk == 0:
        return np.array([])
    Lb = system.bulk_matrix(state, system.coefficients(state))
    mu = np.linalg.eigvals(system.lr * Lb) - system.lr * system.weight_decay
    i, j = np.triu_indices(mu.size)
    out = mu[i] + mu[j]
    return out[np.argsort(-np.real(out))]


def long_time_state(system: OdeSystem, state0: State, t_end: float, *, rtol: float = 1e-10,
                    atol: float = 1e-12) -> State:
    """The ODE's state at ``t_end`` (LSODA)."""
    return integrate(system, state0, np.array([0.0, float(t_end)]), rtol=rtol, atol=atol)[-1]


def untied_erf_asymptote(t: np.ndarray, lr: float, rho_over_d: np.ndarray | list[float]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leading long-time behaviour of an untied erf autoencoder whose K units hold the K leading PCs.

    Returns (Q_kk(t) of every unit, tr T0(t), pmse(t) - pmse_PCA) with Q = (4 eta t / pi)^(-1/3),
    tr T0 = (pi/2) sum rho~ / Q and excess = sum rho~ Q^2 / 6. The units may hold any orthogonal
    mixture of the leading directions (vanilla SGD does not separate them); these three
    quantities do not depend on it.

    Args:
        t: times (large: the law holds once Q << 1).
        lr: eta.
        rho_over_d: rho_tau / D of the leading principal directions (K values).
    """
    t = np.asarray(t, float)
    rho = np.asarray(rho_over_d, float)
    Q = (4.0 * lr * t / np.pi) ** (-1.0 / 3.0)
    return Q, 0.5 * np.pi * rho.sum() / Q, rho.sum() * Q**2 / 6.0


def power_law_exponent(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ln |y| against ln t."""
    t, y = np.asarray(t, float), np.abs(np.asarray(y, float))
    A = np.stack([np.log(t), np.ones_like(t)], axis=1)
    return float(np.linalg.lstsq(A, np.log(y), rcond=None)[0][0])
