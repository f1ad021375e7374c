"""Exact theory of the recovery error of reversible random-like nets (Arora, Liang & Ma 2015).

Single layer (derivation in docs/reversible.md). For W with i.i.d. N(0, 1) entries, h fixed with
||h|| = H, u = W h and x = s * relu(alpha u), alpha = 2/(rho n):

* Stein's lemma gives E[W^T x | h] = h and
  Cov[W^T x | h] = (2 H^2/(rho n)) I + ((4 - rho)/(rho n)) h h^T   (:func:`conditional_moments`).
* Exactly, W^T x = c h + ||x|| P g with P = I - h h^T/H^2, g ~ N(0, I_m) independent of x, and
  c = ||x||^2/(alpha H^2) = alpha chi^2_N, N ~ Binomial(n, rho/2) (:func:`scale_rule`).
  Off the support, (W^T x)_i / ||x|| are i.i.d. N(0, 1): ||x|| is exactly the noise scale.
* Hence every expected error is a one-dimensional average over c of Gaussian closed forms
  (:func:`error_given_codes`, :func:`expected_error`).

Several layers: the same decomposition holds at every layer with (c_l, ||h^_{l-1}||); in the
wide limit these concentrate and obey a scalar recursion (:func:`state_evolution`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import ndtr

from aelab.reversible.closed_forms import (
    gauss_rule_for_sum,
    quadrant_moments,
    relu_mean,
    relu_second_moment,
    relu_squared_error,
    tail_first_moment,
    tail_second_moment,
)
from aelab.reversible.codes import get_law
from aelab.reversible.config import NetSpec

__all__ = [
    "conditional_moments",
    "linear_error",
    "scale_rule",
    "error_given_codes",
    "expected_error",
    "Prediction",
    "predict",
    "state_evolution",
    "LayerState",
    "optimal_threshold",
    "support_threshold",
    "high_snr_error",
    "high_snr_threshold",
    "support_recovery_onset",
    "paper_scale",
]

_PHI0 = 1.0 / math.sqrt(2.0 * math.pi)
SCALE_POINTS = 8  # Gauss points for the law of c (matches 15 moments)
SUM_POINTS = 5  # Gauss points for the law of sums of squared non-zeros
LAW_POINTS = 48  # Gauss points for the law of one non-zero


def paper_scale(sparsity: int, visible: int, keep_prob: float) -> float:
    """The paper's error scale k/(rho n) (Theorem 2.3 bounds the error by O~(k/(rho n)) ||h||^2)."""
    return sparsity / (keep_prob * visible)


# --------------------------------------------------------------------------------------------
# Single layer: conditional moments and the exact law of the signal coefficient c
# --------------------------------------------------------------------------------------------

def conditional_moments(h: np.ndarray, visible: int, keep_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of W^T x given h, for one generative layer with Gaussian W.

    Stein's lemma with f(t) = relu(t) and relu(t)^2: E[w_i relu(w.h)] = h_i/2 and
    E[w_i w_j relu(w.h)^2] = delta_ij H^2/2 + h_i h_j, so (summing n i.i.d. rows)
    E[W^T x] = h and Cov = (2 H^2/(rho n)) I + ((4 - rho)/(rho n)) h h^T.

    Args:
        h: the code, shape (m,).
        visible: n.
        keep_prob: rho.
    """
    h = np.asarray(h, float)
    h2 = float(h @ h)
    scale = 1.0 / (keep_prob * visible)
    cov = 2.0 * h2 * scale * np.eye(h.size) + (4.0 - keep_prob) * scale * np.outer(h, h)
    return h.copy(), cov


def linear_error(hidden: int, visible: int, keep_prob: float) -> float:
    """E||W^T x - h||^2/||h||^2 = (2m + 4 - rho)/(rho n): case (a), no ReLU and no bias; exact for all sizes."""
    return (2.0 * hidden + 4.0 - keep_prob) / (keep_prob * visible)


def scale_rule(visible: int, keep_prob: float, points: int = SCALE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for c = ||x||^2/(alpha ||h||^2), whose law is alpha chi^2_N with N ~ Binomial(n, rho/2).

    c is alpha times a sum of n i.i.d. terms s relu(g)^2 with moments E[Y^r] = (rho/2)(2r - 1)!!;
    E[c] = 1 and Var[c] = (6 - rho)/(rho n). The rule matches the first 2*points - 1 moments.
    """
    moments = [0.5 * keep_prob * float(_double_factorial(2 * r - 1)) for r in range(1, 2 * points + 1)]
    values, weights = gauss_rule_for_sum(moments, visible, points)
    alpha = 2.0 / (keep_prob * visible)
    return alpha * values, weights


def _double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


# --------------------------------------------------------------------------------------------
# The top layer: error for given code values, a scale c and a noise ratio eta = sigma^2/H^2
# --------------------------------------------------------------------------------------------

def _top_terms(values, h2, off_count, c, eta, tau, bias, relu):
    """Relative error and support statistics of the top layer, broadcasting over all arguments.

    The input to the top ReLU is c h + b + sigma P g with sigma^2 = eta H^2, b = bias - tau sigma.
    ``values`` has a trailing axis of non-zeros; ``h2`` = H^2 broadcasts against it without that axis.
    Returns (relative error, expected false positives, per-coordinate miss probabilities (with the
    trailing axis)).
    """
    sigma = np.sqrt(eta * h2)
    b = bias - tau * sigma
    u2 = np.square(values) / h2[..., None]
    sd = sigma[..., None] * np.sqrt(np.clip(1.0 - u2, 0.0, None))
    mu = c[..., None] * values + b[..., None]
    if relu:
        support = relu_squared_error(mu, sd, values).sum(-1)
        off = relu_second_moment(b, sigma)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_off = np.where(sigma > 0, -b / sigma, np.where(b > 0, -np.inf, np.inf))
            t_mu = np.where(sd > 0, mu / sd, np.where(mu > 0, np.inf, -np.inf))
        false_pos = off_count * ndtr(-t_off)
        miss = ndtr(-t_mu)
    else:
        support = (np.square(mu - values) + np.square(sd)).sum(-1)
        off = np.square(b) + np.square(sigma)
        false_pos = np.full(np.shape(off), np.nan)
        miss = np.full(np.shape(mu), np.nan)
    return (support + off_count * off) / h2, false_pos, miss


def error_given_codes(values: np.ndarray, spec: NetSpec, *, points: int = SCALE_POINTS) -> dict[str, np.ndarray]:
    """Exact expected error of one layer given the codes, E[ ||h^ - h||^2/||h||^2 | h ], per code.

    Uses the exact representation W^T x = c h + ||x|| P g and the exact law of c; nothing is
    asymptotic (up to the Gauss rule for c, exact for polynomials of degree < 2*points).

    Args:
        values: the non-zero values of the codes, shape (..., k) (their positions do not matter).
        spec: a one-layer net.

    Returns:
        dict of arrays of shape (...): ``relative_error``, ``false_positives`` (expected count of
        off-support units that fire), ``misses`` (expected count of support units that do not).
    """
    if spec.layers != 1:
        raise ValueError("error_given_codes is exact for one layer; use predict() for several")
    c, w = scale_rule(spec.visible, spec.keep_prob, points)
    return _given_codes(np.asarray(values, float), spec, c, spec.alpha(1) * c, w)


def _given_codes(values, spec: NetSpec, c, eta, w) -> dict[str, np.ndarray]:
    """Top-layer statistics for given code values (..., k), averaged over scale nodes (c, eta) with weights w."""
    h2 = np.sum(values * values, axis=-1)[..., None]  # (..., 1) against the node axis
    vals = values[..., None, :]  # (..., 1, k)
    rel, fp, miss = _top_terms(vals, h2, spec.hidden - spec.sparsity, c, eta,
                                          spec.threshold, spec.bias, spec.relu)
    return {"relative_error": rel @ w, "false_positives": fp @ w, "misses": miss.sum(-1) @ w}


@lru_cache(maxsize=64)
def _qmc_sample(law_name: str, count: int, points: int = 1 << 11) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic low-discrepancy sample (scrambled Sobol, fixed seed) of code values (points, k)
    and of the support noise restricted to the complement of one direction (points, k), with that
    direction d: returns (values, rest, d) where z = zeta d + rest, zeta ~ N(0, 1) independent."""
    from scipy.special import ndtri
    from scipy.stats import qmc

    sample = qmc.Sobol(2 * count, scramble=True, seed=1).random(points)
    values = get_law(law_name).quantile(sample[:, :count])
    g = ndtri(np.clip(sample[:, count:], 1e-12, 1.0 - 1e-12))
    u = values / np.linalg.norm(values, axis=1, keepdims=True)
    z = g - u * np.sum(u * g, axis=1, keepdims=True)  # P g, P = I - u u^T
    d = -u * u[:, :1]
    d[:, 0] += 1.0  # P e_1
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    d = np.divide(d, norm, out=np.zeros_like(d), where=norm > 1e-12)
    rest = z - d * np.sum(d * z, axis=1, keepdims=True)
    return values, rest, d


def _exact_support_probability(spec: NetSpec, c, eta, weights) -> float:
    """P(supp h^ = supp h) for the top layer, averaged over the code law and the scale nodes.

    Off the support the units are i.i.d. given ||x||: P(no false positive) = Phi(tau - bias/sigma)^(m-k).
    On the support the noise is z = P g, orthogonal to h (so the units are negatively correlated, which
    matters: all z_i > 0 is impossible). The probability that all fire is integrated exactly along one
    direction d of the range of P (an interval for zeta) and over the rest and the code values by a
    quasi-random sample.
    """
    law = get_law(spec.nonzero)
    if 2 * spec.sparsity > 21201:  # beyond the dimensions of the Sobol generator
        return math.nan
    values, rest, d = _qmc_sample(law.name, spec.sparsity)
    c, eta, weights = (np.atleast_1d(np.asarray(a, float))[:, None] for a in (c, eta, weights))
    sigma = np.sqrt(eta * np.sum(values * values, axis=1))  # (nodes, points)
    b = spec.bias - spec.threshold * sigma
    lower = -(c[..., None] * values + b[..., None]) / sigma[..., None] - rest  # need zeta d_i > lower_i
    up, down = d > 1e-12, d < -1e-12
    safe_d = np.where(up | down, d, 1.0)
    lo = np.max(np.where(up, lower / safe_d, -np.inf), axis=-1)
    hi = np.min(np.where(down, lower / safe_d, np.inf), axis=-1)
    flat_ok = np.all(up | down | (lower < 0), axis=-1)
    p_hit = np.where(flat_ok, np.clip(ndtr(hi) - ndtr(lo), 0.0, 1.0), 0.0)
    off = spec.hidden - spec.sparsity
    p_no_fp = np.exp(off * np.log(np.clip(ndtr(spec.threshold - spec.bias / sigma), 1e-300, None)))
    return float(np.sum(weights * np.mean(p_hit * p_no_fp, axis=1, keepdims=True)))


def _top_population(spec: NetSpec, c, eta, weights, with_support: bool = True) -> dict[str, float]:
    """Top-layer error averaged over the law of the code, for scale nodes (c, eta) with weights.

    E[sum_i e_i/H^2] = k E[e(v_1; H)/H^2] with H^2 = v_1^2 + S_{k-1}; S_j is the sum of j i.i.d.
    squared non-zeros, integrated by a Gauss rule matched to its moments; v_1 by the law's rule.
    """
    law = get_law(spec.nonzero)
    k, m = spec.sparsity, spec.hidden
    c, eta, weights = (np.atleast_1d(np.asarray(a, float)) for a in (c, eta, weights))
    v, wv = law.rule(LAW_POINTS)
    s_rest, ws = sum_of_squares_rule(law.name, k - 1)
    # Support: axes (c, v, S).
    vals = v[None, :, None, None]
    h2 = (np.square(v)[:, None] + s_rest[None, :])[None]
    rel_sup, _, miss = _top_terms(vals, h2, 0, c[:, None, None], eta[:, None, None],
                                  spec.threshold, spec.bias, spec.relu)
    weight_sup = weights[:, None, None] * wv[None, :, None] * ws[None, None, :]
    support = k * float(np.sum(weight_sup * rel_sup))
    # Off the support: axes (c, S_k).
    s_all, wa = sum_of_squares_rule(law.name, k)
    empty = np.zeros((1, s_all.size, 0))
    rel_off, fp, _ = _top_terms(empty, np.broadcast_to(s_all[None, :], (c.size, s_all.size)), m - k,
                                c[:, None], eta[:, None], spec.threshold, spec.bias, spec.relu)
    weight_off = weights[:, None] * wa[None, :]
    off = float(np.sum(weight_off * rel_off))
    result = {"relative_error": support + off}
    if spec.relu:
        result["false_positives"] = float(np.sum(weight_off * fp))
        result["misses"] = float(k * np.sum(weight_sup * miss[..., 0]))
        result["exact_support"] = _exact_support_probability(spec, c, eta, weights) if with_support else math.nan
    else:
        result.update(exact_support=math.nan, false_positives=math.nan, misses=math.nan)
    return result


@lru_cache(maxsize=64)
def sum_of_squares_rule(law_name: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for the law of S = v_1^2 + ... + v_count^2 (i.i.d. non-zeros of the code).

    Bounded laws (and heavy-tailed ones with many terms) get a Gauss rule matched to the moments of
    S. For the exponential law with few terms S has mass near 0, where the integrands behave like
    sqrt(S); there a scrambled Sobol sample of 2^14 points (fixed seed: deterministic) is reduced to
    256 equal-mass groups, each placed at the group's mean of sqrt(S).
    """
    law = get_law(law_name)
    if count == 0 or law_name == "constant":
        return np.array([float(count)]), np.ones(1)
    if law_name == "exponential" and count <= 256:
        from scipy.stats import qmc

        u = qmc.Sobol(count, scramble=True, seed=0).random(1 << 14)
        roots = np.sqrt(np.sum(np.square(-np.log1p(-u)), axis=1))
        roots.sort()
        groups = roots.reshape(256, -1)
        return np.square(groups.mean(axis=1)), np.full(256, 1.0 / 256)
    moments = [law.moment(2 * r) for r in range(1, 2 * SUM_POINTS + 1)]
    return gauss_rule_for_sum(moments, count, SUM_POINTS)


# --------------------------------------------------------------------------------------------
# Several layers: state evolution
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerState:
    """The inference state at layer l: input W_l^T h^_{l-1} = c h^(l) + sigma P g, and layer norms.

    ``norm`` is ||h^(l)|| (deterministic equivalent); ``relative_error`` the predicted
    ||h^_l - h^(l)||^2/||h^(l)||^2 of layer l.
    """

    layer: int
    c: float
    sigma: float
    norm: float
    relative_error: float


def state_evolution(spec: NetSpec) -> list[LayerState]:
    """Scalar recursion for (c_l, sigma_l) through the layers, exact in the wide limit.

    At layer l the input is c_l h^(l) + sigma_l P g with g independent of the past, because
    h^_{l-1} depends on W_l only through u_l = W_l h^(l). Writing u_l = ||h^(l)|| z and
    h^(l-1)_j = s_j A relu(z_j), A = alpha_l ||h^(l)||, the recovered h^_{l-1} = relu(c h + b + sigma g)
    gives c_{l+1} = n_l E[z h^]/||h^(l+1)|| and sigma_{l+1}^2 = n_l E[h^^2], with the quadrant
    moments of :func:`quadrant_moments`. Start: c_1 = 1, sigma_1 = ||x||.
    """
    law = get_law(spec.nonzero)
    L, rho = spec.layers, spec.keep_prob
    norms = [0.0] * (L + 1)
    norms[L] = math.sqrt(spec.sparsity * law.moment(2))
    for ell in range(L - 1, -1, -1):
        norms[ell] = math.sqrt(spec.alpha(ell + 1)) * norms[ell + 1]
    c, sigma = 1.0, norms[0]
    states = []
    for ell in range(1, L):  # intermediate, dense layers
        n_ell = spec.widths[ell]
        amp = spec.alpha(ell + 1) * norms[ell + 1]  # entries of h^(l) are s * amp * relu(z)
        b = spec.bias - spec.threshold * sigma
        if spec.relu:
            _, ezw, eww = quadrant_moments(c * amp, b, sigma)
            f1, f2 = float(relu_mean(b, sigma)), float(relu_second_moment(b, sigma))
            e_zh = rho * (float(ezw) - _PHI0 * f1)
            e_hh = rho * (float(eww) + 0.5 * f2) + (1.0 - rho) * f2
            e_err = rho * (float(eww) - 2.0 * amp * float(ezw) + 0.5 * amp * amp) + (1.0 - 0.5 * rho) * f2
        else:
            e_zh = 0.5 * c * amp * rho
            e_hh = 0.5 * (c * amp) ** 2 * rho + 2.0 * c * b * amp * rho * _PHI0 + b * b + sigma * sigma
            e_err = 0.5 * ((c - 1.0) * amp) ** 2 * rho + 2.0 * (c - 1.0) * b * amp * rho * _PHI0 + b * b + sigma**2
        states.append(LayerState(ell, c, sigma, norms[ell], n_ell * e_err / norms[ell] ** 2))
        c, sigma = n_ell * e_zh / norms[ell + 1], math.sqrt(n_ell * e_hh)
    eta = (sigma / norms[L]) ** 2
    top = _top_population(spec, np.array([c]), np.array([eta]), np.ones(1), with_support=False)
    states.append(LayerState(L, c, sigma, norms[L], top["relative_error"]))
    return states


# --------------------------------------------------------------------------------------------
# Predictions, optimal threshold, support recovery
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """Closed-form predictions for one net (expected values over W, h and the dropout masks)."""

    relative_error: float
    exact_support: float
    false_positives: float
    misses: float
    layer_errors: tuple[float, ...]


def expected_error(spec: NetSpec) -> float:
    """E ||h^ - h||^2/||h||^2 of the top layer: exact law of c for one layer, state evolution for more."""
    return predict(spec, support=False).relative_error


def predict(spec: NetSpec, *, support: bool = True) -> Prediction:
    """All closed-form predictions for ``spec``.

    One layer: exact for every size (the law of c is exact; the law of the code is integrated by
    Gauss rules, or for ``exact_support`` by a deterministic quasi-random sample of 2048 points).
    Several layers: the wide-limit state evolution. ``support=False`` skips the support-recovery
    probability (the costly part) and leaves it NaN.
    """
    if spec.layers == 1:
        c, w = scale_rule(spec.visible, spec.keep_prob)
        top = _top_population(spec, c, spec.alpha(1) * c, w, support)
        return Prediction(top["relative_error"], top["exact_support"], top["false_positives"], top["misses"],
                          (top["relative_error"],))
    states = state_evolution(spec)
    last = states[-1]
    top = _top_population(spec, np.array([last.c]), np.array([(last.sigma / last.norm) ** 2]), np.ones(1), support)
    return Prediction(top["relative_error"], top["exact_support"], top["false_positives"], top["misses"],
                      tuple(s.relative_error for s in states))


def optimal_threshold(spec: NetSpec, *, upper: float = 8.0) -> float:
    """The threshold tau minimising the predicted error (same tau at every layer, bias as in spec)."""
    if not spec.relu:
        return 0.0
    grid = np.linspace(0.0, upper, 17)
    errors = [predict(spec.with_threshold(t), support=False).relative_error for t in grid]
    i = int(np.argmin(errors))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi <= lo:
        return float(grid[i])
    res = minimize_scalar(lambda t: predict(spec.with_threshold(t), support=False).relative_error, bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-5})
    return float(res.x)


def support_threshold(spec: NetSpec, *, upper: float = 12.0) -> float:
    """The threshold tau maximising the predicted probability of exact support recovery.

    Where that probability is 0 for every tau (too little signal), the error-optimal threshold.
    """
    grid = np.linspace(0.0, upper, 25)
    probs = [predict(spec.with_threshold(t)).exact_support for t in grid]
    i = int(np.argmax(probs))
    if probs[i] <= 1e-12:
        return optimal_threshold(spec)
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(lambda t: -predict(spec.with_threshold(t)).exact_support, bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-3})
    return float(res.x) if -res.fun >= probs[i] else float(grid[i])


def high_snr_error(hidden: int, sparsity: int, visible: int, keep_prob: float, tau):
    """Large-signal limit of the one-layer error:
    (2/(rho n)) [(m - k) psi(tau) + k (1 + tau^2) - 1] + (6 - rho)/(rho n).

    Valid when every non-zero is far above the noise (rho n >> k tau^2 E[v^2]/min v^2), up to terms
    of order (rho n)^(-3/2); at the optimal tau it is about (2k/(rho n))(1 + tau*^2) with
    tau*^2 ~ 2 ln(m/k): the paper's O~(k/(rho n)).
    """
    tau = np.asarray(tau, float)
    scale = 1.0 / (keep_prob * visible)
    return 2.0 * scale * ((hidden - sparsity) * tail_second_moment(tau) + sparsity * (1.0 + tau**2) - 1.0) \
        + (6.0 - keep_prob) * scale


def high_snr_threshold(hidden: int, sparsity: int) -> float:
    """Minimiser of :func:`high_snr_error`: the root of (m - k)(phi(tau) - tau Phi(-tau)) = k tau."""
    if sparsity >= hidden:
        return 0.0
    return float(brentq(lambda t: (hidden - sparsity) * tail_first_moment(t) - sparsity * t, 0.0, 40.0))


def support_recovery_onset(spec: NetSpec, *, level: float = 0.5, rho_n_range=(1.0, 1e9)) -> float:
    """The rho*n above which exact support recovery has probability >= ``level`` at the best tau.

    One layer. The visible width is varied (rho fixed); the returned value is rho*n.
    Infinite when no rho*n reaches the level (e.g. a law with non-zeros arbitrarily close to 0
    needs ever larger rho*n; the search range bounds it).
    """
    def best(rho_n: float) -> float:
        n = max(1, int(round(rho_n / spec.keep_prob)))
        base = spec.model_copy(update={"widths": (n, spec.hidden), "bias": 0.0})
        return predict(base.with_threshold(support_threshold(base))).exact_support - level

    lo, hi = np.log(rho_n_range[0]), np.log(rho_n_range[1])
    if best(math.exp(hi)) < 0:
        return math.inf
    if best(math.exp(lo)) >= 0:
        return float(rho_n_range[0])
    return float(math.exp(brentq(lambda t: best(math.exp(t)), lo, hi, xtol=1e-3)))
