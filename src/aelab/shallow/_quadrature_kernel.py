"""The Gaussian moments of the shallow ODE by quadrature, compiled (numba), for registry activations.

The same sums as the NumPy path of :func:`aelab.shallow.ode._quadrature_moments` (which the tests
hold this kernel equal to, 1e-12): for every pair of hidden units (k, l), with the factored
two-variable rule of :func:`aelab.gaussian.rule_2d` (outer nodes x1_i, weights w1_i; inner nodes
x2_ij, weights w2_ij), the conditional sums E[g(x2) | z1_i] and E[g'(x2) | z1_i] are taken first and

    E g(x1) g(x2) = sum_i w1_i g(x1_i) E[g | i],           E g'(x1) g'(x2) = sum_i w1_i g'(x1_i) E[g' | i],
    E (x1 - m1) g'(x1) g(x2) = sum_i w1_i g'(x1_i) (x1_i - m1) E[g | i],
    E g'(x1) g(x2) = sum_i w1_i g'(x1_i) E[g | i];

one variable: E g', E g' u and E g' u^2 (u = x - m) on the rule of :func:`aelab.gaussian.rule_1d`.
g and g' come from one evaluation (:func:`aelab.compiled_activations.act_fdf`). The rules are
formed here in the order of operations of :mod:`aelab.gaussian`: the strip rule of activations
analytic in a strip (:func:`strip_moments`, all moments of a call) entirely, the graded rule of
wide fields (:func:`pair_sums_graded`) per outer node, its outer rule from
:func:`aelab.gaussian.rule_2d_outer`; other rules come as nodes (:func:`pair_sums`). Where x2 is a
function of x1 to rounding (a unit with itself: s21^2 <= ``DEGENERATE`` var2), the inner sum is
g(centre) times the rule's total weight (an error below |g''| DEGENERATE var2 / 2).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from aelab._kernel_cache import guard
from aelab.compiled_activations import act_fdf
from aelab.gaussian import STRIP_LOG_ERROR, STRIP_Z

guard("shallow")  # compiled code that inlines a changed module of the group is dropped

__all__ = ["pair_sums", "pair_sums_graded", "single_sums", "strip_moments", "strip_nodes", "strip_size",
           "DEGENERATE"]

#: Relative conditional variance s21^2 / var2 below which x2 counts as a function of x1 (the
#: rounding of var2 - beta^2 for a unit with itself is a few 1e-16).
DEGENERATE = 1e-15
_Z_MAX = 10.0
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_STRIP_D_MAX = math.sqrt(2.0 * STRIP_LOG_ERROR)


@njit(cache=True, inline="always")
def _conditional(code, p, x2, w2, k, l, i):  # pragma: no cover - compiled
    ef = 0.0
    edf = 0.0
    for j in range(x2.shape[3]):
        f, df = act_fdf(code, p, x2[k, l, i, j])
        ef += w2[k, l, i, j] * f
        edf += w2[k, l, i, j] * df
    return ef, edf


@njit(cache=True, inline="always")
def _outer(code, p, w, x1, m1, ef, edf, s_ff, s_dd, s_p, s_df):  # pragma: no cover - compiled
    """The four running sums of the two-variable moments after the outer node x1 (weight w)."""
    f1, df1 = act_fdf(code, p, x1)
    wd = w * df1
    return s_ff + w * f1 * ef, s_dd + wd * edf, s_p + wd * (x1 - m1) * ef, s_df + wd * ef


@njit(cache=True, error_model="numpy")
def pair_sums(code, p, m, x1, w1, x2, w2, i2, i11, pp, edf12):  # pragma: no cover - compiled
    """The four two-variable moments of every pair from given nodes.

    x1, w1: (K, K, P1) outer nodes and weights; x2, w2: (K, K, P1, P2) inner ones (broadcast views
    allowed); m: (K,) means; results into the (K, K) arrays i2, i11, pp, edf12.
    """
    K = m.shape[0]
    for k in range(K):
        for l in range(K):
            s_ff = 0.0
            s_dd = 0.0
            s_p = 0.0
            s_df = 0.0
            for i in range(x1.shape[2]):
                ef, edf = _conditional(code, p, x2, w2, k, l, i)
                s_ff, s_dd, s_p, s_df = _outer(code, p, w1[k, l, i], x1[k, l, i], m[k], ef, edf, s_ff, s_dd, s_p, s_df)
            i2[k, l] = s_ff
            i11[k, l] = s_dd
            pp[k, l] = s_p
            edf12[k, l] = s_df


@njit(cache=True)
def strip_nodes(std, strip, z, w):  # pragma: no cover - compiled
    """The strip rule of :func:`aelab.gaussian.strip_rule` for one standard deviation into z, w (standardised);
    returns the number of nodes (z, w hold at least :func:`strip_size`)."""
    h, n = _strip_step(std, strip)
    for j in range(2 * n + 1):
        zj = (j - n) * h
        z[j] = zj
        w[j] = h * (math.exp(-0.5 * (zj * zj)) * _INV_SQRT2PI)
    return 2 * n + 1


@njit(cache=True, inline="always")
def _strip_step(std, strip):  # pragma: no cover - compiled
    """Spacing h and half-count n of the strip rule (:func:`aelab.gaussian.strip_spacing`, nodes j h, |j| <= n)."""
    d = min(strip / std, _STRIP_D_MAX) if std > 0.0 else _STRIP_D_MAX
    h = 2.0 * math.pi * d / (STRIP_LOG_ERROR + 0.5 * d * d)
    return h, int(math.floor(STRIP_Z / h))


@njit(cache=True)
def strip_size(std, strip):  # pragma: no cover - compiled
    """The number of nodes of the strip rule at ``std``."""
    return 2 * _strip_step(std, strip)[1] + 1


@njit(cache=True, inline="always")
def _conditioning(q, Q, k, l):  # pragma: no cover - compiled
    """s1, beta, s21 of the pair (k, l) as in ``rule_2d_outer``: x_l = m_l + beta z1 + s21 z2, x_k = m_k + s1 z1."""
    sd1 = math.sqrt(max(q[k], 0.0))
    bt = Q[k, l] / sd1 if sd1 > 0.0 else 0.0
    return sd1, bt, math.sqrt(max(q[l] - bt * bt, 0.0))


@njit(cache=True, error_model="numpy")
def strip_moments(code, p, strip, m, q, Q, i2, i11, pp, edf12, g1, g1u, g1u2):  # pragma: no cover - compiled
    """All the moments of :func:`aelab.shallow.ode._quadrature_moments` on the strip rule, the rules formed here.

    For the pair (k, l), as ``rule_2d_outer``: s1 = sqrt(q_k), beta = Q_kl / s1, s21 = sqrt(max(q_l -
    beta^2, 0)), x1 = m_k + s1 z1_i, x2 = (m_l + beta z1_i) + s21 z2_j, the outer rule at
    max(s1, |beta|) and the inner one at s21, the same for every outer node; one variable, the rule
    at sqrt(q_k). The inner rule is summed once per outer node; two-variable results into the (K, K)
    arrays i2, i11, pp, edf12, one-variable ones into the (K,) arrays g1, g1u, g1u2.
    """
    K = m.shape[0]
    size = 1
    for k in range(K):
        for l in range(K):
            sd1, bt, sd21 = _conditioning(q, Q, k, l)
            size = max(size, strip_size(sd1, strip), strip_size(max(sd1, abs(bt)), strip), strip_size(sd21, strip))
    z1 = np.empty(size)
    w1 = np.empty(size)
    z2 = np.empty(size)
    w2 = np.empty(size)
    for k in range(K):
        sd1 = math.sqrt(max(q[k], 0.0))
        n1 = strip_nodes(sd1, strip, z1, w1)
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(n1):
            u = sd1 * z1[i]
            _, df = act_fdf(code, p, m[k] + u)
            wd = w1[i] * df
            s0 += wd
            s1 += wd * u
            s2 += wd * u * u
        g1[k] = s0
        g1u[k] = s1
        g1u2[k] = s2
        for l in range(K):
            sd1, bt, sd21 = _conditioning(q, Q, k, l)
            n1 = strip_nodes(max(sd1, abs(bt)), strip, z1, w1)
            n2 = strip_nodes(sd21, strip, z2, w2)
            degenerate = sd21 * sd21 <= DEGENERATE * q[l]
            total = 0.0
            for j in range(n2):
                total += w2[j]
            s_ff = 0.0
            s_dd = 0.0
            s_p = 0.0
            s_df = 0.0
            for i in range(n1):
                centre = m[l] + bt * z1[i]
                ef = 0.0
                edf = 0.0
                if degenerate:
                    f2, df2 = act_fdf(code, p, centre)
                    ef = total * f2
                    edf = total * df2
                else:
                    for j in range(n2):
                        f2, df2 = act_fdf(code, p, centre + sd21 * z2[j])
                        ef += w2[j] * f2
                        edf += w2[j] * df2
                s_ff, s_dd, s_p, s_df = _outer(code, p, w1[i], m[k] + sd1 * z1[i], m[k], ef, edf, s_ff, s_dd, s_p,
                                               s_df)
            i2[k, l] = s_ff
            i11[k, l] = s_dd
            pp[k, l] = s_p
            edf12[k, l] = s_df


@njit(cache=True, inline="always")
def _inner_graded(code, p, centre, s21, base, pk, gx, gw, breaks):  # pragma: no cover - compiled
    """E[g(x2) | z1], E[g'(x2) | z1] on the graded inner rule of ``rule_2d`` (x2 = centre + s21 z2)."""
    nb = base.shape[0]
    for j in range(nb):
        breaks[j] = base[j]
    for j in range(pk.shape[0]):
        d = pk[j] - centre
        b = d / s21 if s21 > 0.0 else (0.0 if d == 0.0 else math.copysign(2.0 * _Z_MAX, d))
        if not math.isfinite(b):
            b = 0.0 if d == 0.0 else math.copysign(2.0 * _Z_MAX, d)
        breaks[nb + j] = b
    nbr = nb + pk.shape[0]
    for j in range(nbr):  # clip, then sort (insertion: a few dozen points)
        breaks[j] = min(max(breaks[j], -_Z_MAX), _Z_MAX)
    for j in range(1, nbr):
        v = breaks[j]
        i = j - 1
        while i >= 0 and breaks[i] > v:
            breaks[i + 1] = breaks[i]
            i -= 1
        breaks[i + 1] = v
    ef = 0.0
    edf = 0.0
    a = -_Z_MAX
    for j in range(nbr + 1):
        b = breaks[j] if j < nbr else _Z_MAX
        if b > a:
            half = 0.5 * (b - a)
            mid = 0.5 * (a + b)
            for t in range(gx.shape[0]):
                z2 = mid + half * gx[t]
                wt = (half * gw[t]) * (math.exp(-0.5 * (z2 * z2)) * _INV_SQRT2PI)
                f2, df2 = act_fdf(code, p, centre + s21 * z2)
                ef += wt * f2
                edf += wt * df2
        a = b
    return ef, edf


@njit(cache=True, error_model="numpy")
def pair_sums_graded(code, p, m, q, z1, w1, s1, beta, s21, base, pk, gx, gw, base_total,
                     i2, i11, pp, edf12):  # pragma: no cover - compiled
    """:func:`pair_sums` on the graded rule: outer nodes z1, w1 ((K, K, P1), standardised) and the
    conditioning s1, beta, s21 ((K, K)) from ``rule_2d_outer``; the inner rule is split at the
    standardised points ``base`` and at the pseudo-kinks ``pk`` (argument units), ``gx``, ``gw``
    Gauss-Legendre points a piece; ``base_total``: the total weight of the rule split at ``base`` only.
    """
    K = m.shape[0]
    breaks = np.empty(base.shape[0] + pk.shape[0])
    for k in range(K):
        for l in range(K):
            sd1 = s1[k, l]
            bt = beta[k, l]
            sd21 = s21[k, l]
            degenerate = sd21 * sd21 <= DEGENERATE * q[l]
            s_ff = 0.0
            s_dd = 0.0
            s_p = 0.0
            s_df = 0.0
            for i in range(z1.shape[2]):
                zi = z1[k, l, i]
                centre = m[l] + bt * zi
                if degenerate:
                    f2, df2 = act_fdf(code, p, centre)
                    ef = base_total * f2
                    edf = base_total * df2
                else:
                    ef, edf = _inner_graded(code, p, centre, sd21, base, pk, gx, gw, breaks)
                s_ff, s_dd, s_p, s_df = _outer(code, p, w1[k, l, i], m[k] + sd1 * zi, m[k], ef, edf, s_ff, s_dd, s_p,
                                               s_df)
            i2[k, l] = s_ff
            i11[k, l] = s_dd
            pp[k, l] = s_p
            edf12[k, l] = s_df


@njit(cache=True, error_model="numpy")
def single_sums(code, p, m, x, w, g1, g1u, g1u2):  # pragma: no cover - compiled
    """E g', E g' u, E g' u^2 (u = x - m_k) from the nodes x and weights w, both (K, P) (broadcast views allowed)."""
    for k in range(m.shape[0]):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(x.shape[1]):
            _, df = act_fdf(code, p, x[k, i])
            wd = w[k, i] * df
            u = x[k, i] - m[k]
            s0 += wd
            s1 += wd * u
            s2 += wd * u * u
        g1[k] = s0
        g1u[k] = s1
        g1u2[k] = s2
