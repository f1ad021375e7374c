"""ReLU autoencoders need a trained bias (Refinetti & Goldt 2022, sec. 3.2): the floor without it.

Per-direction error. With x_tau = e_tau . x (variance rho_tau) and the reconstruction's
component x_hat_tau = sqrt(D) sum_k b_tau,k g(lambda_k), Stein's lemma gives

    E[(x_tau - x_hat_tau)^2] / D = rho~ - 2 rho~ sum_k b_k a_k E[g'(lambda_k)]
                                  + sum_kl b_k b_l E[g(lambda_k) g(lambda_l)]

(rho~ = rho_tau / D; a, b the encoder and decoder projections on e_tau); with the bulk's share
(:func:`bulk_error`, which includes the decoder's weight outside the tracked directions) they
add up to the population error. :func:`residual_fractions` divides by rho~: 0 when the
direction is reconstructed exactly, 1 when it is ignored.

The floor. A unit aligned with e_tau has lambda = beta z + m (z = x_tau / sqrt(rho_tau)), and
the best decoder along e_tau leaves the fraction 1 - E[z g]^2 / E[g^2] of the variance. For
g = ReLU with standardised bias mu = m / beta (there is no output bias to absorb the mean):

    E[z relu(z + mu)] = Phi(mu),   E[relu(z + mu)^2] = (1 + mu^2) Phi(mu) + mu phi(mu),
    r(mu) = Phi(mu)^2 / ((1 + mu^2) Phi(mu) + mu phi(mu))       (:func:`relu_variance_ratio`),

with r(0) = 1/2 at any weight scale beta: a bias-free unit recovers exactly half of the variance
of its principal direction (it reconstructs one sign only), so K bias-free units on the K
leading directions leave pmse_PCA(K) + (1/2) sum_{tau <= K} rho~_tau (:func:`bias_free_floor`).
r(mu) < 1/2 for mu != 0: a lone unit cannot use a bias. What removes the floor is a bias
together with one spare unit (K = M + 1 for M spikes): the units move into the linear part of
the ReLU and the spare degree of freedom cancels the mean their biases add to the output; the
bias-free fixed point becomes a saddle (positive Jacobian eigenvalues along the biases,
:mod:`aelab.shallow.fixed_points`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from aelab.activations import Activation
from aelab.data.synthetic import Covariance
from aelab.gaussian import normal_pdf
from aelab.shallow.state import State, order_parameters

__all__ = ["relu_variance_ratio", "bias_free_floor", "residual_fractions", "direction_errors", "bulk_error"]


def relu_variance_ratio(mu: np.ndarray | float) -> np.ndarray:
    """r(mu) = E[z relu(z + mu)]^2 / E[relu(z + mu)^2]: the variance fraction a lone ReLU unit recovers."""
    mu = np.asarray(mu, float)
    P, p = ndtr(mu), normal_pdf(mu)
    return P**2 / ((1.0 + mu**2) * P + mu * p)


def bias_free_floor(cov: Covariance, K: int) -> float:
    """pmse_PCA(K) + (1/2) sum_{tau <= K} rho_tau / D: K bias-free ReLU units, one per leading direction."""
    top = np.sort(cov.spectrum())[::-1][:K]
    return cov.pca_error(K) + 0.5 * float(top.sum()) / cov.D


def _moments(state: State, cov: Covariance, act: Activation) -> tuple[np.ndarray, np.ndarray]:
    """E[g'(lambda_k)] and E[g(lambda_k) g(lambda_l)] at a state."""
    op = order_parameters(state, cov, act)
    q = np.diag(op.Q)
    m = state.bias
    mom = act.moments
    return mom.e_df(m, q), mom.e_ff(m[:, None], m[None, :], q[:, None], q[None, :], op.Q)


def bulk_error(state: State, cov: Covariance, act: Activation) -> float:
    """The bulk's share of the population error.

    (bulk/D) (n_bulk - 2 sum_k S_ba,kk E[g'_k]) + sum_kl S_bb,kl E[g_k g_l], S the bulk second moment.
    """
    K = state.K
    dg, i2 = _moments(state, cov, act)
    S = state.S
    rb = cov.bulk / cov.D
    return float(rb * (cov.n_bulk - 2.0 * np.dot(np.diag(S[K:, :K]), dg)) + np.sum(S[K:, K:] * i2))


def direction_errors(state: State, cov: Covariance, act: Activation) -> np.ndarray:
    """E[(x_tau - x_hat_tau)^2] / D for every tracked direction tau (M values)."""
    dg, i2 = _moments(state, cov, act)
    rho = cov.eigenvalues / cov.D
    A, B = state.A, state.B
    return rho - 2.0 * rho * ((A * B) @ dg) + np.einsum("tk,kl,tl->t", B, i2, B)


def residual_fractions(state: State, cov: Covariance, act: Activation) -> np.ndarray:
    """Fraction of the variance along each tracked direction that the network leaves unexplained."""
    rho = cov.eigenvalues / cov.D
    return direction_errors(state, cov, act) / np.where(rho > 0, rho, 1.0)
