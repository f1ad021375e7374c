"""Gaussian expectations by quadrature: any function, 1 to 4 correlated Gaussian variables.

Smooth integrands use Gauss-Hermite rules (exponential convergence). Integrands with kinks
(ReLU, leaky ReLU, hard tanh, ...) use Gauss-Legendre rules on the pieces between the kinks,
in standardised coordinates truncated at +-``Z_MAX`` (the Gaussian mass beyond is below 1e-23),
so that closed forms and quadrature agree to 1e-10. An activation of a wide Gaussian
(standard deviation s >> 1) changes on a scale 1/s in standardised units, which no fixed
Gauss-Hermite rule resolves (E tanh(s z)^2 at s = 3 is off by 4e-4 with 96 points): the
*graded* rule splits at the kinks, at ``pseudo_kinks`` c +- 2^k around them and 0 (in the
argument's units) and at fixed standardised points, ``GRADED_POINTS`` Gauss-Legendre points a
piece; ``expect_1d`` and ``expect_2d`` use it with ``graded=True``, or with ``graded=None``
where a standard deviation exceeds ``GRADED_ABOVE_STD`` (as the activations' generic moments
do). Correlated variables are reduced to
independent standard ones through the Cholesky factor (or, in two dimensions, by iterated
conditioning, which keeps the kinks of the second variable exact).

An integrand analytic in the strip |Im x| < a around the real axis (tanh: a = pi/2; sigmoid and
softplus: a = pi), given as ``strip=a``, takes the *strip* rule where no standard deviation exceeds
``STRIP_MAX_STD``: the trapezoidal rule z_j = j h, w_j = h phi(z_j), |z_j| <= ``STRIP_Z``, whose
error decays like exp(-2 pi d / h) for singularities at distance d from the real axis (Trefethen &
Weideman, SIAM Rev. 56 (2014) 385, Thm. 5.1); h follows each setting's width (:func:`strip_spacing`),
so it changes continuously with the state. At standard deviation 1.2 it takes 89 points where the
graded rule takes 324 (one variable) and about 90 x 60 where it takes 250 x 165 (two), at an error
below 1e-13 rather than 1e-10 (tests/test_gaussian_strip.py).

All functions broadcast over arrays of means and (co)variances.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss

__all__ = [
    "Z_MAX",
    "BASE_BREAKS",
    "GRADED_ABOVE_STD",
    "GRADED_POINTS",
    "GRADED_POINTS_2D",
    "pseudo_kinks",
    "graded_breaks",
    "hermite_rule",
    "legendre_rule",
    "standard_rule",
    "expect_1d",
    "expect_2d",
    "rule_1d",
    "rule_2d",
    "rule_2d_outer",
    "use_graded",
    "rule_kind",
    "STRIP_MAX_STD",
    "STRIP_LOG_ERROR",
    "STRIP_Z",
    "strip_spacing",
    "strip_rule",
    "expect_nd",
    "normal_pdf",
    "normal_cdf",
]

Z_MAX = 10.0
_SQRT2PI = np.sqrt(2.0 * np.pi)
#: Standardised split points of the graded rule (they keep every piece's Gaussian mass moderate).
BASE_BREAKS = np.array([0.0, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0, -4.5, 4.5, -6.5, 6.5])
BASE_BREAKS.setflags(write=False)
_LEVELS = 2.0 ** np.arange(-3, 5)
#: Above this standard deviation the graded rule replaces the plain one (Gauss-Hermite with 96
#: points integrates tanh(m + s z)^2 to 1e-13 at s = 0.75, to 2e-6 at s = 2).
GRADED_ABOVE_STD = 0.75
#: Gauss-Legendre points per piece of the graded rule, in one and in two dimensions (1e-14 and
#: 1e-10 against adaptive quadrature for tanh at standard deviations 1 to 20).
GRADED_POINTS = 12
GRADED_POINTS_2D = 6
#: The strip rule replaces the others where no standard deviation exceeds this (above, the graded
#: rule needs fewer points).
STRIP_MAX_STD = 3.0
#: L: the strip rule's spacing aims at an error exp(-L) (measured: below 2e-14 for tanh's moments
#: against 24-point graded rules, one and two variables, standard deviations 0.02 to 3, correlations
#: up to 0.999).
STRIP_LOG_ERROR = 40.0
#: The strip rule's nodes lie in [-STRIP_Z, STRIP_Z] (the Gaussian mass beyond is 2e-19).
STRIP_Z = 9.0


def normal_pdf(z: np.ndarray) -> np.ndarray:
    """Standard normal density."""
    return np.exp(-0.5 * np.square(z)) / _SQRT2PI


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal distribution function."""
    from scipy.special import ndtr

    return ndtr(z)


@lru_cache(maxsize=32)
def hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point Gauss-Hermite rule for N(0, 1) (weights sum to 1)."""
    x, w = hermegauss(n)
    w = w / w.sum()
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


@lru_cache(maxsize=32)
def legendre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1]."""
    x, w = leggauss(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def standard_rule(breaks: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights for E[f(z)], z ~ N(0, 1), split at ``breaks``.

    Args:
        breaks: None (smooth integrand: Gauss-Hermite), or an array of shape (..., B) of split
            points in standardised units; the pieces [-Z_MAX, b_1], ..., [b_B, Z_MAX] each get an
            n-point Gauss-Legendre rule weighted by the normal density.
        n: points per rule.

    Returns:
        (z, w) of shape (..., P): sum(w * f(z), -1) approximates E[f(z)].
    """
    if breaks is None:
        return hermite_rule(n)
    breaks = np.clip(np.sort(np.asarray(breaks, dtype=float), axis=-1), -Z_MAX, Z_MAX)
    lo_edge = np.full(breaks.shape[:-1] + (1,), -Z_MAX)
    hi_edge = np.full(breaks.shape[:-1] + (1,), Z_MAX)
    edges = np.concatenate([lo_edge, breaks, hi_edge], axis=-1)
    a, b = edges[..., :-1, None], edges[..., 1:, None]  # (..., B+1, 1)
    x, w = legendre_rule(n)
    half = 0.5 * (b - a)
    z = 0.5 * (a + b) + half * x
    weights = half * w * normal_pdf(z)
    shape = z.shape[:-2] + (z.shape[-2] * z.shape[-1],)
    return z.reshape(shape), weights.reshape(shape)


def pseudo_kinks(kinks: Sequence[float]) -> np.ndarray:
    """Split points in argument units: the kinks, and c +- 2^k (k = -3..4) around each of them and 0."""
    centres = sorted(set(float(k) for k in kinks) | {0.0})
    pts = [np.asarray(centres)]
    for c in centres:
        pts += [c - _LEVELS, c + _LEVELS]
    return np.unique(np.concatenate(pts))


def graded_breaks(kinks: Sequence[float], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardised split points of the graded rule for x = mean + std z, shape mean.shape + (B,)."""
    mean = np.asarray(mean, float)
    base = np.broadcast_to(BASE_BREAKS, mean.shape + BASE_BREAKS.shape)
    return np.concatenate([base, _kink_breaks(pseudo_kinks(kinks), mean, np.asarray(std, float))], axis=-1)


def _drop(breaks: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Move the split points of the settings ``where`` out of the rule (``_prune`` removes them)."""
    return np.where(where[..., None], 2.0 * Z_MAX, breaks)


def _prune(breaks: np.ndarray) -> np.ndarray:
    """Drop split points that lie outside [-Z_MAX, Z_MAX] for every setting (their pieces are empty)."""
    inside = np.abs(breaks) < Z_MAX
    keep = inside.reshape(-1, breaks.shape[-1]).any(axis=0)
    return breaks[..., keep]


def use_graded(graded: bool | None, *stds: np.ndarray) -> bool:
    """Whether a rule is graded: ``graded`` itself, or for None whether a standard deviation exceeds ``GRADED_ABOVE_STD``."""
    if graded is not None:
        return graded
    return any(s.size and float(np.max(s)) > GRADED_ABOVE_STD for s in stds)


def rule_kind(graded: bool | None, strip: float | None, kinks: Sequence[float], *stds: np.ndarray) -> str:
    """The rule of one call: 'strip', 'graded' or 'plain'.

    'strip' where ``graded`` is None, the integrand is analytic in the strip |Im x| < ``strip``
    (no kinks) and no standard deviation exceeds ``STRIP_MAX_STD``; otherwise :func:`use_graded`.
    """
    if graded is None and strip is not None and not len(kinks) and all(
            not s.size or float(np.max(s)) <= STRIP_MAX_STD for s in stds):
        return "strip"
    return "graded" if use_graded(graded, *stds) else "plain"


def strip_spacing(std: np.ndarray, strip: float) -> np.ndarray:
    """The strip rule's spacing h (standardised units) for E f(m + std z), f analytic in |Im x| < strip.

    By Poisson summation the trapezoidal rule's error is the Fourier transform of phi(z) f(m + std z)
    at 2 pi / h; moving the contour to Im z = d (at most the singularities' distance strip / std)
    bounds it by exp(-(2 pi d / h - d^2 / 2)), the Gaussian growing as exp(d^2 / 2) there. Setting
    that to exp(-L) (L = ``STRIP_LOG_ERROR``) gives h = 2 pi d / (L + d^2 / 2), largest at
    d = sqrt(2 L), where the Gaussian's own error exp(-2 pi^2 / h^2) sets it (h = 0.70).
    """
    with np.errstate(divide="ignore"):
        d = np.minimum(strip / np.asarray(std, float), np.sqrt(2.0 * STRIP_LOG_ERROR))
    return 2.0 * np.pi * d / (STRIP_LOG_ERROR + 0.5 * d * d)


def strip_rule(std: np.ndarray, strip: float) -> tuple[np.ndarray, np.ndarray]:
    """Standardised nodes z and weights w of the strip rule, shape std.shape + (P,).

    E f(m + std z) ~ sum(w * f(m + std z), -1). Each setting has the nodes j h, |j h| <= ``STRIP_Z``,
    with h = :func:`strip_spacing`; the settings share the longest node axis, padded with zero weights.
    """
    h = strip_spacing(std, strip)
    n = np.floor(STRIP_Z / h)
    j = np.arange(-np.max(n, initial=0.0), np.max(n, initial=0.0) + 1.0)
    z = h[..., None] * j
    w = np.where(np.abs(j) <= n[..., None], h[..., None] * normal_pdf(z), 0.0)
    return z, w


def _kink_breaks(kinks: Sequence[float], mean: np.ndarray, std: np.ndarray) -> np.ndarray | None:
    """Standardised positions (kink - mean)/std of an activation's kinks, or None when smooth."""
    if len(kinks) == 0:
        return None
    k = np.asarray(kinks, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (k - mean[..., None]) / std[..., None]
    return np.where(np.isfinite(z), z, np.sign(k - mean[..., None]) * Z_MAX * 2)


def expect_1d(
    func: Callable[[np.ndarray], np.ndarray],
    mean: np.ndarray | float,
    var: np.ndarray | float,
    *,
    kinks: Sequence[float] = (),
    n: int = 48,
    graded: bool | None = False,
    strip: float | None = None,
) -> np.ndarray:
    """E[func(x)] for x ~ N(mean, var), broadcasting over ``mean`` and ``var``.

    Args:
        func: vectorised function of x (receives an array with one trailing quadrature axis).
        mean, var: mean and variance (var >= 0).
        kinks: points where func is not smooth; the rule is split there.
        n: points per rule piece of the plain rule.
        graded: use the graded rule (for functions that change on a unit scale around 0 and
            their kinks, like activations); None: only where a standard deviation exceeds
            ``GRADED_ABOVE_STD``.
        strip: func is analytic in |Im x| < strip: with ``graded`` None, the strip rule where no
            standard deviation exceeds ``STRIP_MAX_STD`` (:func:`rule_kind`).
    """
    x, w = rule_1d(mean, var, kinks=kinks, n=n, graded=graded, strip=strip)
    return np.sum(w * func(x), axis=-1)


def rule_1d(
    mean: np.ndarray | float,
    var: np.ndarray | float,
    *,
    kinks: Sequence[float] = (),
    n: int = 48,
    graded: bool | None = False,
    strip: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w of :func:`expect_1d`'s rule: E f(x) ~ sum(w * f(x), -1), shape mean.shape + (P,)."""
    mean, var = np.broadcast_arrays(np.asarray(mean, float), np.asarray(var, float))
    std = np.sqrt(np.maximum(var, 0.0))
    kind = rule_kind(graded, strip, kinks, std)
    if kind == "strip":
        z, w = strip_rule(std, strip)
    elif kind == "graded":
        z, w = standard_rule(_prune(graded_breaks(kinks, mean, std)), GRADED_POINTS)
    else:
        z, w = standard_rule(_kink_breaks(kinks, mean, std), n)
    return mean[..., None] + std[..., None] * z, w


def expect_2d(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    mean1: np.ndarray | float,
    mean2: np.ndarray | float,
    var1: np.ndarray | float,
    var2: np.ndarray | float,
    cov: np.ndarray | float,
    **rule: Any,
) -> np.ndarray:
    """E[func(x1, x2)] for a bivariate Gaussian, by iterated conditioning.

    ``rule``: the keywords of :func:`rule_2d` (``kinks1``, ``kinks2``, ``n``, ``graded``, ``strip``).
    """
    x1, x2, w = rule_2d(mean1, mean2, var1, var2, cov, **rule)
    return np.sum(w * func(x1, x2), axis=(-2, -1))


def rule_2d(
    mean1: np.ndarray | float,
    mean2: np.ndarray | float,
    var1: np.ndarray | float,
    var2: np.ndarray | float,
    cov: np.ndarray | float,
    *,
    kinks1: Sequence[float] = (),
    kinks2: Sequence[float] = (),
    n: int = 40,
    graded: bool | None = False,
    strip: float | None = None,
    factored: bool = False,
) -> tuple[np.ndarray, ...]:
    """Nodes and weights for bivariate Gaussian expectations: E f(x1, x2) ~ sum(w * f(x1, x2), (-2, -1)).

    x1 = m1 + s1 z1 and x2 | x1 = m2 + (c/s1) z1 + s_{2|1} z2 with independent standard z1, z2.
    Kinks of func in x2 split the inner rule at positions that depend on z1; in the outer rule
    the kinks of x1 and, where the conditional spread vanishes, the kinks of x2 are split points.
    Broadcasts over all parameters; degenerate cases (var1 = 0, perfect correlation) are exact.
    ``graded`` as in :func:`expect_1d` (both rules graded; None: where a standard deviation
    exceeds ``GRADED_ABOVE_STD``); ``strip`` as in :func:`expect_1d`, for func analytic in both
    variables (the strip rules of :func:`rule_2d_outer`: the inner rule then does not depend on z1).

    Returns:
        x1 of shape (..., P1, 1), x2 and w of shape (..., P1, P2); with ``factored``, (x1, x2, w1, w2)
        with w = w1[..., None] * w2, w1 of shape (..., P1), so that sums over x2 can be done first.
    """
    outer = rule_2d_outer(mean1, mean2, var1, var2, cov, kinks1=kinks1, kinks2=kinks2, n=n, graded=graded,
                          strip=strip)
    z1, w1, m1, m2, s1, beta, s21 = (outer[name] for name in ("z1", "w1", "m1", "m2", "s1", "beta", "s21"))
    centre2 = m2[..., None] + beta[..., None] * z1  # (..., P1)
    spread2 = np.broadcast_to(s21[..., None], centre2.shape)
    if outer["rule"] == "strip":
        z2, w2 = outer["z2"][..., None, :], outer["w2"][..., None, :]
    elif outer["rule"] == "graded":
        z2, w2 = standard_rule(_prune(graded_breaks(kinks2, centre2, spread2)), GRADED_POINTS_2D)
    else:
        z2, w2 = standard_rule(_kink_breaks(kinks2, centre2, spread2), n)
    x1 = (m1[..., None] + s1[..., None] * z1)[..., None]
    x2 = centre2[..., None] + s21[..., None, None] * z2
    if factored:
        return x1, x2, np.broadcast_to(w1, x1.shape[:-1]), w2
    return x1, x2, w1[..., None] * w2


def rule_2d_outer(
    mean1: np.ndarray | float,
    mean2: np.ndarray | float,
    var1: np.ndarray | float,
    var2: np.ndarray | float,
    cov: np.ndarray | float,
    *,
    kinks1: Sequence[float] = (),
    kinks2: Sequence[float] = (),
    n: int = 40,
    graded: bool | None = False,
    strip: float | None = None,
) -> dict[str, Any]:
    """The outer rule of :func:`rule_2d` and its conditioning, for callers that form the inner rule themselves.

    Returns a dict: ``z1``, ``w1`` (the standardised outer nodes and weights, (..., P1)); ``m1``,
    ``m2``, ``s1`` (the first standard deviation), ``beta`` and ``s21`` (x2 = m2 + beta z1 + s21 z2),
    broadcast to one shape; ``rule`` (:func:`rule_kind` of the call, both rules of one kind); for the
    strip rule also the inner rule ``z2``, ``w2`` ((..., P2), the same for every outer node).

    The strip rules: the inner one at the conditional spread s21; the outer one at the larger of s1
    and |beta|, since E[f(x2) | z1], a function of m2 + beta z1 smoothed by s21, has its
    singularities at least strip / |beta| from the real axis.
    """
    m1, m2, v1, v2, c = np.broadcast_arrays(*(np.asarray(a, float) for a in (mean1, mean2, var1, var2, cov)))
    s1 = np.sqrt(np.maximum(v1, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(s1 > 0, c / s1, 0.0)  # x2 = m2 + beta z1 + s21 z2
    s21 = np.sqrt(np.maximum(v2 - beta**2, 0.0))
    sign = np.sign(np.where(beta == 0, 1.0, beta))[..., None]
    kind = rule_kind(graded, strip, tuple(kinks1) + tuple(kinks2), s1, np.sqrt(np.maximum(v2, 0.0)))
    if kind == "strip":
        z1, w1 = strip_rule(np.maximum(s1, np.abs(beta)), strip)
        z2, w2 = strip_rule(s21, strip)
        return {"z1": z1, "w1": w1, "z2": z2, "w2": w2, "m1": m1, "m2": m2, "s1": s1, "beta": beta, "s21": s21,
                "rule": kind}
    if kind == "graded":
        # the outer rule is graded in x1, and in x2 = m2 + beta z1 where E[f(x2) | z1] changes faster
        # in z1 than the rule's unit spacing resolves (conditional spread s21 < |beta|)
        along_x2 = _kink_breaks(pseudo_kinks(kinks2), m2, np.abs(beta)) * sign
        outer = np.concatenate([graded_breaks(kinks1, m1, s1), _drop(along_x2, s21 >= np.abs(beta))], axis=-1)
        z1, w1 = standard_rule(_prune(outer), GRADED_POINTS_2D)
    else:
        outer_kinks = _kink_breaks(kinks1, m1, s1)
        if len(kinks2):
            # where x2 is (nearly) a function of z1, its kinks are kinks in z1 too
            extra = _kink_breaks(kinks2, m2, np.abs(beta)) * sign
            outer_kinks = extra if outer_kinks is None else np.concatenate([outer_kinks, extra], axis=-1)
        z1, w1 = standard_rule(outer_kinks, n)  # (..., P1)
    return {"z1": z1, "w1": w1, "m1": m1, "m2": m2, "s1": s1, "beta": beta, "s21": s21, "rule": kind}


def expect_nd(func: Callable[[np.ndarray], np.ndarray], mean: np.ndarray, cov: np.ndarray, *, n: int = 24) -> float:
    """E[func(x)] for x ~ N(mean, cov) in d <= 4 dimensions, tensor Gauss-Hermite rule.

    For smooth integrands; ``func`` receives an array of shape (P, d). A positive
    semi-definite ``cov`` is factorised by an eigen-decomposition, so degenerate covariances work.
    """
    mean = np.asarray(mean, float)
    cov = np.asarray(cov, float)
    d = mean.shape[0]
    if d > 4:
        raise ValueError(f"expect_nd: at most 4 dimensions, got {d}")
    evals, evecs = np.linalg.eigh(cov)
    factor = evecs * np.sqrt(np.clip(evals, 0.0, None))
    x, w = hermite_rule(n)
    grids = np.meshgrid(*([x] * d), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=-1)
    weights = np.ones(z.shape[0])
    for g in np.meshgrid(*([w] * d), indexing="ij"):
        weights = weights * g.ravel()
    pts = mean + z @ factor.T
    return float(np.sum(weights * func(pts)))
