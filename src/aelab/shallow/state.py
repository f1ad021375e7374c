"""The state of a shallow autoencoder in the eigenbasis of the input covariance, and its order parameters.

Per tracked eigen-direction e_tau (eigenvalue rho_tau) the network is described by the
K-vectors a_tau = W e_tau (encoder projections, O(1)) and b_tau = V e_tau / sqrt(D) (decoder
projections, O(1)); the densities of Refinetti & Goldt (2022, sec. 2) are their outer
products, q_tau = a a^T, r_tau = b a^T, t_tau = b b^T. The flat bulk of the covariance enters
only through the 2K x 2K second moment S = sum_{tau in bulk} c_tau c_tau^T, c = (a; b).

Order parameters (fields lambda_k - b_k = w_k.x/sqrt(D), nu_k = v_k.x/D):
    Q = Cov(lambda, lambda) = (1/D) [sum_tau rho_tau a a^T + rho_bulk S_aa]
    R = Cov(nu, lambda)     = (1/D) [sum_tau rho_tau b a^T + rho_bulk S_ba]
    T = Cov(nu, nu)         = (1/D) [sum_tau rho_tau b b^T + rho_bulk S_bb]
    T0 = V V^T / D          = sum_tau b b^T + S_bb
and the population error pmse = E||x - x_hat||^2 / D (twice the SGD loss):
    pmse = tr(Omega)/D - 2 sum_k R_kk E[g'(lambda_k)] + sum_kl T0_kl E[g(lambda_k) g(lambda_l)],
using E[nu_k g(lambda_k)] = R_kk E[g'(lambda_k)] (Stein's lemma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aelab.activations import Activation
from aelab.data.synthetic import Covariance

__all__ = ["State", "OrderParameters", "order_parameters", "second_moments", "state_from_weights",
           "population_pmse"]


@dataclass(frozen=True)
class State:
    """Network state in the eigenbasis.

    Attributes:
        A: (M, K) encoder projections a_tau (rows); equal to B for tied networks.
        B: (M, K) decoder projections b_tau.
        S: (2K, 2K) second moment of (a; b) over the bulk directions.
        bias: (K,) encoder biases.
        skip: the skip connection s (denoising autoencoders; 0 without one).
    """

    A: np.ndarray
    B: np.ndarray
    S: np.ndarray
    bias: np.ndarray
    skip: float = 0.0

    @property
    def K(self) -> int:
        return self.A.shape[1]

    def densities(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The paper's per-direction densities q_tau = a a^T, r_tau = b a^T, t_tau = b b^T, each (M, K, K)."""
        A, B = self.A, self.B
        return (np.einsum("mk,ml->mkl", A, A), np.einsum("mk,ml->mkl", B, A), np.einsum("mk,ml->mkl", B, B))


@dataclass(frozen=True)
class OrderParameters:
    """Q, R, T, T0 (K x K), the biases and the population error of one state."""

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    T0: np.ndarray
    bias: np.ndarray
    pmse: float


def second_moments(state: State, cov: Covariance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Q, R, T, T0 of a state (the module docstring's formulas)."""
    D, K = cov.D, state.K
    w = cov.eigenvalues / D
    A, B, S = state.A, state.B, state.S
    rb = cov.bulk / D
    Q = (A.T * w) @ A + rb * S[:K, :K]
    R = (B.T * w) @ A + rb * S[K:, :K]
    T = (B.T * w) @ B + rb * S[K:, K:]
    T0 = B.T @ B + S[K:, K:]
    return Q, R, T, T0


def population_pmse(Q: np.ndarray, R: np.ndarray, T0: np.ndarray, bias: np.ndarray, trace_per_dim: float,
                    act: Activation) -> float:
    """pmse = E||x - x_hat||^2 / D for Gaussian inputs, from the order parameters."""
    q = np.diag(Q)
    mom = act.moments
    dg = mom.e_df(bias, q)
    i2 = mom.e_ff(bias[:, None], bias[None, :], q[:, None], q[None, :], Q)
    return float(trace_per_dim - 2.0 * np.dot(np.diag(R), dg) + np.sum(T0 * i2))


def order_parameters(state: State, cov: Covariance, act: Activation) -> OrderParameters:
    """The order parameters and population error of a state."""
    Q, R, T, T0 = second_moments(state, cov)
    pmse = population_pmse(Q, R, T0, state.bias, cov.trace / cov.D, act)
    return OrderParameters(Q=Q, R=R, T=T, T0=T0, bias=state.bias.copy(), pmse=pmse)


def state_from_weights(W: np.ndarray, V: np.ndarray, bias: np.ndarray, cov: Covariance, *, tied: bool,
                       skip: float = 0.0) -> State:
    """The state of weights given in the eigenbasis (tracked directions first, then the bulk).

    Args:
        W: (K, D) encoder weights (for tied networks pass V: the encoder is V / sqrt(D)).
        V: (K, D) decoder weights.
        bias: (K,) encoder biases.
        cov: the covariance (only M and D are used).
        tied: if True, the encoder projections equal the decoder projections.
        skip: the skip connection s.
    """
    D, M = cov.D, cov.M
    sq = np.sqrt(D)
    B_all = V / sq
    A_all = B_all if tied else W
    G = np.concatenate([A_all[:, M:], B_all[:, M:]], axis=0)  # (2K, D - M)
    S = G @ G.T
    return State(A=A_all[:, :M].T.copy(), B=B_all[:, :M].T.copy(), S=S, bias=np.asarray(bias, float).copy(),
                 skip=float(skip))


def observables(state: State, cov: Covariance, act: Activation, *, pcs: int, noise: float = 0.0,
                skip: bool = False) -> dict[str, float]:
    """One row of recorded observables: pmse, Q, R, T, T0, biases and overlaps with the leading PCs.

    Column names: ``pmse``; ``Q_k_l``, ``T_k_l``, ``T0_k_l`` for k <= l (symmetric); ``R_k_l`` for
    all k, l (R[k, l] = Cov(nu_k, lambda_l)); ``b_k``; ``overlap_w{k}_pc{m}`` = w_k . e_m and
    ``overlap_v{k}_pc{m}`` = v_k . e_m / sqrt(D) for the m <= ``pcs`` leading tracked directions
    (units are 1-based). A denoising autoencoder (input ``noise`` Delta > 0, or a ``skip``) has the
    pmse against the clean input (:func:`aelab.shallow.denoising.denoising_pmse`) and, with a
    skip, the column ``s``; Q, R, T are the clean inputs' overlaps as for the autoencoder.
    """
    op = order_parameters(state, cov, act)
    K = state.K
    pmse = op.pmse
    if noise or skip:
        from aelab.shallow.denoising import denoising_pmse

        pmse = denoising_pmse(state, cov, act, noise=noise, skip=state.skip)
    row: dict[str, float] = {"pmse": pmse}
    if skip:
        row["s"] = float(state.skip)
    for name, mat, sym in (("Q", op.Q, True), ("R", op.R, False), ("T", op.T, True), ("T0", op.T0, True)):
        for k in range(K):
            for l in range(k if sym else 0, K):
                row[f"{name}_{k + 1}_{l + 1}"] = float(mat[k, l])
    for k in range(K):
        row[f"b_{k + 1}"] = float(op.bias[k])
    for m in range(min(pcs, state.A.shape[0])):
        for k in range(K):
            row[f"overlap_w{k + 1}_pc{m + 1}"] = float(state.A[m, k])
        for k in range(K):
            row[f"overlap_v{k + 1}_pc{m + 1}"] = float(state.B[m, k])
    return row
