"""Reference implementation of the layer step in NumPy, for any activation (Li & Nguyen 2019, Thm 1).

Slower than the compiled kernels but independent of them: activations are the registry's NumPy
functions, the decoder's Gaussian smoothing is the activation's closed form when it has one
(:mod:`aelab.activations`) and :func:`aelab.deep.smoothing.smoothed` otherwise, and the outer rule
is :func:`aelab.gaussian.standard_rule` split at pseudo-kinks. It serves user-defined activations
and is the oracle that the kernels are tested against.
"""

from __future__ import annotations

import numpy as np

from aelab.activations import Activation, GaussianMoments
from aelab.deep.smoothing import smoothed, smoothed_fn
from aelab.gaussian import BASE_BREAKS, Z_MAX, pseudo_kinks, standard_rule

__all__ = ["smooth_decoder", "step", "q_moment", "mean_slope"]

_GRADES = 2.0 ** np.arange(0, 32)


def _closed(act: Activation, name: str) -> bool:
    return getattr(type(act.moments), name) is not getattr(GaussianMoments, name)


def smooth_decoder(phi: Activation, m: np.ndarray, b: np.ndarray, *, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """(E phi(m + b z), E phi(m + b z)^2): closed forms where the registry has them, else quadrature."""
    if _closed(phi, "e_f") and _closed(phi, "e_f2"):
        v = np.square(b)
        return phi.moments.e_f(m, v), phi.moments.e_f2(m, v)
    return smoothed(phi, m, b, n=n)


def _crossings(sigma: Activation, t: np.ndarray, a: np.ndarray, c: float) -> np.ndarray:
    """z where a sigma(t z) - c changes sign (or leaves 0), by bisection on [-Z, Z] (NaN if it does not).

    Assumes sigma non-decreasing: f(z) = sign(a) (a sigma(t z) - c) is then non-decreasing, and the
    boundary between {f <= 0} and {f > 0} is found.
    """
    sgn = np.where(a < 0, -1.0, 1.0)

    def f(z):
        return sgn * (a * sigma.f(t * z) - c)

    lo = np.full(t.shape, -Z_MAX)
    hi = np.full(t.shape, Z_MAX)
    ok = (f(lo) <= 0) & (f(hi) > 0) & (a != 0)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return np.where(ok, 0.5 * (lo + hi), np.nan)


def _outer_breaks(sigma: Activation, phi: Activation, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    parts = [np.broadcast_to(BASE_BREAKS, t.shape + BASE_BREAKS.shape),
             pseudo_kinks(sigma.kinks)[None, :] / t[:, None]]
    if phi.name != "linear":
        smooth_scale = 0.0 if phi.kinks else 1.0
        for c in sorted(set(phi.kinks) | {0.0}):
            zs = _crossings(sigma, t, a, c)
            h = 1e-6
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                slope = np.abs(a * (sigma.f(t * (zs + h)) - sigma.f(t * (zs - h))) / (2 * h))
                w = np.maximum(b, smooth_scale) / slope
            w = np.where(np.isfinite(w) & (w > 0), np.maximum(w, 1e-9), 1.0)
            grades = w[:, None] * _GRADES[None, :]  # w, 2w, 4w, ... graded towards the crossing
            grades = np.where(grades < 1.0, grades, 2 * Z_MAX)
            centre = np.where(np.isfinite(zs), zs, 2 * Z_MAX)[:, None]
            parts += [centre, centre - grades, centre + grades]
    return np.concatenate(parts, axis=1)


def step(sigma: Activation, phi: Activation, t, a, b, *, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """One decoder layer of Theorem 1: gamma = E[z1 phi(U)] / t, rho = E[phi(U)^2],
    U = a sigma(t z1) + b z2, for arrays t > 0, a, b >= 0 (broadcast)."""
    t, a, b = np.broadcast_arrays(*(np.asarray(x, float) for x in (t, a, b)))
    shape = t.shape
    t, a, b = t.ravel(), a.ravel(), b.ravel()
    z, w = standard_rule(_outer_breaks(sigma, phi, t, a, b), n)
    m = a[:, None] * sigma.f(t[:, None] * z)
    h1, h2 = smooth_decoder(phi, m, np.broadcast_to(b[:, None], m.shape), n=n)
    gamma = np.sum(w * z * h1, axis=-1) / t
    rho = np.sum(w * h2, axis=-1)
    return gamma.reshape(shape), rho.reshape(shape)


def q_moment(sigma: Activation, t, *, n: int = 12) -> np.ndarray:
    """E sigma(t z)^2 (the forward map of Theorem 1), for an array t > 0."""
    t = np.asarray(t, float)
    shape = t.shape
    t = t.ravel()
    breaks = np.concatenate([np.broadcast_to(BASE_BREAKS, t.shape + BASE_BREAKS.shape),
                             pseudo_kinks(sigma.kinks)[None, :] / t[:, None]], axis=1)
    z, w = standard_rule(breaks, n)
    return np.sum(w * sigma.f(t[:, None] * z) ** 2, axis=-1).reshape(shape)


def mean_slope(sigma: Activation, t) -> np.ndarray:
    """E sigma'(t z) for an array t >= 0 (composite quadrature split at the activation's kinks)."""
    return smoothed_fn([sigma.df], 0.0, np.asarray(t, float), kinks=sigma.kinks)[0]

