"""Activation registry: value, derivative (NumPy and torch) and Gaussian moments.

Every activation carries a :class:`GaussianMoments` object answering the Gaussian
expectations that the theories need (``E[g]``, ``E[g']``, ``E[g(x1) g(x2)]``, ...). The
generic implementation integrates by quadrature (:mod:`aelab.gaussian`, split at the kinks);
linear, erf and ReLU override it with closed forms where they exist.

Names: ``linear``, ``erf`` (meaning erf(x/sqrt 2), as in Refinetti & Goldt 2022), ``sigmoid``,
``tanh``, ``relu``, ``leaky_relu`` (slope 0.01, or ``leaky_relu(0.2)``), ``softplus``,
``hardtanh``, and a user's own function: :func:`register_activation`, or in a configuration
the import path ``"package.module:attribute"`` of an :class:`Activation` object.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erf as _erf
from scipy.special import expit as _expit
from scipy.special import ndtr as _ndtr

from aelab.errors import ConfigError
from aelab.gaussian import expect_1d, normal_pdf, rule_2d

__all__ = [
    "Activation",
    "GaussianMoments",
    "get_activation",
    "register_activation",
    "activation_names",
    "leaky_relu",
]

Array = np.ndarray
_SQRT2 = math.sqrt(2.0)
_TWO_OVER_PI = 2.0 / math.pi
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


class GaussianMoments:
    """Gaussian expectations of an activation g, by quadrature (exact for any g up to 1e-10).

    One variable: x ~ N(m, v), u = x - m. Two variables: (x1, x2) ~ N((m1, m2), [[v1, c], [c, v2]]),
    u1 = x1 - m1. All methods broadcast over their array arguments.
    """

    def __init__(self, activation: Activation, *, n1: int = 96, n2: int = 64):
        self.act = activation
        self.n1, self.n2 = n1, n2
        self._last_rule: tuple | None = None  # the two-variable rule of the latest arguments

    # --- one variable -------------------------------------------------------------------
    def _e1(self, fn: Callable[[Array], Array], m: Array, v: Array) -> Array:
        return expect_1d(fn, m, v, kinks=self.act.kinks, n=self.n1, graded=None, strip=self.act.strip)

    def e_f(self, m, v) -> Array:
        """E[g(x)]."""
        return self._e1(self.act.f, m, v)

    def e_f2(self, m, v) -> Array:
        """E[g(x)^2]."""
        return self._e1(lambda x: self.act.f(x) ** 2, m, v)

    def e_df(self, m, v) -> Array:
        """E[g'(x)]."""
        return self._e1(self.act.df, m, v)

    def e_df2(self, m, v) -> Array:
        """E[g'(x)^2]."""
        return self._e1(lambda x: self.act.df(x) ** 2, m, v)

    def e_df_u(self, m, v) -> Array:
        """E[g'(x) (x - m)]."""
        m, v = np.broadcast_arrays(np.asarray(m, float), np.asarray(v, float))
        return self._e1(lambda x: self.act.df(x) * (x - m[..., None]), m, v)

    def e_df_u2(self, m, v) -> Array:
        """E[g'(x) (x - m)^2]."""
        m, v = np.broadcast_arrays(np.asarray(m, float), np.asarray(v, float))
        return self._e1(lambda x: self.act.df(x) * (x - m[..., None]) ** 2, m, v)

    # --- two variables ------------------------------------------------------------------
    def _e2(self, fn: Callable[[Array, Array], Array], m1, m2, v1, v2, c) -> Array:
        args = tuple(np.asarray(a, float) for a in (m1, m2, v1, v2, c))
        key = tuple((a.shape, a.tobytes()) for a in args)
        last = self._last_rule  # the moments of one state share their rule
        if last is None or last[0] != key:
            k = self.act.kinks
            last = (key, rule_2d(*args, kinks1=k, kinks2=k, n=self.n2, graded=None, strip=self.act.strip))
            self._last_rule = last
        x1, x2, w = last[1]
        return np.sum(w * fn(x1, x2), axis=(-2, -1))

    def e_ff(self, m1, m2, v1, v2, c) -> Array:
        """E[g(x1) g(x2)]."""
        f = self.act.f
        return self._e2(lambda a, b: f(a) * f(b), m1, m2, v1, v2, c)

    def e_dfdf(self, m1, m2, v1, v2, c) -> Array:
        """E[g'(x1) g'(x2)]."""
        df = self.act.df
        return self._e2(lambda a, b: df(a) * df(b), m1, m2, v1, v2, c)

    def e_df1f2(self, m1, m2, v1, v2, c) -> Array:
        """E[g'(x1) g(x2)]."""
        f, df = self.act.f, self.act.df
        return self._e2(lambda a, b: df(a) * f(b), m1, m2, v1, v2, c)

    def pair_moments(self, m1, m2, v1, v2, c, *, with_df1f2: bool = False) -> tuple[Array, ...]:
        """(E[g1 g2], E[g1' g2'], E[(x1 - m1) g1' g2]) and, ``with_df1f2``, E[g1' g2]: the two-variable
        moments of the shallow ODE in one call (subclasses share their work between them)."""
        out = (self.e_ff(m1, m2, v1, v2, c), self.e_dfdf(m1, m2, v1, v2, c), self.e_u1df1f2(m1, m2, v1, v2, c))
        return out + (self.e_df1f2(m1, m2, v1, v2, c),) if with_df1f2 else out

    def e_u1df1f2(self, m1, m2, v1, v2, c) -> Array:
        """E[(x1 - m1) g'(x1) g(x2)]."""
        f, df = self.act.f, self.act.df
        shape = np.broadcast_shapes(*(np.shape(a) for a in (m1, m2, v1, v2, c)))
        centre = np.broadcast_to(np.asarray(m1, float), shape)
        return self._e2(lambda a, b: (a - centre[..., None, None]) * df(a) * f(b), m1, m2, v1, v2, c)


def _all_zero(*arrays) -> bool:
    return all(not np.any(np.asarray(a)) for a in arrays)


class LinearMoments(GaussianMoments):
    """Closed forms for g(x) = x."""

    def e_f(self, m, v):
        return np.broadcast_to(np.asarray(m, float), np.broadcast_shapes(np.shape(m), np.shape(v))).copy()

    def e_f2(self, m, v):
        return np.asarray(m, float) ** 2 + np.asarray(v, float)

    def e_df(self, m, v):
        return np.ones(np.broadcast_shapes(np.shape(m), np.shape(v)))

    e_df2 = e_df

    def e_df_u(self, m, v):
        return np.zeros(np.broadcast_shapes(np.shape(m), np.shape(v)))

    def e_df_u2(self, m, v):
        return np.broadcast_to(np.asarray(v, float), np.broadcast_shapes(np.shape(m), np.shape(v))).copy()

    def e_ff(self, m1, m2, v1, v2, c):
        return np.asarray(c, float) + np.asarray(m1, float) * np.asarray(m2, float) + 0 * np.asarray(v1) * np.asarray(v2)

    def e_dfdf(self, m1, m2, v1, v2, c):
        return np.ones(np.broadcast_shapes(*(np.shape(a) for a in (m1, m2, v1, v2, c))))

    def e_df1f2(self, m1, m2, v1, v2, c):
        shape = np.broadcast_shapes(*(np.shape(a) for a in (m1, m2, v1, v2, c)))
        return np.broadcast_to(np.asarray(m2, float), shape).copy()

    def e_u1df1f2(self, m1, m2, v1, v2, c):
        shape = np.broadcast_shapes(*(np.shape(a) for a in (m1, m2, v1, v2, c)))
        return np.broadcast_to(np.asarray(c, float), shape).copy()


class ErfMoments(GaussianMoments):
    """Closed forms for g(x) = erf(x / sqrt 2).

    Uses g'(x) = sqrt(2/pi) exp(-x^2/2): multiplying a Gaussian density by exp(-x1^2/2) gives
    another Gaussian ("tilting"), so every expectation with a g' factor is closed-form, with or
    without means. E[g(x1) g(x2)] is (2/pi) arcsin(c / sqrt((1+v1)(1+v2))) for zero means
    (Refinetti & Goldt 2022, I2); with means it is a 1-D quadrature of a closed-form conditional.
    """

    def e_f(self, m, v):
        return _erf(np.asarray(m, float) / np.sqrt(2.0 * (1.0 + np.asarray(v, float))))

    def e_df(self, m, v):
        m, v = np.asarray(m, float), np.asarray(v, float)
        return _SQRT_TWO_OVER_PI / np.sqrt(1.0 + v) * np.exp(-0.5 * m**2 / (1.0 + v))

    def e_df_u(self, m, v):
        m, v = np.asarray(m, float), np.asarray(v, float)
        return self.e_df(m, v) * (-m * v / (1.0 + v))

    def e_df_u2(self, m, v):
        m, v = np.asarray(m, float), np.asarray(v, float)
        return self.e_df(m, v) * (v / (1.0 + v) + (m * v / (1.0 + v)) ** 2)

    def e_df2(self, m, v):
        m, v = np.asarray(m, float), np.asarray(v, float)
        return _TWO_OVER_PI / np.sqrt(1.0 + 2.0 * v) * np.exp(-(m**2) / (1.0 + 2.0 * v))

    def e_ff(self, m1, m2, v1, v2, c):
        if _all_zero(m1, m2):
            v1, v2, c = (np.asarray(a, float) for a in (v1, v2, c))
            return _TWO_OVER_PI * np.arcsin(c / np.sqrt((1.0 + v1) * (1.0 + v2)))
        return self._ff_with_means(m1, m2, v1, v2, c)

    def _ff_with_means(self, m1, m2, v1, v2, c):
        m1, m2, v1, v2, c = np.broadcast_arrays(*(np.asarray(a, float) for a in (m1, m2, v1, v2, c)))
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(v1 > 0, c / v1, 0.0)
        cond_var = np.maximum(v2 - slope * c, 0.0)

        def inner(x1):
            cond_mean = m2[..., None] + slope[..., None] * (x1 - m1[..., None])
            return _erf(x1 / _SQRT2) * _erf(cond_mean / np.sqrt(2.0 * (1.0 + cond_var[..., None])))

        return expect_1d(inner, m1, v1, n=self.n1, graded=None)

    def _tilted(self, m1, m2, v1, v2, c):
        """Moments of x2 under the density tilted by exp(-x1^2/2), and the tilt's normaliser."""
        m1, m2, v1, v2, c = (np.asarray(a, float) for a in (m1, m2, v1, v2, c))
        norm = self.e_df(m1, v1)
        mean1 = m1 / (1.0 + v1)
        mean2 = m2 - c * m1 / (1.0 + v1)
        var2 = np.maximum(v2 - c**2 / (1.0 + v1), 0.0)
        cov12 = c / (1.0 + v1)
        return norm, mean1, mean2, var2, cov12

    def e_df1f2(self, m1, m2, v1, v2, c):
        norm, _, mean2, var2, _ = self._tilted(m1, m2, v1, v2, c)
        return norm * _erf(mean2 / np.sqrt(2.0 * (1.0 + var2)))

    def e_u1df1f2(self, m1, m2, v1, v2, c):
        norm, mean1, mean2, var2, cov12 = self._tilted(m1, m2, v1, v2, c)
        e_g2 = _erf(mean2 / np.sqrt(2.0 * (1.0 + var2)))
        e_dg2 = _SQRT_TWO_OVER_PI / np.sqrt(1.0 + var2) * np.exp(-0.5 * mean2**2 / (1.0 + var2))
        return norm * ((mean1 - np.asarray(m1, float)) * e_g2 + cov12 * e_dg2)

    def e_dfdf(self, m1, m2, v1, v2, c):
        m1, m2, v1, v2, c = (np.asarray(a, float) for a in (m1, m2, v1, v2, c))
        a, b, d = 1.0 + v1, 1.0 + v2, c
        det = a * b - d * d
        quad = (b * m1**2 - 2.0 * d * m1 * m2 + a * m2**2) / det
        return _TWO_OVER_PI / np.sqrt(det) * np.exp(-0.5 * quad)


class ReluMoments(GaussianMoments):
    """Closed forms for g(x) = max(x, 0), with or without means.

    One variable: the moments of a truncated normal. Two variables (x1, x2) ~ N((m1, m2),
    [[v1, c], [c, v2]]): with x_i = m_i + s_i z_i, the region {x1 > 0, x2 > 0} is
    {z1 > h, z2 > k}, h = -m1/s1, k = -m2/s2, and every expectation is a combination of the
    truncated moments of the standard bivariate normal with correlation r (Rosenbaum 1961,
    derived here by Stein's lemma E[z_i f(z)] = sum_j Cov(z_i, z_j) E[d_j f(z)]):

        L = P(z1 > h, z2 > k) = Phi2(-h, -k; r)      (Owen's T function)
        E[z1; A] = G1 + r G2,   E[z2; A] = r G1 + G2,
        E[z1 z2; A] = r L + r h G1 + r k G2 + sqrt(1 - r^2) phi(h) phi((k - r h) / sqrt(1 - r^2)),
        G1 = phi(h) Q((k - r h) / sqrt(1 - r^2)),  G2 = phi(k) Q((h - r k) / sqrt(1 - r^2)),

    with Q the upper normal tail. Perfect correlation (r = +-1, e.g. a unit with itself) is the
    limit of these expressions and handled exactly; zero means give the arc-cosine kernel.
    """

    _CLIP = 40.0  # |standardised threshold| beyond which phi underflows and Phi is 0 or 1 in double
    _SIG_MIN = 5e-8

    @staticmethod
    def _std(m, v):
        m, v = np.asarray(m, float), np.asarray(v, float)
        s = np.sqrt(np.maximum(v, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(s > 0, m / s, np.copysign(np.inf, np.where(m == 0, 1.0, m)))
        return m, v, s, a

    def e_f(self, m, v):
        m, v, s, a = self._std(m, v)
        return m * _ndtr(a) + s * normal_pdf(np.where(np.isfinite(a), a, 0.0)) * np.isfinite(a)

    def e_f2(self, m, v):
        m, v, s, a = self._std(m, v)
        pdf = normal_pdf(np.where(np.isfinite(a), a, 0.0)) * np.isfinite(a)
        return (m**2 + v) * _ndtr(a) + m * s * pdf

    def e_df(self, m, v):
        return _ndtr(self._std(m, v)[3])

    e_df2 = e_df

    def e_df_u(self, m, v):
        m, v, s, a = self._std(m, v)
        return s * normal_pdf(np.where(np.isfinite(a), a, 0.0)) * np.isfinite(a)

    def e_df_u2(self, m, v):
        m, v, s, a = self._std(m, v)
        fin = np.isfinite(a)
        aa = np.where(fin, a, 0.0)
        return v * (_ndtr(a) - aa * normal_pdf(aa) * fin)

    @classmethod
    def _truncated(cls, m1, m2, v1, v2, c):
        """(m1, m2, s1, s2, L, E[z1; A], E[z2; A], E[z1 z2; A]) for A = {x1 > 0, x2 > 0}."""
        m1, m2, v1, v2, c = np.broadcast_arrays(*(np.asarray(x, float) for x in (m1, m2, v1, v2, c)))
        _, _, s1, a1 = cls._std(m1, v1)
        _, _, s2, a2 = cls._std(m2, v2)
        pos = s1 * s2 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.clip(np.where(pos, c / np.where(pos, s1 * s2, 1.0), 0.0), -1.0, 1.0)
            # sqrt(1 - r^2) from the determinant: exactly 0 for a variable with itself
            det = np.maximum(np.maximum(v1, 0.0) * np.maximum(v2, 0.0) - c * c, 0.0)
            sig = np.where(pos, np.minimum(np.sqrt(det) / np.where(pos, s1 * s2, 1.0), 1.0), 1.0)
        # below ~sqrt(eps), sqrt(1 - r^2) is rounding noise of a perfect correlation
        sig = np.where(sig < cls._SIG_MIN, 0.0, sig)
        r = np.where(sig > 0, r, np.sign(c))
        a1 = np.clip(a1, -cls._CLIP, cls._CLIP)
        a2 = np.clip(a2, -cls._CLIP, cls._CLIP)
        h, k = -a1, -a2
        L = cls._bivariate_cdf(a1, a2, r, sig)
        tail1, arg1 = cls._conditional_tail(k - r * h, sig)
        tail2, _ = cls._conditional_tail(h - r * k, sig)
        G1 = normal_pdf(h) * tail1
        G2 = normal_pdf(k) * tail2
        E1 = G1 + r * G2
        E2 = r * G1 + G2
        E12 = r * L + r * h * G1 + r * k * G2 + sig * normal_pdf(h) * normal_pdf(arg1)
        return m1, m2, s1, s2, L, E1, E2, E12

    @staticmethod
    def _conditional_tail(num: Array, sig: Array) -> tuple[Array, Array]:
        """Q(num / sig) = P(N(0,1) > num / sig) and the argument, with the sig = 0 limit (1, 1/2 or 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            arg = np.where(sig > 0, num / np.where(sig > 0, sig, 1.0), np.sign(num) * np.inf)
        tail = np.where(sig > 0, _ndtr(-np.where(np.isfinite(arg), arg, 0.0)), 0.5 - 0.5 * np.sign(num))
        tail = np.where((sig > 0) & ~np.isfinite(arg), (arg < 0).astype(float), tail)
        return tail, np.where(np.isfinite(arg), arg, 0.0)

    @staticmethod
    def _bivariate_cdf(x: Array, y: Array, r: Array, sig: Array) -> Array:
        """P(Z1 < x, Z2 < y) for standard normals of correlation r (Owen 1956, via Owen's T function)."""
        from scipy.special import owens_t

        px, py = _ndtr(x), _ndtr(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = sig > 0
            den_x = np.where((x != 0) & safe, x * sig, 1.0)
            den_y = np.where((y != 0) & safe, y * sig, 1.0)
            tx = np.where(x != 0, owens_t(x, (y - r * x) / den_x), 0.25 * np.sign(y))
            ty = np.where(y != 0, owens_t(y, (x - r * y) / den_y), 0.25 * np.sign(x))
        beta = np.where((x * y > 0) | ((x * y == 0) & (x + y >= 0)), 0.0, 0.5)
        general = 0.5 * (px + py) - tx - ty - beta
        origin = 0.25 + np.arcsin(r) / (2.0 * np.pi)
        general = np.where((x == 0) & (y == 0), origin, general)
        degenerate = np.where(r > 0, np.minimum(px, py), np.maximum(px + py - 1.0, 0.0))
        return np.clip(np.where(safe, general, degenerate), 0.0, 1.0)

    def e_ff(self, m1, m2, v1, v2, c):
        m1, m2, s1, s2, L, E1, E2, E12 = self._truncated(m1, m2, v1, v2, c)
        return m1 * m2 * L + m1 * s2 * E2 + m2 * s1 * E1 + s1 * s2 * E12

    def e_dfdf(self, m1, m2, v1, v2, c):
        return self._truncated(m1, m2, v1, v2, c)[4]

    def e_df1f2(self, m1, m2, v1, v2, c):
        _, m2, _, s2, L, _, E2, _ = self._truncated(m1, m2, v1, v2, c)
        return m2 * L + s2 * E2

    def e_u1df1f2(self, m1, m2, v1, v2, c):
        _, m2, s1, s2, _, E1, _, E12 = self._truncated(m1, m2, v1, v2, c)
        return s1 * (m2 * E1 + s2 * E12)

    def pair_moments(self, m1, m2, v1, v2, c, *, with_df1f2: bool = False):
        m1, m2, s1, s2, L, E1, E2, E12 = self._truncated(m1, m2, v1, v2, c)  # once for all of them
        out = (m1 * m2 * L + m1 * s2 * E2 + m2 * s1 * E1 + s1 * s2 * E12, L, s1 * (m2 * E1 + s2 * E12))
        return out + (m2 * L + s2 * E2,) if with_df1f2 else out


@dataclass(frozen=True, eq=False)
class Activation:
    """An activation function g with its derivative, kinks and Gaussian moments.

    Args:
        name: registry name.
        f, df: vectorised NumPy functions g and g'.
        kinks: points where g or g' is not smooth (quadrature splits there).
        torch_f: the same function on torch tensors (for autograd and training), optional.
        moments_class: a :class:`GaussianMoments` subclass with closed forms, else quadrature.
        strip: g is analytic in the strip |Im x| < strip (None: not known, or kinks); the
            quadrature moments then take the trapezoidal strip rule of :mod:`aelab.gaussian`.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    kinks: tuple[float, ...] = ()
    torch_f: Callable[[Any], Any] | None = None
    moments_class: type[GaussianMoments] = GaussianMoments
    strip: float | None = None
    moments: GaussianMoments = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "moments", self.moments_class(self))

    def __call__(self, x: Array) -> Array:
        return self.f(x)

    def torch(self, x):
        """Apply the activation to a torch tensor."""
        if self.torch_f is None:
            raise ConfigError(f"activation {self.name!r} has no torch implementation (give torch_f)")
        return self.torch_f(x)


def _torch(name: str) -> Callable[[Any], Any]:
    def apply(x):
        import torch

        fn = {
            "linear": lambda t: t,
            "erf": lambda t: torch.erf(t / _SQRT2),
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "relu": torch.relu,
            "softplus": torch.nn.functional.softplus,
            "hardtanh": torch.nn.functional.hardtanh,
        }[name]
        return fn(x)

    return apply


def leaky_relu(slope: float = 0.01) -> Activation:
    """Leaky ReLU max(x, slope x) with the given negative-side slope."""
    if not 0.0 <= slope < 1.0 or not math.isfinite(slope):
        raise ConfigError(f"leaky_relu: slope must be in [0, 1), got {slope}")

    def torch_f(x):
        import torch

        return torch.nn.functional.leaky_relu(x, slope)

    return Activation(
        name="leaky_relu" if slope == 0.01 else f"leaky_relu({slope:g})",
        f=lambda x: np.where(x > 0, x, slope * x),
        df=lambda x: np.where(x > 0, 1.0, slope),
        kinks=(0.0,),
        torch_f=torch_f,
    )


def _softplus(x):
    return np.logaddexp(0.0, x)


_REGISTRY: dict[str, Activation] = {}


def register_activation(activation: Activation, *, overwrite: bool = False) -> Activation:
    """Add an activation to the registry under its name."""
    key = activation.name.lower()
    if key in _REGISTRY and not overwrite:
        raise ConfigError(f"activation {activation.name!r} is registered already")
    _REGISTRY[key] = activation
    return activation


for _act in (
    Activation("linear", lambda x: np.asarray(x, float), lambda x: np.ones_like(np.asarray(x, float)),
               torch_f=_torch("linear"), moments_class=LinearMoments),
    Activation("erf", lambda x: _erf(np.asarray(x) / _SQRT2),
               lambda x: _SQRT_TWO_OVER_PI * np.exp(-0.5 * np.square(x)), torch_f=_torch("erf"),
               moments_class=ErfMoments),
    # the strips: tanh has poles at i pi (k + 1/2), sigmoid at i pi (2k + 1), softplus branch points there
    Activation("sigmoid", _expit, lambda x: _expit(x) * (1.0 - _expit(x)), torch_f=_torch("sigmoid"), strip=math.pi),
    Activation("tanh", np.tanh, lambda x: 1.0 - np.tanh(x) ** 2, torch_f=_torch("tanh"), strip=0.5 * math.pi),
    Activation("relu", lambda x: np.maximum(x, 0.0), lambda x: (np.asarray(x) > 0).astype(float), kinks=(0.0,),
               torch_f=_torch("relu"), moments_class=ReluMoments),
    Activation("softplus", _softplus, _expit, torch_f=_torch("softplus"), strip=math.pi),
    Activation("hardtanh", lambda x: np.clip(x, -1.0, 1.0), lambda x: (np.abs(x) < 1.0).astype(float),
               kinks=(-1.0, 1.0), torch_f=_torch("hardtanh")),
    leaky_relu(0.01),
):
    register_activation(_act)

_ALIASES = {"identity": "linear", "id": "linear", "logistic": "sigmoid", "leaky-relu": "leaky_relu",
            "leakyrelu": "leaky_relu"}
_LEAKY = re.compile(r"^leaky[_-]?relu\(\s*([0-9.eE+-]+)\s*\)$")


def activation_names() -> list[str]:
    """Names of the registered activations."""
    return sorted(_REGISTRY)


def get_activation(spec: str | Activation) -> Activation:
    """Look an activation up by name, ``leaky_relu(SLOPE)``, or ``"module:attribute"`` import path."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"activation: expected a name, got {spec!r}")
    key = spec.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]
    match = _LEAKY.match(key)
    if match:
        return leaky_relu(float(match.group(1)))
    if ":" in spec:
        module_name, _, attr = spec.strip().partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"activation {spec!r}: cannot import ({exc})") from None
        if not isinstance(obj, Activation):
            raise ConfigError(f"activation {spec!r}: expected an aelab.activations.Activation, got {type(obj).__name__}")
        return obj
    raise ConfigError(f"unknown activation {spec!r} (known: {', '.join(activation_names())}, "
                      "leaky_relu(SLOPE), or module:attribute)")
