"""Phases of random deep weight-tied autoencoders and Table 1's classification (Li & Nguyen 2019,
Secs. 3.2 and 3.5).

A phase is read from how (gamma, rho) evolve along the depth recursion (the iteration of the maps
G, R at the forward fixed point): each tends to 0, stays finite, or grows without bound. A value
that shrinks (grows) by more than ``RATIO`` over the second half of the iterations counts as
going to 0 (infinity); so at finite depth L a transition is blurred over a width of about
log(RATIO) / (L/2) in the growth rate, and sharpens as L grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aelab.deep import infinite_depth as inf_depth

__all__ = ["PHASES", "PHASE_CODES", "RATIO", "classify_trajectory", "PhaseResult", "bulk_phase", "setting_phase",
           "stability_phase",
           "CLASSES", "classify_scheme", "classify_schemes", "scheme_class"]

PHASES: dict[str, str] = {
    "trivial": "gamma -> 0 and rho -> 0 (S_sig = S_var = 0)",
    "noise": "gamma -> 0, rho finite and positive (S_sig = 0 < S_var)",
    "noise-explosive": "gamma -> 0, rho -> infinity",
    "explosive": "gamma, rho -> infinity",
    "signal": "gamma, rho finite and positive (S_sig > 0)",
    "infinite": "the forward variance taubar^2 has no fixed point, or a scalar overflowed",
}
PHASE_CODES = {name: i for i, name in enumerate(PHASES)}
RATIO = 100.0
_ZERO, _FINITE, _INF = 0, 1, 2


def _state(x: np.ndarray, last_index: np.ndarray, window: np.ndarray, overflowed: np.ndarray) -> np.ndarray:
    rows = np.arange(x.shape[0])
    x = np.abs(x)
    last, ref = x[rows, last_index], x[rows, np.maximum(last_index - window, 0)]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = last / ref
        inf = ~np.isfinite(last) | (last > 1e100) | (ratio > RATIO) | (overflowed & ~(ratio < 1.0))
        zero = ~inf & ((last < 1e-200) | (ratio < 1.0 / RATIO))
    return np.where(inf, _INF, np.where(zero, _ZERO, _FINITE))


def classify_trajectory(gamma: np.ndarray, rho: np.ndarray, *, window: int | None = None) -> np.ndarray:
    """The phase of each row of (gamma, rho) iterates (shape (G, K+1), iteration order).

    Rates are read over the last ``window`` iterates (default: the second half). A row that
    overflowed (NaN from some iterate on) is read up to its last finite iterate, and a component
    that was not decreasing there counts as infinite. Returns an array of phase names.
    """
    gamma, rho = np.atleast_2d(gamma), np.atleast_2d(rho)
    K = gamma.shape[1] - 1
    if K < 1:
        raise ValueError("classify_trajectory: needs at least two iterates")
    finite = np.isfinite(gamma) & np.isfinite(rho)
    # the last finite iterate of each row (a row is finite up to its overflow)
    last = np.where(finite.all(axis=1), K, np.argmin(finite, axis=1) - 1)
    last = np.maximum(last, 0)
    overflowed = last < K
    w = np.maximum(1, last // 2) if window is None else np.minimum(int(window), np.maximum(last, 1))
    g, r = _state(gamma, last, w, overflowed), _state(rho, last, w, overflowed)
    out = np.full(g.shape, "signal", dtype=object)
    out[(g == _ZERO) & (r == _ZERO)] = "trivial"
    out[(g == _ZERO) & (r == _FINITE)] = "noise"
    out[(g == _ZERO) & (r == _INF)] = "noise-explosive"
    out[(g == _INF) | ((g == _FINITE) & (r == _INF))] = "explosive"
    return out


@dataclass(frozen=True)
class PhaseResult:
    """Phases of settings at infinite depth, with the limits of the scalars (0 or inf where they go).

    Attributes (arrays, one entry per setting):
        phase: names from :data:`PHASES`.
        tau_bar_sq: the forward fixed point taubar^2.
        gamma, rho: limits of the recursion; s_sig = beta gamma, s_var = sqrt(beta rho).
    """

    phase: np.ndarray
    tau_bar_sq: np.ndarray
    gamma: np.ndarray
    rho: np.ndarray
    beta: np.ndarray

    @property
    def s_sig(self) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(self.gamma == 0, 0.0, self.beta * self.gamma)

    @property
    def s_var(self) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.sqrt(self.beta * self.rho)


def _limits(gamma, rho, phase):
    with np.errstate(invalid="ignore"):
        g = np.abs(gamma[:, -1]).copy()
        r = np.abs(rho[:, -1]).copy()
    g[np.isin(phase, ["trivial", "noise", "noise-explosive"])] = 0.0
    r[phase == "trivial"] = 0.0
    g[phase == "explosive"] = np.inf
    r[np.isin(phase, ["explosive", "noise-explosive"])] = np.inf
    return g, r


def bulk_phase(encoder, decoder, beta, tau_bar_sq, *, bottleneck=None, steps: int = 2000) -> PhaseResult:
    """Phases at (beta, taubar^2): iterate (G, R) ``steps`` times from the bottleneck's values."""
    beta, t2 = np.broadcast_arrays(np.asarray(beta, float), np.asarray(tau_bar_sq, float))
    shape = beta.shape
    gam, rho, _ = inf_depth.iterate_maps(encoder, decoder, beta.ravel(), t2.ravel(), steps, bottleneck=bottleneck)
    phase = classify_trajectory(gam, rho)
    g, r = _limits(gam, rho, phase)
    return PhaseResult(phase.reshape(shape), t2.copy(), g.reshape(shape), r.reshape(shape), beta.copy())


def setting_phase(encoder, decoder, sigma_w_sq, sigma_b_sq, *, alpha=1.0, input_variance=1.0, bottleneck=None,
                  steps: int = 2000) -> PhaseResult:
    """Phases of settings (sigma_W^2, sigma_b^2, alpha) at infinite depth (Interpretation 1, Sec. 3.1).

    taubar^2 is the fixed point of T reached from taubar_1^2 = sigma_W^2 taubar_0^2 + sigma_b^2; none
    gives the phase "infinite". Then (G, R) are iterated at (beta, taubar^2). Vectorised.
    """
    sw, sb, al, t0 = np.broadcast_arrays(*(np.asarray(x, float) for x in
                                           (sigma_w_sq, sigma_b_sq, alpha, input_variance)))
    shape = sw.shape
    sw, sb, al, t0 = sw.ravel(), sb.ravel(), al.ravel(), t0.ravel()
    fp = inf_depth.forward_fixed_point(encoder, sw, sb, start=sw * t0 + sb)
    t2 = fp.tau_bar_sq
    beta = al * sw
    phase = np.full(sw.size, "infinite", dtype=object)
    g = np.full(sw.size, np.inf)
    r = np.full(sw.size, np.inf)
    ok = np.isfinite(t2)
    if ok.any():
        t_ok = np.maximum(t2[ok], 1e-300)
        res = bulk_phase(encoder, decoder, beta[ok], t_ok, bottleneck=bottleneck, steps=steps)
        phase[ok], g[ok], r[ok] = res.phase, res.gamma, res.rho
    return PhaseResult(phase.reshape(shape), t2.reshape(shape), g.reshape(shape), r.reshape(shape),
                       beta.reshape(shape))


def stability_phase(encoder, decoder, beta, tau_bar_sq, *, bottleneck=None) -> np.ndarray:
    """Infinite-depth phases at (beta, taubar^2) from the stability of gamma = 0 (vectorised, cheap).

    rho_n is where the rho map on gamma = 0 goes from the bottleneck's rho (0, finite or inf);
    if the slope of gamma -> G(gamma, rho_n) at 0 is below 1, gamma -> 0 and the phase is trivial,
    noise or noise-explosive by rho_n; otherwise gamma grows: signal for a bounded decoder,
    explosive for one with linear growth. Unlike :func:`bulk_phase`, this sees the phase
    boundaries sharply (no finite number of iterations), but not an outcome that depends on
    where the recursion starts beyond the linear stability of gamma = 0.
    """
    beta, t2 = np.broadcast_arrays(np.asarray(beta, float), np.asarray(tau_bar_sq, float))
    shape = beta.shape
    beta, t2 = beta.ravel(), np.maximum(t2.ravel(), 1e-300)
    rho_n = inf_depth.rho_attractor(encoder, decoder, beta, t2, inf_depth.rho_start(decoder, t2,
                                                                                    bottleneck=bottleneck))
    slope = inf_depth.slope_at(encoder, decoder, beta, t2, rho_n)
    out = np.where(rho_n == 0, "trivial", np.where(np.isinf(rho_n), "noise-explosive", "noise")).astype(object)
    grows = slope > 1.0
    out[grows] = "explosive" if inf_depth.decoder_unbounded(decoder) else "signal"
    return out.reshape(shape)


# --- Table 1 --------------------------------------------------------------------------------------
CLASSES = ("trainable", "slowed", "infinities")
_INFINITE_PHASES = ("infinite", "explosive", "noise-explosive")


def scheme_class(point_phase: str, neighbour_phases) -> str:
    """Sec. 3.5's rule: "infinities" if any of gamma, rho, taubar is infinite at the point; "slowed"
    if gamma = rho = 0 at the point and in its neighbourhood (no neighbour in a finite non-trivial
    phase); "trainable" otherwise (which includes a point on the edge of the trivial phase)."""
    if point_phase in _INFINITE_PHASES:
        return "infinities"
    if point_phase == "trivial" and not any(p in ("noise", "signal") for p in neighbour_phases):
        return "slowed"
    return "trainable"


def _neighbours(sw: float, sb: float, delta: float) -> tuple[list[float], list[float]]:
    db = delta * max(sb, delta)
    ws = [sw, sw * (1 - delta), sw * (1 + delta), sw, sw]
    bs = [sb, sb, sb, max(sb - db, 0.0), sb + db]
    return ws, bs


def classify_schemes(encoder, decoder, sigma_w_sq, sigma_b_sq, *, alpha=1.0, bottleneck=None, input_variance=1.0,
                     delta: float = 0.05, steps: int = 2000, with_phases: bool = False):
    """:func:`classify_scheme` for several (sigma_W^2, sigma_b^2) at once (one vectorised computation).

    Returns the list of classes, and with ``with_phases`` also the settings' phases.
    """
    sws, sbs = np.broadcast_arrays(np.atleast_1d(np.asarray(sigma_w_sq, float)),
                                   np.atleast_1d(np.asarray(sigma_b_sq, float)))
    W, B = [], []
    for sw, sb in zip(sws, sbs):
        w, b = _neighbours(float(sw), float(sb), delta)
        W += w
        B += b
    res = setting_phase(encoder, decoder, np.array(W), np.array(B), alpha=alpha, input_variance=input_variance,
                        bottleneck=bottleneck, steps=steps)
    ph = res.phase.reshape(-1, 5)
    classes = [scheme_class(row[0], row[1:]) for row in ph]
    return (classes, ph[:, 0].copy()) if with_phases else classes


def classify_scheme(encoder, decoder, sigma_w_sq: float, sigma_b_sq: float, *, alpha: float = 1.0,
                    bottleneck=None, input_variance: float = 1.0, delta: float = 0.05, steps: int = 2000) -> str:
    """Table 1's classification of an initialisation: "trainable", "slowed" or "infinities".

    Li & Nguyen 2019, Sec. 3.5: numerical infinities if any of gamma, rho, taubar is infinite at
    the setting (infinite depth); slowed if gamma = rho = 0 at the setting and at its neighbours
    (sigma_W^2 (1 +- delta), sigma_b^2 +- delta max(sigma_b^2, delta)); trainable otherwise.

    Args:
        encoder, decoder: the activations sigma and phi (the paper's Table 1 lists phi first).
        sigma_w_sq, sigma_b_sq, alpha: the initialisation and the width ratio.
        bottleneck: phi_L (default: the decoder's; the paper's experiments use ReLU).
        input_variance: taubar_0^2, which sets taubar where T has a line of fixed points (ReLU, sigma_W^2 = 2).
    """
    return classify_schemes(encoder, decoder, sigma_w_sq, sigma_b_sq, alpha=alpha, bottleneck=bottleneck,
                            input_variance=input_variance, delta=delta, steps=steps)[0]
