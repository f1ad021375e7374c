"""Reduced Gauss rules for the decoder's layer step (Li & Nguyen 2019, Theorem 1), compiled.

For an odd, bounded encoder activation sigma (tanh, erf) and an odd, smooth decoder activation
phi (tanh, erf), the layer step of :func:`aelab.deep._kernels.step` is

    gamma = a E[sigma'(t z) D(a sigma(t z), b)],   rho = E[H2(a sigma(t z), b)],

with D(m, b) = E phi'(m + b z2) and H2(m, b) = E phi(m + b z2)^2 both even in m. So each integrand
is a function of v = sigma(t z)^2 in [0, 1), f(v) = F(|a| sqrt(v)), and each expectation is the
integral of f against one of two measures on [0, 1) that depend on t alone:

    mu(dv): the law of v;    nu(dv): the law of v weighted by sigma'(t z).

Both measures are fixed as soon as t is (the forward recursion reaches its fixed point within a
few layers), so an N-point Gauss rule for each (Golub & Welsch 1969, from the recurrence of the
orthogonal polynomials by the Stieltjes procedure) is built once per t and serves every layer
step at that t. f is analytic on [0, 1]: F(m) is analytic in the strip |Im m| < pi / 2 (tanh's
poles; erf's F is entire), so the rule's error falls geometrically with N at a rate set by |a|
alone, and a few nodes replace the composite rule's 36 or more: N = 2 for |a| <= 0.015, 3 up to
|a| = 0.12, 7 up to 1 (:data:`NODES_FOR_A`). Beyond |a| = 2.1 the composite rule runs.

The measures are discretised by the composite Gauss-Legendre rule of
:func:`aelab.deep._kernels._base_breaks` (split at sigma's own features) on z >= 0, with the
kernel's points per piece for rules of up to :data:`COARSE_NODES` nodes and :data:`FINE_POINTS`
per piece beyond (polynomials of higher degree in v are sharper in z).
``tests/deep/test_deep_reduced.py`` holds the reduced step to the composite one and to a
high-accuracy reference over (sigma, phi, t, a, b).

The forward recursion integrates E sigma(t z)^2 at the coarse measures' own nodes, so it leaves
the rules of up to :data:`ROW_NODES` nodes of every t it visits in a row (:func:`store_row`) that
the backward recursion takes up (:func:`use_row`): sigma is evaluated once for both. The closed
form of an odd encoder with a (leaky) ReLU decoder (Prop. 10(d)) keeps its two moments of sigma
per t in the same scratch (:func:`odd_relu_cached`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from aelab._kernel_cache import guard
from aelab.deep._kernels import (_BASE_EDGES, _INV_SQRT2PI, _MAX_BREAKS, _N_BASE, ERF, ERF2_C, ERF_T, R_SERIES,
                                 TANH, TANH2_C, TANH_T, Z_MAX, _base_breaks, act_df, act_f, act_fdf, odd_relu,
                                 odd_relu_step, series_h, sigma_moments, smooth_prep, table_col)

guard("deep")  # compiled code that inlines a changed module of the group is dropped

__all__ = ["MAX_NODES", "COARSE_NODES", "FINE_POINTS", "NODES_FOR_A", "NEAR", "ROW_NODES", "ROW_SIZE", "reducible",
           "nodes_for", "scratch", "reduced_step", "rules_at", "gauss_from_recurrence", "store_row", "use_row",
           "odd_relu_cached"]

MAX_NODES = 12  #: the most nodes of a reduced rule
COARSE_NODES = 3  #: rules of up to this many nodes use the kernel's own points per piece
FINE_POINTS = 16  #: Gauss-Legendre points per piece of the measures for larger rules
NEAR = 1e-7  #: a one-node rule serves every t within this relative distance of its own (first order)
_N_PIECES_BASE = len(_BASE_EDGES) - 1  # pieces of the base rule on z >= 0
_MAX_PIECES = 64  # pieces of the measures' z-rule on z >= 0 beyond which the composite rule runs
#: NODES_FOR_A[N]: the largest |a| at which the N-point rules keep the step's relative error below
#: ~1e-12. The error of an N-point Gauss rule for f analytic inside the Bernstein ellipse E_r of
#: [0, 1] falls like r^-(2N-1) (measured: 5 to 40 r^-(2N-1) over t, b, sigma and phi); r(a) is that of
#: the largest ellipse free of f's singularities, v = ((x + i pi/2) / |a|)^2 for real x (tanh's poles),
#: and the table solves 50 r(a)^-(2N-1) = 1e-12, rounded down.
NODES_FOR_A = np.array([0.0, 4e-7, 0.015, 0.12, 0.3, 0.55, 0.75, 1.0, 1.25, 1.5, 1.7, 1.9, 2.1])
NODES_FOR_A.setflags(write=False)

# the scratch of one worker (tuple fields)
_V, _WMU, _WNU, _P0, _P1 = range(5)  # rows of the measure array
_T, _FINE, _M, _NREC_MU, _NREC_NU, _VMAX, _SC, _SP, _DWNU, _SMAX = range(10)  # entries of the state array
_MT, _MSC, _MSP, _MD, _MS2 = range(10, 15)  # and of the cached moments of sigma (:func:`odd_relu_cached`)


@njit(cache=True)
def reducible(sc, pc):
    """Does the step of encoder ``sc`` and decoder ``pc`` take reduced rules?"""
    return (sc == TANH or sc == ERF) and (pc == TANH or pc == ERF)


@njit(cache=True, inline="always")
def nodes_for(a, table):
    """The fewest nodes whose rule is accurate at |a| (``table`` = :data:`NODES_FOR_A`), or 0: none."""
    aa = abs(a)
    for n in range(1, table.shape[0]):
        if aa <= table[n]:
            return n
    return 0


@njit(cache=True)
def scratch(points):
    """Fresh scratch for :func:`reduced_step` (one per worker): measures, recurrences, rules, state.

    ``points``: the kernel's Gauss-Legendre points per piece (the coarse measures')."""
    size = _MAX_PIECES * max(points, FINE_POINTS)
    state = np.zeros(15)
    state[_T] = np.nan
    state[_SC] = -1.0
    state[_MT] = np.nan
    return (np.zeros((5, size)), np.zeros((2, 2, MAX_NODES)), np.zeros((2, 2, MAX_NODES + 1, MAX_NODES)),
            np.zeros((2, MAX_NODES + 1), dtype=np.bool_), state)


@njit(cache=True)
def _measures(sc, sp, t, xp, wp, zb, wb, brk, meas):
    """mu and nu on v = sigma(t z)^2 / vmax discretised by the composite rule on z >= 0, scaled to
    [0, 1] by the largest node vmax (so that a tiny t leaves the recurrence in range); returns
    (nodes, vmax, d/dt of nu's mass, q = E sigma(t z)^2, dq/dt), or (-1, 0, 0, 0, 0) where the rule has
    more than ``_MAX_PIECES`` pieces. (zb, wb): the base rule of (xp, wp)
    (:func:`aelab.deep._kernels.base_rule`), used where sigma adds no break."""
    n = _base_breaks(brk, sc, t)
    m = 0
    dnu = 0.0
    dq = 0.0
    if n == _N_BASE and zb.shape[0] == _N_PIECES_BASE * xp.shape[0]:  # the precomputed rule: no exponentials
        for q in range(zb.shape[0]):
            s, ds = act_fdf(sc, sp, t * zb[q])
            meas[_V, m] = s * s
            meas[_WMU, m] = 2.0 * wb[q]  # doubled: f(v) is even in z
            meas[_WNU, m] = 2.0 * wb[q] * ds
            dnu += 2.0 * wb[q] * _second(sc, t * zb[q], s, ds) * zb[q]
            dq += 4.0 * wb[q] * s * ds * zb[q]
            m += 1
    else:
        pts = np.sort(brk[:n])
        lo = 0.0
        pieces = 0
        ng = xp.shape[0]
        for k in range(n + 1):
            hi = pts[k] if k < n else Z_MAX
            if hi <= lo + 1e-14:
                continue
            pieces += 1
            if pieces > _MAX_PIECES:
                return -1, 0.0, 0.0, 0.0, 0.0
            half = 0.5 * (hi - lo)
            mid = 0.5 * (hi + lo)
            for q in range(ng):
                z = mid + half * xp[q]
                wz = 2.0 * half * wp[q] * _INV_SQRT2PI * math.exp(-0.5 * z * z)
                s, ds = act_fdf(sc, sp, t * z)
                meas[_V, m] = s * s
                meas[_WMU, m] = wz
                meas[_WNU, m] = wz * ds
                dnu += wz * _second(sc, t * z, s, ds) * z
                dq += 2.0 * wz * s * ds * z
                m += 1
            lo = hi
    vmax = 0.0
    qm = 0.0
    for q in range(m):
        vmax = max(vmax, meas[_V, q])
        qm += meas[_WMU, q] * meas[_V, q]
    if not vmax > 0.0:
        return -1, 0.0, 0.0, 0.0, 0.0
    for q in range(m):
        meas[_V, q] /= vmax
    return m, vmax, dnu, qm, dq


@njit(cache=True)
def _second(sc, x, s, ds):
    """sigma''(x) from sigma(x) = s and sigma'(x) = ds (tanh and erf(x / sqrt 2))."""
    return -2.0 * s * ds if sc == TANH else -x * ds


@njit(cache=True)
def _recurrence(v, w, m, n, p0, p1, alpha, beta):
    """The first n recurrence coefficients of the monic orthogonal polynomials of the discrete
    measure sum_q w_q delta(v_q) (Stieltjes procedure; Gautschi 2004, Sec. 2.2.3.1);
    beta[0] = the total mass. False if the measure has fewer than n points of support."""
    for q in range(m):
        p0[q] = 0.0
        p1[q] = 1.0
    prev = 1.0
    for k in range(n):
        s0 = 0.0
        s1 = 0.0
        for q in range(m):
            pw = w[q] * p1[q] * p1[q]
            s0 += pw
            s1 += pw * v[q]
        if not s0 > 0.0 or not math.isfinite(s0):
            return False
        alpha[k] = s1 / s0
        beta[k] = s0 if k == 0 else s0 / prev
        prev = s0
        if k + 1 < n:
            bk = beta[k] if k > 0 else 0.0
            ak = alpha[k]
            for q in range(m):
                pn = (v[q] - ak) * p1[q] - bk * p0[q]
                p0[q] = p1[q]
                p1[q] = pn
    return True


@njit(cache=True)
def gauss_from_recurrence(alpha, beta, n, nodes, weights):
    """The n-point Gauss rule of a measure from its recurrence coefficients (Golub & Welsch 1969).

    The nodes are the eigenvalues of the Jacobi matrix (diagonal alpha, off-diagonal sqrt(beta[1:]));
    the weights beta[0] times the squared first components of its unit eigenvectors. Implicit QL
    with Wilkinson shifts on the tridiagonal matrix, rotating only the eigenvectors' first row.
    """
    d = nodes
    e = np.zeros(n)
    z = np.zeros(n)
    for i in range(n):
        d[i] = alpha[i]
        if i + 1 < n:
            e[i] = math.sqrt(beta[i + 1])
    z[0] = 1.0
    for l in range(n):
        for _ in range(60):
            m = l
            while m < n - 1:
                dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) + dd == dd:
                    break
                m += 1
            if m == l:
                break
            g = (d[l + 1] - d[l]) / (2.0 * e[l])
            r = math.hypot(g, 1.0)
            g = d[m] - d[l] + e[l] / (g + (r if g >= 0.0 else -r))
            s = 1.0
            c = 1.0
            p = 0.0
            i = m - 1
            underflow = False
            while i >= l:
                f = s * e[i]
                bb = c * e[i]
                r = math.hypot(f, g)
                e[i + 1] = r
                if r == 0.0:
                    d[i + 1] -= p
                    e[m] = 0.0
                    underflow = True
                    break
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2.0 * c * bb
                p = s * r
                d[i + 1] = g + p
                g = c * r - bb
                zf = z[i + 1]
                z[i + 1] = s * z[i] + c * zf
                z[i] = c * z[i] - s * zf
                i -= 1
            if underflow:
                continue
            d[l] -= p
            e[l] = g
            e[m] = 0.0
    for i in range(n):
        weights[i] = beta[0] * z[i] * z[i]


@njit(cache=True, inline="always")
def _rule(which, n, meas, rec, rules, ready, state):
    """Make the n-point rule of measure ``which`` (0: mu, 1: nu) ready; False if it cannot be built."""
    if ready[which, n]:
        return True
    slot = _NREC_MU + which
    if state[slot] < n:  # the recurrence up to n (its first k coefficients serve every k-point rule)
        m = int(state[_M])
        if m < 0 or not _recurrence(meas[_V], meas[_WMU + which], m, n, meas[_P0], meas[_P1], rec[which, 0],
                                    rec[which, 1]):
            return False
        state[slot] = n
    gauss_from_recurrence(rec[which, 0], rec[which, 1], n, rules[which, 0, n], rules[which, 1, n])
    ready[which, n] = True
    return True


@njit(cache=True, inline="always")
def reduced_step(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, xf, wf, zb, wb, brk, rs):
    """The layer step (gamma, rho) by reduced Gauss rules: (True, gamma, rho), or (False, 0, 0)
    where they do not apply (the caller then runs the composite rule).

    ``xg, wg``: the kernel's Gauss-Legendre rule per piece and ``zb, wb`` its base rule; ``xf, wf``: the
    fine one (:data:`FINE_POINTS`); ``rs``: :func:`scratch` of this worker, which caches the rules at
    the last t.
    """
    if not reducible(sc, pc) or not (t > 0.0 and math.isfinite(t)):
        return False, 0.0, 0.0
    meas, rec, rules, ready, state = rs
    same = state[_SC] == sc and state[_SP] == sp
    close = same and abs(t - state[_T]) <= NEAR * state[_T]
    smax = state[_SMAX] if close else act_f(sc, sp, t * Z_MAX)  # NEAR moves it by < 1e-7 relative
    n = nodes_for(a * smax, NODES_FOR_A)  # |m| = |a sigma(t z)| <= |a| sigma(t Z_MAX)
    if n == 0:
        return False, 0.0, 0.0
    fine = n > COARSE_NODES
    # one node near the cached t: nu's mass to first order in t - t0; the node's own shift moves the
    # step by ~(a sigma)^2 |v - v0| < 1e-12 relative, for one node serves only |a sigma| <= 4e-7
    near = n == 1 and close and (state[_M] >= 0 or state[_NREC_MU] >= 1)
    held = state[_M] >= 0 or n <= state[_NREC_MU]  # a stored row (:func:`load_row`) has no measure
    if not (near or (same and state[_T] == t and (state[_FINE] != 0.0 or not fine) and held)):
        m, vmax, dnu, _, _ = _measures(sc, sp, t, xf if fine else xg, wf if fine else wg, zb, wb, brk, meas)
        state[_T] = np.nan
        if m < 0:
            return False, 0.0, 0.0
        state[_T] = t
        state[_SC] = sc
        state[_SP] = sp
        state[_FINE] = 1.0 if fine else 0.0
        state[_M] = m
        state[_VMAX] = vmax
        state[_DWNU] = dnu
        state[_SMAX] = smax
        state[_NREC_MU] = 0.0
        state[_NREC_NU] = 0.0
        ready[:, :] = False
    if not (_rule(0, n, meas, rec, rules, ready, state) and _rule(1, n, meas, rec, rules, ready, state)):
        return False, 0.0, 0.0
    prep = smooth_prep(pc, b, metas)[0]
    aa = abs(a) * math.sqrt(state[_VMAX])
    if n == 1:
        w_nu = rules[1, 1, 1, 0] + state[_DWNU] * (t - state[_T])
        d = _slope(pc, pp, aa * math.sqrt(max(rules[1, 0, 1, 0], 0.0)), b, prep, tabs, metas)
        h2 = _square(pc, pp, aa * math.sqrt(max(rules[0, 0, 1, 0], 0.0)), b, prep, tabs, metas)
        return True, a * w_nu * d, rules[0, 1, 1, 0] * h2
    acc_g = 0.0
    acc_r = 0.0
    for j in range(n):
        acc_r += rules[0, 1, n, j] * _square(pc, pp, aa * math.sqrt(max(rules[0, 0, n, j], 0.0)), b, prep, tabs, metas)
        acc_g += rules[1, 1, n, j] * _slope(pc, pp, aa * math.sqrt(max(rules[1, 0, n, j], 0.0)), b, prep, tabs, metas)
    return True, a * acc_g, acc_r


@njit(cache=True, inline="always")
def _square(pc, pp, m, b, prep, tabs, metas):
    """H2(m, b) = E phi(m + b z)^2 for phi = tanh or erf: :func:`aelab.deep._kernels.smooth_dh_rows`'s
    second value, without its dispatch (``prep``: the table preparation of b)."""
    if b <= 0.0:
        f = act_f(pc, pp, m)
        return f * f
    if abs(m) + 7.0 * b <= R_SERIES:
        return series_h(TANH2_C if pc == TANH else ERF2_C, m, b)
    return table_col(tabs, metas, TANH_T if pc == TANH else ERF_T, 1, m, prep)


@njit(cache=True, inline="always")
def _slope(pc, pp, m, b, prep, tabs, metas):
    """D(m, b) = E phi'(m + b z) for phi = tanh or erf: :func:`aelab.deep._kernels.smooth_dh_rows`'s
    first value, without its dispatch."""
    if b <= 0.0:
        return act_df(pc, pp, m)
    if pc == TANH:
        return 1.0 - _square(pc, pp, m, b, prep, tabs, metas)
    v = 1.0 + b * b
    return math.sqrt(2.0 / (math.pi * v)) * math.exp(-0.5 * m * m / v)


@njit(cache=True)
def rules_at(sc, sp, t, n, xp, wp):
    """The n-point Gauss rules of mu and nu at t: (nodes in v, weights) of each, the measures
    discretised with (xp, wp) per piece; for tests and inspection."""
    meas = np.zeros((5, _MAX_PIECES * xp.shape[0]))
    brk = np.empty(_MAX_BREAKS)
    m, vmax, _, _, _ = _measures(sc, sp, t, xp, wp, xp[:0], wp[:0], brk, meas)
    out = np.full((2, 2, n), np.nan)
    if m < 0:
        return out
    alpha = np.zeros(n)
    beta = np.zeros(n)
    for which in range(2):
        if _recurrence(meas[_V], meas[_WMU + which], m, n, meas[_P0], meas[_P1], alpha, beta):
            gauss_from_recurrence(alpha, beta, n, out[which, 0], out[which, 1])
            for j in range(n):
                out[which, 0, j] *= vmax
    return out


# --- rows stored by the forward recursion -------------------------------------------------------
#: A row holds the coarse rules of up to ROW_NODES nodes at one t, as the forward recursion's
#: integral of E sigma(t z)^2 leaves them (the same nodes): t, vmax, d/dt of nu's mass, sigma(t
#: Z_MAX), and the recurrence coefficients (alpha_0, beta_0, alpha_1, beta_1) of mu, then of nu.
ROW_NODES = 2
ROW_SIZE = 4 + 4 * ROW_NODES


@njit(cache=True)
def store_row(sc, sp, t, xg, wg, zb, wb, brk, rs, row):
    """Integrate E sigma(t z)^2 on the coarse measures at t and keep their rules in ``row``.

    Returns (True, q, dq/dt), or (False, 0, 0) where sigma has no reduced rules or the measures
    cannot be built (the row is then marked empty, t = NaN). Uses ``rs``'s measure arrays and
    invalidates its cache."""
    row[0] = np.nan
    if not (sc == TANH or sc == ERF) or not (t > 0.0 and math.isfinite(t)):
        return False, 0.0, 0.0
    meas, rec, _, _, state = rs
    state[_T] = np.nan
    m, vmax, dnu, q, dq = _measures(sc, sp, t, xg, wg, zb, wb, brk, meas)
    if m < 0:
        return False, 0.0, 0.0
    for which in range(2):
        if not _recurrence(meas[_V], meas[_WMU + which], m, ROW_NODES, meas[_P0], meas[_P1], rec[which, 0],
                           rec[which, 1]):
            return False, 0.0, 0.0
        for k in range(ROW_NODES):
            row[4 + 2 * ROW_NODES * which + 2 * k] = rec[which, 0, k]
            row[5 + 2 * ROW_NODES * which + 2 * k] = rec[which, 1, k]
    row[0] = t
    row[1] = vmax
    row[2] = dnu
    row[3] = act_f(sc, sp, t * Z_MAX)
    return True, q, dq


@njit(cache=True)
def use_row(sc, sp, row, t, rs):
    """Where ``row`` was stored at t and ``rs`` holds no rules at t, make the row's rules its cache."""
    _, rec, _, ready, state = rs
    if not row[0] == t or (state[_T] == t and state[_SC] == sc and state[_SP] == sp):
        return
    for which in range(2):
        for k in range(ROW_NODES):
            rec[which, 0, k] = row[4 + 2 * ROW_NODES * which + 2 * k]
            rec[which, 1, k] = row[5 + 2 * ROW_NODES * which + 2 * k]
    state[_T] = t
    state[_SC] = sc
    state[_SP] = sp
    state[_FINE] = 0.0
    state[_M] = -1.0
    state[_VMAX] = row[1]
    state[_DWNU] = row[2]
    state[_SMAX] = row[3]
    state[_NREC_MU] = ROW_NODES
    state[_NREC_NU] = ROW_NODES
    ready[:, :] = False


@njit(cache=True)
def odd_relu_cached(sc, sp, pc, pp, t, a, b, xg, wg, brk, rs):
    """The step of an odd sigma with a (leaky) ReLU decoder (:func:`aelab.deep._kernels.odd_relu_step`),
    its two moments of sigma kept for the next step at the same t: (True, gamma, rho), or
    (False, 0, 0) for other activations."""
    if not odd_relu(sc, pc) or a == 0.0:
        return False, 0.0, 0.0
    state = rs[4]
    if not (state[_MT] == t and state[_MSC] == sc and state[_MSP] == sp):
        state[_MD], state[_MS2] = sigma_moments(sc, sp, t, xg, wg, brk)
        state[_MT] = t
        state[_MSC] = sc
        state[_MSP] = sp
    g, r = odd_relu_step(pc, pp, a, b, state[_MD], state[_MS2])
    return True, g, r

