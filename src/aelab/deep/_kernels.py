"""Compiled kernels of the state evolution (numba): the Gaussian smoothing and one layer step.

The registry activations are given by an integer code (and a parameter, the leaky-ReLU slope) of
:mod:`aelab.compiled_activations`, shared with the shallow SGD kernel.
The decoder's Gaussian smoothing H1(m, b) = E phi(m + b z), H2(m, b) = E phi(m + b z)^2 is in
closed form for piecewise-linear phi (linear, ReLU, leaky ReLU, hard tanh) and erf's H1, and
read from precomputed tables otherwise (tanh, sigmoid via tanh, softplus via its ReLU residual,
erf's H2). The outer expectation over z1 is a composite Gauss-Legendre rule split at the kinks
and graded geometrically towards the sharp features of the integrand, so that it keeps its
accuracy for any scale of the arguments. See :mod:`aelab.deep.smoothing` for the tables and the
NumPy reference implementation these kernels are tested against, :mod:`aelab.deep._reduced` for
the reduced rules of smooth odd activations and :mod:`aelab.deep._recursions` for the depth
recursions built on the step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from aelab._kernel_cache import guard
from aelab.compiled_activations import (  # noqa: F401 - the codes are part of this module's vocabulary
    CODES, ERF, HARDTANH, LEAKY, LINEAR, ODD, RELU, SIGMOID, SOFTPLUS, TANH, act_df, act_f, act_fdf, act_inv)

guard("deep")  # compiled code that inlines a changed module of the group is dropped

Z_MAX = 10.0
BIG = 1e150
_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_MAX_BREAKS = 320
R_SERIES = 0.25  # |m| + 7 b below which H1, H2 of tanh and erf come from their Taylor series


def _series():
    """Taylor coefficients of tanh, tanh^2 and erf(x / sqrt 2)^2 through degree 21."""
    from scipy.special import bernoulli, factorial

    deg = 22
    n = np.arange(1, deg // 2 + 1)
    B = bernoulli(2 * deg)[2 * n]
    tanh = np.zeros(deg + 1)
    tanh[2 * n - 1] = 2.0 ** (2 * n) * (2.0 ** (2 * n) - 1.0) * B / factorial(2 * n)
    k = np.arange(deg // 2)
    erf = np.zeros(deg + 1)
    erf[2 * k + 1] = math.sqrt(2.0 / math.pi) * (-1.0) ** k / (2.0**k * factorial(k) * (2 * k + 1))
    return tanh, np.convolve(tanh, tanh)[:deg + 1], np.convolve(erf, erf)[:deg + 1]


TANH_C, TANH2_C, ERF2_C = _series()


@njit(cache=True)
def _smooth(code):
    return code == TANH or code == ERF or code == SIGMOID or code == SOFTPLUS


# --- Gaussian smoothing of the decoder activation ---------------------------------------------
@njit(cache=True)
def _cdf(a):
    return 0.5 * math.erfc(-a / _SQRT2)


@njit(cache=True)
def _pdf(a):
    return _INV_SQRT2PI * math.exp(-0.5 * a * a)


@njit(cache=True)
def relu_h(m, b):
    """E relu(m + b z) and E relu(m + b z)^2."""
    if b <= 0.0:
        r = m if m > 0.0 else 0.0
        return r, r * r
    a = m / b
    P = _cdf(a)
    d = _pdf(a)
    return m * P + b * d, (m * m + b * b) * P + m * b * d


@njit(cache=True)
def _lagrange4(u):
    # cubic Lagrange weights for nodes -1, 0, 1, 2 at position u
    return (-u * (u - 1.0) * (u - 2.0) / 6.0, (u + 1.0) * (u - 1.0) * (u - 2.0) / 2.0,
            -(u + 1.0) * u * (u - 2.0) / 2.0, (u + 1.0) * u * (u - 1.0) / 6.0)


@njit(cache=True)
def _lagrange6(u):
    # quintic Lagrange weights for nodes -2, -1, 0, 1, 2, 3 at position u
    a, b, c, d, e, f = u + 2.0, u + 1.0, u, u - 1.0, u - 2.0, u - 3.0
    return (-b * c * d * e * f / 120.0, a * c * d * e * f / 24.0, -a * b * d * e * f / 12.0,
            a * b * c * e * f / 12.0, -a * b * c * d * f / 24.0, a * b * c * d * e / 120.0)


@njit(cache=True)
def series_h(c, m, b):
    """E P(m + b z) for the polynomial P = sum_n c[n] u^n (moments M_n = m M_{n-1} + (n-1) b^2 M_{n-2})."""
    v = b * b
    m0 = 1.0
    m1 = m
    acc = c[0] + c[1] * m
    for k in range(2, c.shape[0]):
        m2 = m * m1 + (k - 1) * v * m0
        acc += c[k] * m2
        m0 = m1
        m1 = m2
    return acc


_NO_ROWS = np.zeros(6)  # no combined rows (:func:`smooth_dh`)
TANH_T, ERF_T, SOFTPLUS_T = 0, 1, 2  # rows of the packed tables (see aelab.deep.smoothing.packed_tables)


@njit(cache=True)
def table_prep(metas, k, b):
    """The b-dependent part of a lookup in table k: 1 / (1 + b), the eta index and its cubic weights.

    metas[k] = (xi range X, dxi, deta, scaled, NX, NE).
    """
    inv = 1.0 / (1.0 + b)
    s2 = b * inv / metas[k, 2]
    j = int(math.floor(s2)) - 1
    j = min(max(j, 0), int(metas[k, 5]) - 4)
    w0, w1, w2, w3 = _lagrange4(s2 - (j + 1))
    return inv, j, w0, w1, w2, w3


@njit(cache=True, inline="always")
def _xi_stencil(metas, k, m, inv):
    """First row and weights of the 6-point (quintic) stencil in xi = m / (1 + b), clamped to the table."""
    xmax = metas[k, 0]
    xi = min(max(m * inv, -xmax), xmax)
    s = (xi + xmax) / metas[k, 1]
    i = int(math.floor(s)) - 2
    i = min(max(i, 0), int(metas[k, 4]) - 6)
    return i, _lagrange6(s - (i + 2))


@njit(cache=True)
def table_at(tabs, metas, k, m, prep):
    """H1, H2 from table k at (m, b), b given through ``prep`` (quintic in xi, cubic in eta).

    Coordinates xi = m / (1 + b), eta = b / (1 + b); a scaled table holds H1 / (1 + b) and
    H2 / (1 + b)^2.
    """
    inv, j, v0, v1, v2, v3 = prep
    i, wx = _xi_stencil(metas, k, m, inv)
    h1 = 0.0
    h2 = 0.0
    for aa in range(6):
        r1 = v0 * tabs[k, 0, i + aa, j] + v1 * tabs[k, 0, i + aa, j + 1] + v2 * tabs[k, 0, i + aa, j + 2] \
            + v3 * tabs[k, 0, i + aa, j + 3]
        r2 = v0 * tabs[k, 1, i + aa, j] + v1 * tabs[k, 1, i + aa, j + 1] + v2 * tabs[k, 1, i + aa, j + 2] \
            + v3 * tabs[k, 1, i + aa, j + 3]
        h1 += wx[aa] * r1
        h2 += wx[aa] * r2
    if metas[k, 3] != 0.0:
        sc = 1.0 / inv
        return h1 * sc, h2 * sc * sc
    return h1, h2


@njit(cache=True)
def table_col(tabs, metas, k, c, m, prep):
    """Column c (0: H1, 1: H2) of table k at (m, b): :func:`table_at` for one of the two."""
    inv, j, v0, v1, v2, v3 = prep
    i, wx = _xi_stencil(metas, k, m, inv)
    h = 0.0
    for aa in range(6):
        h += wx[aa] * (v0 * tabs[k, c, i + aa, j] + v1 * tabs[k, c, i + aa, j + 1] + v2 * tabs[k, c, i + aa, j + 2]
                       + v3 * tabs[k, c, i + aa, j + 3])
    if metas[k, 3] != 0.0:
        sc = 1.0 / inv
        return h * sc if c == 0 else h * sc * sc
    return h


@njit(cache=True)
def smooth_prep(code, b, metas):
    """Table preparations for :func:`smooth_dh` at b: (main table, tanh at b / 2 for softplus' slope)."""
    dummy = (1.0, 0, 0.0, 0.0, 0.0, 0.0)
    if code == TANH:
        return table_prep(metas, TANH_T, b), dummy
    if code == SIGMOID:
        return table_prep(metas, TANH_T, 0.5 * b), dummy
    if code == ERF:
        return table_prep(metas, ERF_T, b), dummy
    if code == SOFTPLUS:
        return table_prep(metas, SOFTPLUS_T, b), table_prep(metas, TANH_T, 0.5 * b)
    return dummy, dummy


@njit(cache=True)
def smooth_dh(code, p, m, b, prep, tabs, metas):
    """D(m, b) = E phi'(m + b z) and H2(m, b) = E phi(m + b z)^2: :func:`smooth_dh_rows` without rows."""
    return smooth_dh_rows(code, p, m, b, prep, tabs, metas, _NO_ROWS, 0, 0)


@njit(cache=True)
def h2_rows(code, tabs, metas, prep, lo_m, hi_m, rows, max_rows):
    """The H2 column of phi's table combined over eta at the b of ``prep``, for the xi rows that
    m in [lo_m, hi_m] needs: rows[i - i0] = sum_jj v_jj T[i, j + jj] (the inner sum of
    :func:`table_col`; lookups from the rows agree with it to rounding, ~1e-14). Returns the rows'
    range (i0, i1), empty where phi reads H2 otherwise (closed forms, sigmoid and softplus) or
    where more than ``max_rows`` rows would be combined.

    One layer step looks up H2 at every node of its rule with the same b; combining the four eta
    columns once per step leaves six reads a node instead of 24.
    """
    if code == TANH:
        k = TANH_T
    elif code == ERF:
        k = ERF_T
    else:
        return 0, 0
    inv, j, v0, v1, v2, v3 = prep[0]
    i_lo, _ = _xi_stencil(metas, k, lo_m, inv)
    i_hi, _ = _xi_stencil(metas, k, hi_m, inv)
    if not 0 < i_hi + 6 - i_lo <= max_rows:
        return 0, 0
    for i in range(i_lo, i_hi + 6):
        rows[i - i_lo] = v0 * tabs[k, 1, i, j] + v1 * tabs[k, 1, i, j + 1] + v2 * tabs[k, 1, i, j + 2] \
            + v3 * tabs[k, 1, i, j + 3]
    return i_lo, i_hi + 6


@njit(cache=True, inline="always")
def _h2_table(tabs, metas, k, m, prep, rows, i0, i1):
    """H2 from table k (unscaled): from the combined rows [i0, i1) of :func:`h2_rows` where they hold m's stencil."""
    if i1 <= i0:
        return table_col(tabs, metas, k, 1, m, prep)
    i, wx = _xi_stencil(metas, k, m, prep[0])
    if not (i0 <= i and i + 6 <= i1):
        return table_col(tabs, metas, k, 1, m, prep)
    h = 0.0
    for aa in range(6):
        h += wx[aa] * rows[i + aa - i0]
    return h


@njit(cache=True)
def smooth_dh_rows(code, p, m, b, prep, tabs, metas, rows, i0, i1):
    """D(m, b) = E phi'(m + b z) and H2(m, b) = E phi(m + b z)^2 for the decoder activation phi.

    D is the slope of H1 = E phi(m + b z) in m (Stein); with it gamma takes Remark 3's form, free
    of the division by taubar. ``prep`` is :func:`smooth_prep` of (code, b). Closed forms for
    piecewise-linear phi and erf's slope; tables (Taylor series for small arguments) otherwise,
    tanh's and erf's H2 read from ``rows`` (:func:`h2_rows` at this b, range [i0, i1)).
    """
    if b <= 0.0:
        f, d = act_fdf(code, p, m)
        return d, f * f
    if code == LINEAR:
        return 1.0, m * m + b * b
    if code == RELU or code == LEAKY:
        u = m / b
        P = _cdf(u)
        d = _pdf(u)
        h2 = (m * m + b * b) * P + m * b * d  # E relu(U)^2
        if code == RELU:
            return P, h2
        # leaky(u) = relu(u) - p relu(-u); E relu(-U)^2 = (m^2 + b^2)(1 - P) - m b d
        return p + (1.0 - p) * P, h2 + p * p * ((m * m + b * b) * (1.0 - P) - m * b * d)
    if code == HARDTANH:  # clip(u) = relu(u + 1) - relu(u - 1) - 1
        A = (-1.0 - m) / b
        B = (1.0 - m) / b
        mass = _cdf(B) - _cdf(A)
        second = (m * m * mass + 2.0 * m * b * (_pdf(A) - _pdf(B))
                  + b * b * (mass + A * _pdf(A) - B * _pdf(B)))
        return mass, second + _cdf(-B) + _cdf(A)
    if code == TANH:  # tanh' = 1 - tanh^2
        if abs(m) + 7.0 * b <= R_SERIES:  # relative accuracy for small arguments (the trivial phase)
            h2 = series_h(TANH2_C, m, b)
        else:
            h2 = _h2_table(tabs, metas, TANH_T, m, prep[0], rows, i0, i1)
        return 1.0 - h2, h2
    if code == SIGMOID:  # sigmoid(u) = (1 + tanh(u / 2)) / 2, sigmoid' = (1 - tanh(u / 2)^2) / 4
        t1, t2 = table_at(tabs, metas, TANH_T, 0.5 * m, prep[0])
        return 0.25 * (1.0 - t2), 0.25 * (1.0 + 2.0 * t1 + t2)
    if code == ERF:
        v = 1.0 + b * b
        if abs(m) + 7.0 * b <= R_SERIES:
            h2 = series_h(ERF2_C, m, b)
        else:
            h2 = _h2_table(tabs, metas, ERF_T, m, prep[0], rows, i0, i1)
        return math.sqrt(2.0 / (math.pi * v)) * math.exp(-0.5 * m * m / v), h2
    # SOFTPLUS (softplus' = sigmoid): a scaled table; ReLU's closed form where softplus - relu < 1e-10
    if abs(m) >= metas[SOFTPLUS_T, 0] * (1.0 + b):
        return _cdf(m / b), relu_h(m, b)[1]
    h2 = table_col(tabs, metas, SOFTPLUS_T, 1, m, prep[0])
    t1 = table_col(tabs, metas, TANH_T, 0, 0.5 * m, prep[1])
    return 0.5 * (1.0 + t1), h2


@njit(cache=True)
def smooth_h(code, p, m, b, tabs, metas):
    """H1(m, b) = E phi(m + b z) and H2(m, b) (not on the hot path; for tests and tables)."""
    if b <= 0.0:
        f = act_f(code, p, m)
        return f, f * f
    if code == LINEAR:
        return m, m * m + b * b
    if code == RELU:
        return relu_h(m, b)
    if code == LEAKY:
        p1, p2 = relu_h(m, b)
        n1, n2 = relu_h(-m, b)
        return p1 - p * n1, p2 + p * p * n2
    prep = smooth_prep(code, b, metas)
    _, h2 = smooth_dh(code, p, m, b, prep, tabs, metas)
    if code == HARDTANH:
        return relu_h(m + 1.0, b)[0] - relu_h(m - 1.0, b)[0] - 1.0, h2
    if code == TANH:
        if abs(m) + 7.0 * b <= R_SERIES:
            return series_h(TANH_C, m, b), h2
        return table_at(tabs, metas, TANH_T, m, prep[0])[0], h2
    if code == SIGMOID:
        return 0.5 * (1.0 + table_at(tabs, metas, TANH_T, 0.5 * m, prep[0])[0]), h2
    if code == ERF:
        return math.erf(m / math.sqrt(2.0 * (1.0 + b * b))), h2
    if abs(m) >= metas[SOFTPLUS_T, 0] * (1.0 + b):
        return relu_h(m, b)[0], h2
    return table_at(tabs, metas, SOFTPLUS_T, m, prep[0])[0], h2


# --- quadrature rule over z1 -------------------------------------------------------------------
@njit(cache=True)
def _add(brk, n, x):
    if -Z_MAX < x < Z_MAX and n < _MAX_BREAKS:
        brk[n] = x
        return n + 1
    return n


@njit(cache=True)
def _graded(brk, n, centre, w):
    """Break points centre +- w 2^k (k >= 0, while below 0.7): a geometric grading towards centre."""
    n = _add(brk, n, centre)
    w = max(w, 1e-9)
    while w < 0.7:
        n = _add(brk, n, centre - w)
        n = _add(brk, n, centre + w)
        w *= 2.0
    return n


@njit(cache=True)
def _base_breaks(brk, sc, t):
    n = 0
    for x in (0.0, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0, -4.5, 4.5, -6.5, 6.5):
        n = _add(brk, n, x)
    if _smooth(sc) and t > 1.4:
        n = _graded(brk, n, 0.0, 1.0 / t)
    if sc == HARDTANH:
        n = _add(brk, n, 1.0 / t)
        n = _add(brk, n, -1.0 / t)
    return n


@njit(cache=True)
def _feature_breaks(brk, n, sc, sp, pc, t, a, b):
    """Grade the rule towards the points where a sigma(t z) crosses a feature of phi."""
    if pc == LINEAR or a == 0.0:
        return n
    kinked = not _smooth(pc)
    eps = 0.0 if kinked else (2.0 if pc == SIGMOID else 1.0)
    for c in (-1.0, 0.0, 1.0):
        if pc == HARDTANH:
            if c == 0.0:
                continue
        elif c != 0.0:
            continue
        found, xs = act_inv(sc, sp, c / a)
        if not found:
            continue
        zs = xs / t
        if not -Z_MAX < zs < Z_MAX:
            continue
        eps = 1e-12 * max(1.0, abs(xs))  # one-sided derivatives at a kink of sigma
        slope = abs(a) * t * max(act_df(sc, sp, xs - eps), act_df(sc, sp, xs + eps))
        if kinked and b == 0.0:
            n = _add(brk, n, zs)
        if slope > 0.0:
            w = max(b, eps) / slope
            if w < 0.7:
                n = _graded(brk, n, zs, w)
    return n


_N_BASE = 11  # the base break points 0, +-1, +-2, +-3, +-4.5, +-6.5
_BASE_EDGES = (0.0, 1.0, 2.0, 3.0, 4.5, 6.5, Z_MAX)


def base_rule(xg: np.ndarray, wg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (Gaussian density included) of the base composite rule on [0, Z_MAX]."""
    z, w = [], []
    for lo, hi in zip(_BASE_EDGES[:-1], _BASE_EDGES[1:]):
        half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
        zz = mid + half * xg
        z.append(zz)
        w.append(half * wg * _INV_SQRT2PI * np.exp(-0.5 * zz * zz))
    return np.concatenate(z), np.concatenate(w)


@njit(cache=True)
def odd_relu(sc, pc):
    """An odd encoder sigma with a (leaky) ReLU decoder: the step in closed form of two moments of sigma."""
    return (sc == LINEAR or sc == TANH or sc == ERF or sc == HARDTANH) and (pc == RELU or pc == LEAKY)


@njit(cache=True)
def odd_relu_step(pc, pp, a, b, e_d, e_s2):
    """The layer step of :func:`odd_relu` settings from e_d = E sigma'(t z) and e_s2 = E sigma(t z)^2.

    Prop. 10(d): with leaky(u) = ((1 + p) u + (1 - p) |u|) / 2 and U -> -U under (z1, z2) -> -(z1, z2),
    gamma = a (1 + p) / 2 E sigma'(t z) and rho = (1 + p^2) / 2 (a^2 E sigma(t z)^2 + b^2), exactly.
    """
    p = pp if pc == LEAKY else 0.0
    return a * 0.5 * (1.0 + p) * e_d, 0.5 * (1.0 + p * p) * (a * a * e_s2 + b * b)


@njit(cache=True)
def relu_relu(sc, pc):
    """A (leaky) ReLU encoder with a (leaky) ReLU decoder: the step in closed form (:func:`relu_relu_step`)."""
    return (sc == RELU or sc == LEAKY) and (pc == RELU or pc == LEAKY)


@njit(cache=True)
def _quadrant(r):
    """E[x^2; x > 0, y > 0] for standard normals of correlation r."""
    return 0.25 + (math.asin(r) + r * math.sqrt(max(1.0 - r * r, 0.0))) / (2.0 * math.pi)


@njit(cache=True)
def relu_relu_step(q, p, t, a, b):
    """The layer step of a leaky-ReLU encoder (slope q below 0) and decoder (slope p) in closed form, t > 0.

    a sigma(t z) = c z with c = a t on z > 0 and a q t on z < 0, so U = a sigma(t z1) + b z2 is linear
    in (z1, z2) on each half-line, and gamma = a E[sigma'(t z) D(a sigma(t z), b)] (D = E phi'(. + b z2))
    and rho = E[phi(U)^2] are sums of the quadrant integrals E[Phi(c z); z > 0] = 1/4 + atan(c) / 2 pi
    and E[x^2; x > 0, y > 0] = 1/4 + (asin r + r sqrt(1 - r^2)) / 2 pi (x, y standard normals of
    correlation r): the arc-cosine kernels of Cho & Saul (2009).
    """
    c1 = a * t
    c2 = a * q * t
    # E[Phi(c1 z / b); z > 0] and E[Phi(c2 z / b); z < 0], in the form free of cancellation when small
    d1 = math.atan2(b, -c1) / (2.0 * math.pi) if c1 < 0.0 else 0.25 + math.atan2(c1, b) / (2.0 * math.pi)
    d2 = math.atan2(b, c2) / (2.0 * math.pi) if c2 > 0.0 else 0.25 - math.atan2(c2, b) / (2.0 * math.pi)
    gamma = a * (0.5 * p + (1.0 - p) * d1 + q * (0.5 * p + (1.0 - p) * d2))
    s1 = c1 * c1 + b * b
    s2 = c2 * c2 + b * b
    j1 = _quadrant(c1 / math.sqrt(s1)) if s1 > 0.0 else 0.25
    j2 = _quadrant(c2 / math.sqrt(s2)) if s2 > 0.0 else 0.25
    rho = s1 * (j1 + p * p * (0.5 - j1)) + s2 * (0.5 - j2 + p * p * j2)
    return gamma, rho


@njit(cache=True)
def step(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, brk, zb, wb, rows):
    """One decoder layer: (gamma, rho) = (a E[sigma'(t z) D(a sigma(t z), b)], E[H2(a sigma(t z), b)]).

    Li & Nguyen 2019, Theorem 1 with U = a sigma(taubar z1) + b z2, a = beta gamma_{l+1},
    b^2 = beta rho_{l+1} + sigma_v^2: rho_l = E{phi(U)^2} and gamma_l = E{z1 phi(U)} / taubar in the
    Stein form of Remark 3, gamma_l = a E{phi'(U) sigma'(taubar z1)}, which needs no division by
    taubar (exact as taubar -> 0) and has no cancellation when b >> a. (zb, wb): :func:`base_rule`,
    used when no feature asks for more break points; ``rows``: scratch for :func:`h2_rows` (the
    tables' xi length).
    """
    prep2 = smooth_prep(pc, b, metas)
    if a == 0.0:
        _, h2 = smooth_dh(pc, pp, 0.0, b, prep2, tabs, metas)
        return 0.0, h2
    if odd_relu(sc, pc):
        e_d, e_s2 = sigma_moments(sc, sp, t, xg, wg, brk)
        return odd_relu_step(pc, pp, a, b, e_d, e_s2)
    if relu_relu(sc, pc) and t > 0.0:
        return relu_relu_step(sp if sc == LEAKY else 0.0, pp if pc == LEAKY else 0.0, t, a, b)
    n = _base_breaks(brk, sc, t)
    n = _feature_breaks(brk, n, sc, sp, pc, t, a, b)
    sym = (sc == LINEAR or sc == TANH or sc == ERF or sc == HARDTANH) and (
        pc == LINEAR or pc == TANH or pc == ERF or pc == HARDTANH)
    flat = sc == RELU or (sc == LEAKY and sp == 0.0)  # sigma = 0 on z < 0: that half in closed form
    i0 = i1 = 0
    if b > 0.0:  # the nodes lie in [lo, Z_MAX], and sigma increases: m = a sigma(t z) between its ends
        m_lo = a * act_f(sc, sp, t * (0.0 if (sym or flat) else -Z_MAX))
        m_hi = a * act_f(sc, sp, t * Z_MAX)
        nodes = zb.shape[0] if n == _N_BASE else (n + 1) * xg.shape[0]
        # combining a row costs 4 reads, and saves 18 a node: worth it up to ~4.5 rows a node
        i0, i1 = h2_rows(pc, tabs, metas, prep2, min(m_lo, m_hi), max(m_lo, m_hi), rows, 4 * nodes)
    acc_g = 0.0
    acc_r = 0.0
    if n == _N_BASE:  # the precomputed rule: no exponential per node
        for sign in (1.0, -1.0):
            if sign < 0.0 and (sym or flat):
                break
            for q in range(zb.shape[0]):
                z = sign * zb[q]
                s, ds = act_fdf(sc, sp, t * z)
                d, h2 = smooth_dh_rows(pc, pp, a * s, b, prep2, tabs, metas, rows, i0, i1)
                acc_g += wb[q] * ds * d
                acc_r += wb[q] * h2
    else:
        pts = np.sort(brk[:n])
        lo = 0.0 if (sym or flat) else -Z_MAX
        ng = xg.shape[0]
        for k in range(n + 1):
            hi = pts[k] if k < n else Z_MAX
            if hi <= lo + 1e-14:
                continue
            half = 0.5 * (hi - lo)
            mid = 0.5 * (hi + lo)
            for q in range(ng):
                z = mid + half * xg[q]
                wz = half * wg[q] * _INV_SQRT2PI * math.exp(-0.5 * z * z)
                s, ds = act_fdf(sc, sp, t * z)
                d, h2 = smooth_dh_rows(pc, pp, a * s, b, prep2, tabs, metas, rows, i0, i1)
                acc_g += wz * ds * d
                acc_r += wz * h2
            lo = hi
    if sym:
        acc_g *= 2.0
        acc_r *= 2.0
    elif flat:  # sigma = sigma' = 0 on z < 0, P(z < 0) = 1/2
        _, h2 = smooth_dh(pc, pp, 0.0, b, prep2, tabs, metas)
        acc_r += 0.5 * h2
    return a * acc_g, acc_r


@njit(cache=True)
def _sigma_integrals(sc, sp, t, xg, wg, brk, lo):
    """(E[sigma'(t z); z > lo], E[sigma(t z)^2; z > lo], E[2 sigma sigma'(t z) z; z > lo]) by the composite
    rule split at sigma's break points; the third is the t-derivative of the second."""
    n = _base_breaks(brk, sc, t)
    pts = np.sort(brk[:n])
    acc_d = 0.0
    acc_s = 0.0
    acc_t = 0.0
    ng = xg.shape[0]
    for k in range(n + 1):
        hi = pts[k] if k < n else Z_MAX
        if hi <= lo + 1e-14:
            continue
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        for q in range(ng):
            z = mid + half * xg[q]
            wz = half * wg[q] * _INV_SQRT2PI * math.exp(-0.5 * z * z)
            s, ds = act_fdf(sc, sp, t * z)
            acc_d += wz * ds
            acc_s += wz * s * s
            acc_t += wz * s * ds * z
        lo = hi
    return acc_d, acc_s, 2.0 * acc_t


@njit(cache=True)
def q_moment(sc, sp, t, xg, wg, brk):
    """E sigma(t z)^2 (the forward map of Theorem 1 without the weight and bias variances)."""
    return q_moment_slope(sc, sp, t, xg, wg, brk)[0]


@njit(cache=True)
def q_moment_slope(sc, sp, t, xg, wg, brk):
    """(E sigma(t z)^2, its derivative in t = E[2 sigma sigma'(t z) z])."""
    if sc == LINEAR:
        return t * t, 2.0 * t
    if sc == RELU or sc == LEAKY:
        c = 0.5 * (1.0 + sp * sp)
        return c * t * t, 2.0 * c * t
    if sc == ERF:  # E erf(x / sqrt 2)^2 = (2 / pi) arcsin(v / (1 + v)), v = t^2
        v = t * t
        return 2.0 / math.pi * math.asin(v / (1.0 + v)), 4.0 / math.pi * t / ((1.0 + v) * math.sqrt(1.0 + 2.0 * v))
    if sc == TANH or sc == HARDTANH:  # even integrands: z >= 0, doubled
        _, e_s2, e_t = _sigma_integrals(sc, sp, t, xg, wg, brk, 0.0)
        return 2.0 * e_s2, 2.0 * e_t
    _, e_s2, e_t = _sigma_integrals(sc, sp, t, xg, wg, brk, -Z_MAX)
    return e_s2, e_t


@njit(cache=True)
def sigma_moments(sc, sp, t, xg, wg, brk):
    """(E sigma'(t z), E sigma(t z)^2) for an odd sigma (integrated on z >= 0 and doubled)."""
    if sc == LINEAR:
        return 1.0, t * t
    e_d, e_s2, _ = _sigma_integrals(sc, sp, t, xg, wg, brk, 0.0)
    return 2.0 * e_d, 2.0 * e_s2


@njit(cache=True)
def mean_slope(sc, sp, t, xg, wg, brk):
    """E sigma'(t z) (Stein: the slope at 0 of m -> E sigma(m + t z))."""
    if sc == LINEAR:
        return 1.0
    if not t > 0.0:
        return act_df(sc, sp, 0.0)
    if sc == RELU or sc == LEAKY:
        return 0.5 * (1.0 + sp)
    if sc == TANH or sc == ERF or sc == HARDTANH:  # even integrand: z >= 0, doubled
        return 2.0 * _sigma_integrals(sc, sp, t, xg, wg, brk, 0.0)[0]
    return _sigma_integrals(sc, sp, t, xg, wg, brk, -Z_MAX)[0]

