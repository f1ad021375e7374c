"""Dispatch of the state-evolution computations: compiled kernels for registry activations,
the NumPy reference (:mod:`aelab.deep.reference`) for any other activation.

Every function is vectorised over settings (leading axis G). ``method`` is ``"auto"`` (kernels
where every activation has one), ``"kernel"`` or ``"reference"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from aelab.activations import Activation, get_activation
from aelab.compiled_activations import compiled_code
from aelab.deep import _kernels as K
from aelab.deep import _recursions as R
from aelab.deep._reduced import FINE_POINTS
from aelab.deep import reference
from aelab.deep.smoothing import packed_tables
from aelab.errors import ConfigError
from aelab.gaussian import legendre_rule

__all__ = ["kernel_code", "forward", "backward", "evolve", "layer_maps", "q_moments", "mean_slopes", "METHODS"]

METHODS = ("auto", "kernel", "reference")
N_LEGENDRE = 8  # Gauss-Legendre points per piece of the compiled outer rule (relative error ~1e-11)
N_FAST = 6  # a cheaper rule for pictures (phase diagrams): relative error ~1e-8


def kernel_code(act: Activation | str) -> tuple[int, float] | None:
    """(code, parameter) of the compiled implementation of ``act`` (self-checked), or None."""
    return compiled_code(get_activation(act))


def _codes(acts: Sequence[Activation]) -> tuple[np.ndarray, np.ndarray] | None:
    out = [compiled_code(a) for a in acts]
    if any(o is None for o in out):
        return None
    return np.array([o[0] for o in out], dtype=np.int64), np.array([o[1] for o in out], dtype=float)


def _use_kernel(method: str, acts: Sequence[Activation]) -> tuple[np.ndarray, np.ndarray] | None:
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if method == "reference":
        return None
    codes = _codes(acts)
    if codes is None and method == "kernel":
        names = ", ".join(a.name for a in acts if compiled_code(a) is None)
        raise ConfigError(f"method: no compiled kernel for activation(s) {names}; use method='reference'")
    return codes


def _tables(dec_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    need = set(int(c) for c in dec_codes)
    kinds = set()
    if need & {K.TANH, K.SIGMOID, K.SOFTPLUS}:
        kinds.add("tanh")
    if K.ERF in need:
        kinds.add("erf")
    if K.SOFTPLUS in need:
        kinds.add("softplus")
    return packed_tables(frozenset(kinds))


@lru_cache(maxsize=8)
def _rule(points: int | None = None):
    """Gauss-Legendre nodes and weights per piece, and the base composite rule built from them."""
    x, w = legendre_rule(points or N_LEGENDRE)
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    zb, wb = K.base_rule(x, w)
    for arr in (x, w, zb, wb):
        arr.setflags(write=False)
    return x, w, zb, wb


def _c(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=float)


def _starts(G: int, init: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """(gamma_{L+1}, rho_{L+1}) to start the backward recursion from: ``init``, or NaN (those of phi_L)."""
    if init is None:
        return np.full(G, np.nan), np.full(G, np.nan)
    return _c(np.broadcast_to(init[0], (G,))), _c(np.broadcast_to(init[1], (G,)))


def _per_layer(L: int, *xs) -> list[np.ndarray]:
    """Per-layer parameters as contiguous (G, L) arrays, or (G, 1) for the same value in every layer."""
    out = [_c(x) for x in xs]
    for x in out:
        if x.ndim != 2 or x.shape[1] not in (1, L):
            raise ValueError(f"per-layer parameters need shape (G, {L}) or (G, 1), got {x.shape}")
    return out


PARALLEL_MIN_STEPS = 50_000  # layer steps from which the parallel kernels pay for their launch


def _k(name: str, n: int, steps_each: int = 1):
    return getattr(R, f"{name}_parallel" if n * steps_each >= PARALLEL_MIN_STEPS else name)


def forward(t0sq, sw, sb, encoder: Sequence[Activation], *, method: str = "auto",
            points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """taubar_l^2 (l = 0..L) for G settings: Theorem 1's forward recursion.

    Args:
        t0sq: (G,) input variances taubar_0^2.
        sw, sb: (G, L) sigma_{W,l}^2 and sigma_{b,l}^2 (column l-1 is layer l), or (G, 1): the same
            in every layer.
        encoder: (sigma_0, ..., sigma_{L-1}).

    Returns:
        tsq (G, L+1), and inf_layer (G,): the first layer whose variance overflowed (0: none).
    """
    L = len(encoder)
    sw, sb = _per_layer(L, sw, sb)
    G = sw.shape[0]
    t0sq = _c(np.broadcast_to(t0sq, (G,)))
    tsq = np.empty((G, L + 1))
    inf = np.zeros(G, dtype=np.int64)
    codes = _use_kernel(method, encoder)
    if codes is not None:
        xg, wg, _, _ = _rule(points)
        _k("forward", G, L)(t0sq, sw, sb, codes[0], codes[1], xg, wg, tsq, inf)
        return tsq, inf
    sw, sb = np.broadcast_to(sw, (G, L)), np.broadcast_to(sb, (G, L))
    tsq[:, 0] = t0sq
    tsq[:, 1] = sw[:, 0] * t0sq + sb[:, 0]
    for l in range(2, L + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            prev = tsq[:, l - 1]
            ok = np.isfinite(prev)
            q = np.full(G, np.inf)
            if ok.any():
                q[ok] = reference.q_moment(encoder[l - 1], np.sqrt(prev[ok]))
            tsq[:, l] = sw[:, l - 1] * q + sb[:, l - 1]
        bad = (inf == 0) & ~(tsq[:, l] < K.BIG * K.BIG)
        inf[bad] = l
        tsq[inf > 0, l] = np.inf
    return tsq, inf


def backward(tbar, beta, sv, encoder: Sequence[Activation], decoder: Sequence[Activation], inf_layer=None,
             *, init: tuple | None = None, method: str = "auto",
             points: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gamma_l, rho_l (l = L+1 down to 2) for G settings: Theorem 1's backward recursion.

    Args:
        tbar: (G, L+1) taubar_l (not squared), l = 0..L.
        beta, sv: (G, L) alpha_l sigma_{W,l}^2 and sigma_{v,l}^2, or (G, 1): the same in every layer.
        encoder: (sigma_0, ..., sigma_{L-1}); decoder: (phi_0, ..., phi_L).
        inf_layer: (G,) forward overflow layers (settings with a non-zero entry are skipped).
        init: (gamma_{L+1}, rho_{L+1}) arrays of shape (G,) to start from (NaN entries, or None:
            those of the bottleneck phi_L at taubar_L).

    Returns:
        gamma, rho of shape (G, L+2) (column l holds layer l; columns 0, 1 are NaN), and inf_layer.
    """
    L = len(encoder)
    beta, sv = _per_layer(L, beta, sv)
    tbar = _c(tbar)
    G = beta.shape[0]
    inf = np.zeros(G, dtype=np.int64) if inf_layer is None else np.array(inf_layer, dtype=np.int64)
    gam = np.full((G, L + 2), np.nan)
    rho = np.full((G, L + 2), np.nan)
    g0, r0 = _starts(G, init)
    enc = _use_kernel(method, encoder)
    dec = _use_kernel(method, decoder)
    if enc is not None and dec is not None:
        xg, wg, zb, wb = _rule(points)
        xf, wf, _, _ = _rule(FINE_POINTS)
        _k("backward", G, L)(tbar, beta, sv, enc[0], enc[1], dec[0], dec[1], *_tables(dec[0]), xg, wg, xf, wf, zb, wb,
                              g0, r0, gam, rho, inf)
        return gam, rho, inf
    beta, sv = np.broadcast_to(beta, (G, L)), np.broadcast_to(sv, (G, L))
    linear = get_activation("linear")
    live = inf == 0
    with np.errstate(over="ignore", invalid="ignore"):
        if live.any():
            g, r = reference.step(linear, decoder[L], tbar[live, L], 1.0, 0.0)
            given = ~np.isnan(g0[live])
            gam[live, L + 1] = np.where(given, g0[live], g)
            rho[live, L + 1] = np.where(given, r0[live], r)
        for l in range(L, 1, -1):
            live = inf == 0
            if not live.any():
                break
            bl = beta[live, l - 1]
            a = bl * gam[live, l + 1]
            b = np.sqrt(np.maximum(bl * rho[live, l + 1] + sv[live, l - 1], 0.0))
            g, r = reference.step(encoder[l - 1], decoder[l - 1], tbar[live, l - 1], a, b)
            gam[live, l], rho[live, l] = g, r
            bad = live & ~((np.abs(gam[:, l]) < K.BIG) & (rho[:, l] < K.BIG * K.BIG))
            inf[bad] = l
            gam[bad, :l + 1] = np.nan
            rho[bad, :l + 1] = np.nan
    return gam, rho, inf


def evolve(t0sq, sw, sb, beta, sv, encoder: Sequence[Activation], decoder: Sequence[Activation], *,
           init: tuple | None = None, method: str = "auto", points: int | None = None):
    """Theorem 1 whole: :func:`forward`, then :func:`backward` from its taubar (one compiled pass per
    setting, where the forward recursion's integrals leave the backward one its reduced rules).

    Arguments as those of :func:`forward` and :func:`backward`. Returns tsq (G, L+1), gamma and rho
    (G, L+2), and inf_layer (G,): the forward overflow layer, else the backward one (0: none).
    """
    enc = _use_kernel(method, encoder)
    dec = _use_kernel(method, decoder)
    if enc is None or dec is None:
        tsq, inf = forward(t0sq, sw, sb, encoder, method=method, points=points)
        with np.errstate(over="ignore", invalid="ignore"):
            tbar = np.sqrt(tsq)
        gam, rho, inf = backward(tbar, beta, sv, encoder, decoder, inf, init=init, method=method, points=points)
        return tsq, gam, rho, inf
    L = len(encoder)
    sw, sb, beta, sv = _per_layer(L, sw, sb, beta, sv)
    G = sw.shape[0]
    t0sq = _c(np.broadcast_to(t0sq, (G,)))
    tsq = np.empty((G, L + 1))
    tbar = np.empty((G, L + 1))
    inf = np.zeros(G, dtype=np.int64)
    gam = np.full((G, L + 2), np.nan)
    rho = np.full((G, L + 2), np.nan)
    g0, r0 = _starts(G, init)
    xg, wg, zb, wb = _rule(points)
    xf, wf, _, _ = _rule(FINE_POINTS)
    with np.errstate(over="ignore", invalid="ignore"):
        _k("evolve", G, L)(t0sq, sw, sb, beta, sv, enc[0], enc[1], dec[0], dec[1], *_tables(dec[0]), xg, wg, xf, wf,
                           zb, wb, g0, r0, tsq, tbar, gam, rho, inf)
    return tsq, gam, rho, inf


def layer_maps(sigma: Activation, phi: Activation, t, a, b, *, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """The layer step at arrays (t, a, b): (E[z1 phi(U)] / t, E[phi(U)^2]), U = a sigma(t z1) + b z2.

    With a = beta gamma and b = sqrt(beta rho) these are the maps G and R of Sec. 3.1.
    """
    t, a, b = np.broadcast_arrays(*(np.asarray(x, float) for x in (t, a, b)))
    shape = t.shape
    sc = _use_kernel(method, [sigma])
    pc = _use_kernel(method, [phi])
    if sc is not None and pc is not None:
        out_g = np.empty(t.size)
        out_r = np.empty(t.size)
        xg, wg, zb, wb = _rule()
        _k("maps", t.size)(int(sc[0][0]), float(sc[1][0]), int(pc[0][0]), float(pc[1][0]), _c(t.ravel()),
                           _c(a.ravel()), _c(b.ravel()), *_tables(pc[0]), xg, wg, zb, wb, out_g, out_r)
        return out_g.reshape(shape), out_r.reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return reference.step(sigma, phi, t, a, b)


def _sigma_moment(which: int, sigma: Activation, t, method: str) -> np.ndarray:
    """E sigma(t z)^2 (which = 0) or E sigma'(t z) (1) at an array of t: kernels or the NumPy reference."""
    t = np.asarray(t, float)
    sc = _use_kernel(method, [sigma])
    if sc is None:
        return (reference.q_moment, reference.mean_slope)[which](sigma, t)
    out = np.empty(t.size)
    xg, wg, _, _ = _rule()
    _k("moments", t.size)(which, int(sc[0][0]), float(sc[1][0]), _c(t.ravel()), xg, wg, out)
    return out.reshape(t.shape)


def q_moments(sigma: Activation, t, *, method: str = "auto") -> np.ndarray:
    """E sigma(t z)^2 at an array of t."""
    return _sigma_moment(0, sigma, t, method)


def mean_slopes(sigma: Activation, t, *, method: str = "auto") -> np.ndarray:
    """E sigma'(t z) at an array of t >= 0 (Stein: the slope of the Gaussian-smoothed activation)."""
    return _sigma_moment(1, sigma, t, method)

