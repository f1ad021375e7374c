"""The depth recursions of Theorem 1 (Li & Nguyen 2019) in compiled code, over many settings.

Each recursion is written once for one setting (``*_one``) and once for a share of the settings
(``*_cells``: g = c, c + C, c + 2C, ..., with its own scratch: the rule's break points, the reduced
rules of :mod:`aelab.deep._reduced`). The serial driver runs one share of all settings (few
settings: a parallel launch costs milliseconds), the parallel one many interleaved shares, so that
the cells of a grid whose recursions are cheap or dear spread evenly over the cores. A share is a
function of its own rather than the body of the parallel loop: numba compiles a loop body that
holds the whole recursion into code several times slower (4-8x measured for the ReLU step). The
drivers are separate functions so that numba's on-disk cache keeps both.

A recursion that converges geometrically spends most of its layers near its fixed point: where
taubar is within :data:`NEAR` of the last one integrated at, the forward recursion takes the moment
to first order in the difference (and so does a reduced rule of one node), and where a layer
repeats its inputs bit for bit, its outputs are reused."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from aelab._kernel_cache import guard
from aelab.deep._kernels import _MAX_BREAKS, BIG, LINEAR, TANH, mean_slope, q_moment, q_moment_slope, step
from aelab.deep._reduced import ROW_SIZE, odd_relu_cached, reduced_step, scratch, store_row, use_row

guard("deep")  # compiled code that inlines a changed module of the group is dropped

__all__ = ["forward", "forward_parallel", "backward", "backward_parallel", "evolve", "evolve_parallel", "maps",
           "maps_parallel", "moments", "moments_parallel"]

#: A layer whose taubar is within this relative distance of the anchor, the last taubar where a
#: moment was integrated, takes it to first order in the difference (relative error ~NEAR^2 / 2):
#: the tail of a recursion that converges geometrically costs no integrals.
NEAR = 1e-7
_SHARES = 256  # interleaved shares of the settings: many per thread, each with its own scratch


@njit(cache=True, inline="always")
def _at(x, g, j):
    """x[g, j] of a per-layer parameter, or x[g, 0] where x has one column (the same in every layer)."""
    return x[g, j if x.shape[1] > 1 else 0]


@njit(cache=True)
def _shares(n):
    return max(1, min(n, _SHARES))


@njit(cache=True)
def _forward_one(g, t0sq, sw, sb, enc_code, enc_p, xg, wg, zb, wb, tsq, inf_layer, brk, rs, store):
    """The forward recursion of setting g. Where ``store`` has rows (one per layer), the integral at
    taubar_l also leaves the reduced rules of that t in row l (:func:`aelab.deep._reduced.store_row`)."""
    L = enc_code.shape[0]
    tsq[g, 0] = t0sq[g]
    tsq[g, 1] = _at(sw, g, 0) * t0sq[g] + _at(sb, g, 0)
    for r in range(store.shape[0]):
        store[r, 0] = np.nan
    q = 0.0
    ta = qa = dq = np.nan  # the anchor: q = qa at taubar = ta, and its slope dq
    for l in range(2, L + 1):
        code, p = enc_code[l - 1], enc_p[l - 1]
        if l > 2 and (code != enc_code[l - 2] or p != enc_p[l - 2]):
            ta = np.nan
        if not (l > 2 and tsq[g, l - 1] == tsq[g, l - 2] and ta == ta):  # a converged recursion: reuse
            t = math.sqrt(tsq[g, l - 1])
            if abs(t - ta) <= NEAR * ta:  # first order about the anchor: relative error ~NEAR^2
                q = qa + dq * (t - ta)
            else:
                stored = False
                if store.shape[0] > 0:
                    stored, qs, dqs = store_row(code, p, t, xg, wg, zb, wb, brk, rs, store[l - 1])
                if stored and code == TANH:  # the same integral (erf's is in closed form)
                    qa, dq = qs, dqs
                else:
                    qa, dq = q_moment_slope(code, p, t, xg, wg, brk)
                ta = t
                q = qa
        tsq[g, l] = _at(sw, g, l - 1) * q + _at(sb, g, l - 1)
        if not tsq[g, l] < BIG * BIG:
            inf_layer[g] = l
            for k in range(l, L + 1):
                tsq[g, k] = np.inf
            break


@njit(cache=True)
def _forward_cells(c, C, t0sq, sw, sb, enc_code, enc_p, xg, wg, tsq, inf_layer):
    """Settings c, c + C, c + 2C, ... (one share) of :func:`forward`, with their own scratch."""
    brk = np.empty(_MAX_BREAKS)
    rs = scratch(xg.shape[0])
    store = np.empty((0, ROW_SIZE))
    for g in range(c, sw.shape[0], C):
        _forward_one(g, t0sq, sw, sb, enc_code, enc_p, xg, wg, xg[:0], wg[:0], tsq, inf_layer, brk, rs, store)


@njit(cache=True)
def forward(t0sq, sw, sb, enc_code, enc_p, xg, wg, tsq, inf_layer):
    """taubar_l^2 for l = 0..L (Theorem 1, forward part) for G settings.

    sw[g, l-1], sb[g, l-1]: sigma_{W,l}^2, sigma_{b,l}^2, or one column for all layers (L is the
    length of the codes). tsq[g, l] receives taubar_l^2; inf_layer[g] the first layer that
    overflowed (0: none).
    """
    _forward_cells(0, 1, t0sq, sw, sb, enc_code, enc_p, xg, wg, tsq, inf_layer)


@njit(cache=True, parallel=True)
def forward_parallel(t0sq, sw, sb, enc_code, enc_p, xg, wg, tsq, inf_layer):
    """:func:`forward` with the settings in parallel."""
    C = _shares(sw.shape[0])
    for c in prange(C):
        _forward_cells(c, C, t0sq, sw, sb, enc_code, enc_p, xg, wg, tsq, inf_layer)


@njit(cache=True, inline="always")
def _layer(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, xf, wf, zb, wb, brk, rows, rs):
    """One decoder layer: the reduced rules or the cached closed form where they apply, else the composite rule."""
    ok, gi, ri = reduced_step(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, xf, wf, zb, wb, brk, rs)
    if ok:
        return gi, ri
    ok, gi, ri = odd_relu_cached(sc, sp, pc, pp, t, a, b, xg, wg, brk, rs)
    if ok:
        return gi, ri
    return step(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, brk, zb, wb, rows)


@njit(cache=True)
def _backward_one(g, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                  rho0, gam, rho, inf_layer, brk, rows, rs, store):
    """The backward recursion of setting g; ``store``: the rows its forward recursion left (or none)."""
    L = enc_code.shape[0]
    if inf_layer[g] != 0:
        for l in range(2, L + 2):
            gam[g, l] = np.nan
            rho[g, l] = np.nan
        return
    if np.isnan(gam0[g]):
        gi, ri = step(LINEAR, 0.0, dec_code[L], dec_p[L], tbar[g, L], 1.0, 0.0, tabs, metas, xg, wg, brk, zb, wb,
                      rows)
    else:
        gi, ri = gam0[g], rho0[g]
    gam[g, L + 1] = gi
    rho[g, L + 1] = ri
    pa = pb = pt = np.nan
    for l in range(L, 1, -1):
        bl = _at(beta, g, l - 1)
        a = bl * gam[g, l + 1]
        b = math.sqrt(max(bl * rho[g, l + 1] + _at(sv, g, l - 1), 0.0))
        t = tbar[g, l - 1]
        same = (l < L and a == pa and b == pb and t == pt and enc_code[l - 1] == enc_code[l]
                and dec_code[l - 1] == dec_code[l] and enc_p[l - 1] == enc_p[l] and dec_p[l - 1] == dec_p[l])
        if not same:  # a converged recursion repeats bit-identical inputs: reuse the step
            if store.shape[0] > 0:
                use_row(enc_code[l - 1], enc_p[l - 1], store[l - 1], t, rs)
            gi, ri = _layer(enc_code[l - 1], enc_p[l - 1], dec_code[l - 1], dec_p[l - 1], t, a, b, tabs, metas,
                            xg, wg, xf, wf, zb, wb, brk, rows, rs)
        pa, pb, pt = a, b, t
        if not (abs(gi) < BIG and ri < BIG * BIG):
            inf_layer[g] = l
            for k in range(2, l + 1):
                gam[g, k] = np.nan
                rho[g, k] = np.nan
            return
        gam[g, l] = gi
        rho[g, l] = ri


@njit(cache=True)
def _backward_cells(c, C, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                    rho0, gam, rho, inf_layer):
    """Settings c, c + C, c + 2C, ... (one share) of :func:`backward`, with their own scratch."""
    brk = np.empty(_MAX_BREAKS)
    rows = np.empty(tabs.shape[2])  # scratch of the steps' table lookups
    rs = scratch(xg.shape[0])
    store = np.empty((0, ROW_SIZE))
    for g in range(c, beta.shape[0], C):
        _backward_one(g, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                      rho0, gam, rho, inf_layer, brk, rows, rs, store)


@njit(cache=True)
def backward(tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0, rho0, gam,
             rho, inf_layer):
    """gamma_l, rho_l for l = L+1 down to 2 (Theorem 1, backward part) for G settings.

    tbar[g, l] = taubar_l (l = 0..L), beta[g, l-1] = alpha_l sigma_{W,l}^2, sv[g, l-1] = sigma_{v,l}^2
    (or one column for all layers).
    gam[g, l], rho[g, l] receive gamma_l, rho_l (columns 0 and 1 are unused); inf_layer[g] the
    layer where the scalars overflowed (0: none); settings with inf_layer set on entry are skipped.
    gam0[g], rho0[g]: the initial values gamma_{L+1}, rho_{L+1}, or NaN for those of phi_L.
    (xg, wg), (xf, wf): the Gauss-Legendre rules per piece of the composite rule and of the
    reduced rules' fine measures; (zb, wb): the base composite rule.
    """
    _backward_cells(0, 1, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                    rho0, gam, rho, inf_layer)


@njit(cache=True, parallel=True)
def backward_parallel(tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                      rho0, gam, rho, inf_layer):
    """:func:`backward` with the settings in parallel."""
    C = _shares(beta.shape[0])
    for c in prange(C):
        _backward_cells(c, C, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                        gam0, rho0, gam, rho, inf_layer)


@njit(cache=True)
def _evolve_one(g, t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                gam0, rho0, tsq, tbar, gam, rho, inf_layer, brk, rows, rs, store):
    _forward_one(g, t0sq, sw, sb, enc_code, enc_p, xg, wg, zb, wb, tsq, inf_layer, brk, rs, store)
    for l in range(tsq.shape[1]):
        tbar[g, l] = math.sqrt(tsq[g, l])
    _backward_one(g, tbar, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0,
                  rho0, gam, rho, inf_layer, brk, rows, rs, store)


@njit(cache=True)
def _evolve_cells(c, C, t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                  gam0, rho0, tsq, tbar, gam, rho, inf_layer):
    """Settings c, c + C, c + 2C, ... (one share) of :func:`evolve`, with their own scratch."""
    brk = np.empty(_MAX_BREAKS)
    rows = np.empty(tabs.shape[2])
    rs = scratch(xg.shape[0])
    store = np.empty((tsq.shape[1], ROW_SIZE))
    for g in range(c, sw.shape[0], C):
        _evolve_one(g, t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                    gam0, rho0, tsq, tbar, gam, rho, inf_layer, brk, rows, rs, store)


@njit(cache=True)
def evolve(t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb, gam0, rho0,
           tsq, tbar, gam, rho, inf_layer):
    """Theorem 1 whole, setting by setting: :func:`forward` then :func:`backward`, the forward
    recursion leaving the reduced rules of the t it integrates at for the backward one (one
    evaluation of sigma serves both). Arguments as theirs; tbar receives taubar_l."""
    _evolve_cells(0, 1, t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                  gam0, rho0, tsq, tbar, gam, rho, inf_layer)


@njit(cache=True, parallel=True)
def evolve_parallel(t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb, wb,
                    gam0, rho0, tsq, tbar, gam, rho, inf_layer):
    """:func:`evolve` with the settings in parallel."""
    C = _shares(sw.shape[0])
    for c in prange(C):
        _evolve_cells(c, C, t0sq, sw, sb, beta, sv, enc_code, enc_p, dec_code, dec_p, tabs, metas, xg, wg, xf, wf, zb,
                      wb, gam0, rho0, tsq, tbar, gam, rho, inf_layer)


@njit(cache=True)
def _maps_cells(c, C, sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, zb, wb, out_g, out_r):
    brk = np.empty(_MAX_BREAKS)
    rows = np.empty(tabs.shape[2])
    for k in range(c, t.shape[0], C):
        out_g[k], out_r[k] = step(sc, sp, pc, pp, t[k], a[k], b[k], tabs, metas, xg, wg, brk, zb, wb, rows)


@njit(cache=True)
def maps(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, zb, wb, out_g, out_r):
    """The layer step at many points (t[k], a[k], b[k]): the maps G and R of Sec. 3.1 when
    a = beta gamma, b = sqrt(beta rho). Composite rules throughout (each point its own t)."""
    _maps_cells(0, 1, sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, zb, wb, out_g, out_r)


@njit(cache=True, parallel=True)
def maps_parallel(sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, zb, wb, out_g, out_r):
    """:func:`maps` in parallel."""
    C = _shares(t.shape[0])
    for c in prange(C):
        _maps_cells(c, C, sc, sp, pc, pp, t, a, b, tabs, metas, xg, wg, zb, wb, out_g, out_r)


@njit(cache=True)
def _moments_cells(c, C, which, sc, sp, t, xg, wg, out):
    brk = np.empty(_MAX_BREAKS)
    for k in range(c, t.shape[0], C):
        out[k] = q_moment(sc, sp, t[k], xg, wg, brk) if which == 0 else mean_slope(sc, sp, t[k], xg, wg, brk)


@njit(cache=True)
def moments(which, sc, sp, t, xg, wg, out):
    """E sigma(t[k] z)^2 (which = 0) or E sigma'(t[k] z) (which = 1) at many points."""
    _moments_cells(0, 1, which, sc, sp, t, xg, wg, out)


@njit(cache=True, parallel=True)
def moments_parallel(which, sc, sp, t, xg, wg, out):
    """:func:`moments` in parallel."""
    C = _shares(t.shape[0])
    for c in prange(C):
        _moments_cells(c, C, which, sc, sp, t, xg, wg, out)
