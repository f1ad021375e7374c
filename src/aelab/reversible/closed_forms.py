"""Gaussian closed forms behind the reversible-net theory (ReLU of a shifted Gaussian, truncated
bivariate moments, Gauss rules for sums of i.i.d. variables).

Everything here is elementary and exact; :mod:`aelab.reversible.theory` assembles the pieces.
Notation: ``g``, ``z`` independent N(0, 1); ``r(t) = max(t, 0)``; ``Phi``, ``phi`` the standard
normal distribution function and density.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, owens_t

from aelab.activations import get_activation
from aelab.gaussian import normal_pdf

__all__ = [
    "relu_mean",
    "relu_second_moment",
    "relu_squared_error",
    "tail_second_moment",
    "tail_first_moment",
    "quadrant_moments",
    "gauss_rule_from_moments",
    "gauss_rule_for_sum",
]

_PHI0 = 1.0 / math.sqrt(2.0 * math.pi)
_RELU = get_activation("relu").moments


def relu_mean(mu, s):
    """E[r(mu + s g)] = mu Phi(mu/s) + s phi(mu/s) (s >= 0; s = 0 gives r(mu))."""
    return _RELU.e_f(mu, np.square(s))


def relu_second_moment(mu, s):
    """E[r(mu + s g)^2] = (mu^2 + s^2) Phi(mu/s) + mu s phi(mu/s)."""
    return _RELU.e_f2(mu, np.square(s))


def relu_squared_error(mu, s, h):
    """E[(r(mu + s g) - h)^2]: the error of a ReLU unit whose input is N(mu, s^2) and target h."""
    h = np.asarray(h, float)
    return relu_second_moment(mu, s) - 2.0 * h * relu_mean(mu, s) + h * h


def tail_second_moment(tau):
    """psi(tau) = E[(g - tau)_+^2] = (1 + tau^2) Phi(-tau) - tau phi(tau).

    The expected squared output of an off-support unit, in units of the noise variance, when the
    threshold is tau noise standard deviations.
    """
    tau = np.asarray(tau, float)
    return (1.0 + tau * tau) * ndtr(-tau) - tau * normal_pdf(tau)


def tail_first_moment(tau):
    """E[(g - tau)_+] = phi(tau) - tau Phi(-tau); note d psi / d tau = -2 E[(g - tau)_+]."""
    tau = np.asarray(tau, float)
    return normal_pdf(tau) - tau * ndtr(-tau)


def quadrant_moments(a, b, sigma):
    """Moments of w = a z + b + sigma g over the quadrant {z > 0, w > 0} (sigma > 0).

    Returns ``(P, Ezw, Eww)`` with P = P(z > 0, w > 0), Ezw = E[z w; z > 0, w > 0] and
    Eww = E[w^2; z > 0, w > 0]. With X = z and Y = (w - b)/s_w standard normals of
    correlation r = a/s_w (s_w^2 = a^2 + sigma^2), Stein's identity E[X f] = E[d_X f] + r E[d_Y f]
    applied to indicator products gives the truncated moments in terms of P, which is
    P(X > 0, Y > q) = Phi(-q)/2 + T(q, r/sqrt(1 - r^2)) with Owen's T and q = -b/s_w.
    """
    a, b, sigma = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, b, sigma)))
    sw = np.sqrt(a * a + sigma * sigma)
    r = a / sw
    s = sigma / sw  # sqrt(1 - r^2)
    q = -b / sw
    big_p = 0.5 * ndtr(-q) + owens_t(q, a / sigma)
    qp = -b / sigma  # (q - r*0)/s
    pq = a * b / (sigma * sw)  # (0 - r q)/s
    phi_q = normal_pdf(q)
    tail_qp, tail_pq = ndtr(-qp), ndtr(-pq)
    ex = _PHI0 * tail_qp + r * phi_q * tail_pq
    ey = phi_q * tail_pq + r * _PHI0 * tail_qp
    exy = r * big_p + _PHI0 * s * normal_pdf(qp) + r * q * phi_q * tail_pq
    eyy = big_p + q * phi_q * tail_pq + r * s * _PHI0 * normal_pdf(qp)
    ezw = b * ex + sw * exy
    eww = b * b * big_p + 2.0 * b * sw * ey + sw * sw * eyy
    return big_p, ezw, eww


def gauss_rule_from_moments(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K-point Gauss rule of a positive measure from its moments m_0..m_{2K} (Golub & Welsch 1969).

    The rule integrates polynomials of degree <= 2K - 1 exactly. Use standardised variables
    (mean 0, variance 1) so that the Hankel matrix is well conditioned.
    """
    moments = np.asarray(moments, float)
    size = (len(moments) - 1) // 2 + 1  # K + 1
    hankel = np.array([[moments[i + j] for j in range(size)] for i in range(size)])
    upper = np.linalg.cholesky(hankel).T
    count = size - 1
    diag = np.empty(count)
    for j in range(count):
        diag[j] = upper[j, j + 1] / upper[j, j] - (upper[j - 1, j] / upper[j - 1, j - 1] if j else 0.0)
    off = np.array([upper[j + 1, j + 1] / upper[j, j] for j in range(count - 1)])
    jacobi = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    weights = moments[0] * vectors[0] ** 2
    return nodes, weights


def _cumulants_from_moments(raw: np.ndarray) -> np.ndarray:
    """Cumulants kappa_1..kappa_R from raw moments mu'_0 = 1, mu'_1..mu'_R."""
    order = len(raw) - 1
    kappa = np.zeros(order + 1)
    for r in range(1, order + 1):
        kappa[r] = raw[r] - sum(math.comb(r - 1, j - 1) * kappa[j] * raw[r - j] for j in range(1, r))
    return kappa


def _moments_from_cumulants(kappa: np.ndarray) -> np.ndarray:
    order = len(kappa) - 1
    raw = np.zeros(order + 1)
    raw[0] = 1.0
    for r in range(1, order + 1):
        raw[r] = sum(math.comb(r - 1, j - 1) * kappa[j] * raw[r - j] for j in range(1, r + 1))
    return raw


@lru_cache(maxsize=256)
def _sum_rule_cached(term_moments: tuple[float, ...], count: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    raw = np.array((1.0, *term_moments))
    kappa = _cumulants_from_moments(raw)
    mean, var = count * kappa[1], count * kappa[2]
    if count == 0:
        return np.zeros(1), np.ones(1)
    if var <= 1e-14 * max(mean * mean, 1e-300):
        return np.array([mean]), np.ones(1)
    std = math.sqrt(var)
    z_kappa = np.zeros_like(kappa)
    z_kappa[2] = 1.0
    for r in range(3, len(kappa)):
        z_kappa[r] = count * kappa[r] / std**r
    z_moments = _moments_from_cumulants(z_kappa)
    # Lower the order until the Hankel matrix is numerically positive definite (heavy tails).
    for k in range(points, 0, -1):
        try:
            nodes, weights = gauss_rule_from_moments(z_moments[: 2 * k + 1])
        except np.linalg.LinAlgError:
            continue
        if np.all(weights > 0) and np.all(np.isfinite(nodes)):
            break
    values = mean + std * nodes
    values.setflags(write=False)
    weights.setflags(write=False)
    return values, weights


def gauss_rule_for_sum(term_moments, count: int, points: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for S = Y_1 + ... + Y_count, Y_i i.i.d. with raw moments E[Y^r], r = 1..2*points.

    The cumulants of S are count times those of Y; the rule is built on the standardised sum, so it
    matches the first 2*points - 1 moments of S exactly (fewer points if the moment matrix is too
    ill-conditioned, as for very heavy tails).

    Returns:
        (values, weights): sum(weights * f(values)) approximates E[f(S)].
    """
    moments = tuple(float(v) for v in np.asarray(term_moments, float)[: 2 * points])
    if len(moments) < 2 * points:
        raise ValueError(f"need {2 * points} moments, got {len(moments)}")
    return _sum_rule_cached(moments, int(count), int(points))
