"""Denoising autoencoders with a skip connection: the population error and the linear optimum.

The input is x_tilde = x + sqrt(Delta) xi with x ~ N(0, Omega) and xi ~ N(0, I_D); the target is
the clean x. The network is x_hat = s x_tilde + sum_k v_k g(lambda_k), lambda_k = w_k . x_tilde /
sqrt(D) + b_k (tied: v_k . x_tilde / D + b_k), with a trainable scalar skip s (Cui & Zdeborova,
NeurIPS 2023, eq. 2, in the online-SGD normalisation of Refinetti & Goldt 2022, eq. 1).

In the eigenbasis of Omega, per direction tau the pair (x_tau, x_tilde_tau) is Gaussian with
Var x_tilde_tau = rho_tau + Delta and Cov(x_tau, x_tilde_tau) = rho_tau, so with the overlaps of
:mod:`aelab.shallow.state` (a_tau = W e_tau, b_tau = V e_tau / sqrt(D), the bulk in S):

    Q~ = Cov(lambda, lambda) = Q + Delta P_aa,     P_aa = (sum_tau a a^T + S_aa) / D,
    R~ = Cov((v.x - s v.x_tilde)/D, lambda) = (1 - s) R - s Delta P_ba,   P_ba = (sum_tau b a^T + S_ba) / D,

and Stein's lemma gives the population error (docs/shallow-denoising.md)

    pmse = (1 - s)^2 tr(Omega)/D + s^2 Delta - 2 sum_k R~_kk E[g'(lambda_k)] + sum_kl T0_kl E[g(lambda_k) g(lambda_l)],

the expectations over lambda ~ N(b, Q~). Delta = 0 and s = 0 give the autoencoder's pmse.

The linear optimum (the truncated Wiener filter): a rank-K linear map M of x_tilde has per
direction the error rho - 2 m rho + m^2 (rho + Delta), minimal at the Wiener gain
m = rho / (rho + Delta). Without a skip the best rank-K map applies it on the K directions of
largest rho^2 / (rho + Delta) (the top eigenvalues) and nothing elsewhere; with a skip every
other direction gets the gain s, optimal at s* = sum_rest rho / sum_rest (rho + Delta), and the K
directions are those whose Wiener gain lies farthest from s (:func:`wiener_optimum`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aelab.activations import Activation
from aelab.data.synthetic import Covariance
from aelab.shallow.state import State, second_moments

__all__ = ["noisy_fields", "denoising_pmse", "WienerOptimum", "wiener_optimum"]


def noisy_fields(state: State, cov: Covariance, noise: float, skip: float) -> tuple[np.ndarray, np.ndarray]:
    """(Q~, R~): the covariance of the encoder fields of noisy inputs, and the covariance of the
    residual target's decoder projections with them (module docstring)."""
    Q, R, _, _ = second_moments(state, cov)
    K, D = state.K, cov.D
    A, B, S = state.A, state.B, state.S
    p_aa = (A.T @ A + S[:K, :K]) / D
    p_ba = (B.T @ A + S[K:, :K]) / D
    return Q + noise * p_aa, (1.0 - skip) * R - skip * noise * p_ba


def denoising_pmse(state: State, cov: Covariance, act: Activation, *, noise: float, skip: float = 0.0) -> float:
    """pmse = E||x - x_hat||^2 / D of a denoising autoencoder, against the clean input (module docstring)."""
    Q, R = noisy_fields(state, cov, noise, skip)
    T0 = state.B.T @ state.B + state.S[state.K:, state.K:]
    q = np.diag(Q)
    b = state.bias
    mom = act.moments
    dg = mom.e_df(b, q)
    i2 = mom.e_ff(b[:, None], b[None, :], q[:, None], q[None, :], Q)
    return float((1.0 - skip) ** 2 * cov.trace / cov.D + skip ** 2 * noise - 2.0 * np.dot(np.diag(R), dg)
                 + np.sum(T0 * i2))


@dataclass(frozen=True)
class WienerOptimum:
    """The best linear denoiser of rank K (with or without a skip).

    Attributes:
        pmse: its error E||x - x_hat||^2 / D.
        skip: the optimal skip s* (0 without a skip).
        directions: indices (into the descending spectrum) of the K directions the rank-K part serves.
        gains: (D,) the gain of the map on every direction of the descending spectrum.
    """

    pmse: float
    skip: float
    directions: tuple[int, ...]
    gains: np.ndarray


def wiener_optimum(cov: Covariance, K: int, noise: float, *, skip: bool) -> WienerOptimum:
    """The truncated Wiener filter: the rank-K linear map of x_tilde (plus s x_tilde with ``skip``)
    closest to x in mean square, and its error (module docstring)."""
    rho = cov.spectrum()
    D = rho.size
    K = min(int(K), D)
    wiener = rho / (rho + noise) if noise > 0 else np.ones(D)
    per_dir = lambda m: rho - 2.0 * m * rho + m * m * (rho + noise)  # noqa: E731
    if not skip:
        chosen = np.arange(K)  # rho^2 / (rho + Delta) grows with rho
        gains = np.zeros(D)
        gains[chosen] = wiener[chosen]
        return WienerOptimum(float(per_dir(gains).sum() / D), 0.0, tuple(int(i) for i in chosen), gains)
    # the K served directions are the extremes of the gain order (= the eigenvalue order): j from the
    # top and K - j from the bottom, for the j that minimises the error with its optimal skip
    best = None
    for j in range(K + 1):
        chosen = np.concatenate([np.arange(j), np.arange(D - (K - j), D)]).astype(int)
        rest = np.setdiff1d(np.arange(D), chosen)
        s = float(rho[rest].sum() / (rho[rest] + noise).sum()) if rest.size else 0.0
        gains = np.full(D, s)
        gains[chosen] = wiener[chosen]
        err = float(per_dir(gains).sum() / D)
        if best is None or err < best.pmse - 1e-15:
            best = WienerOptimum(err, s, tuple(int(i) for i in chosen), gains)
    return best
