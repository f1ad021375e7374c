"""Infinite depth (Li & Nguyen 2019, Sec. 3.1-3.2): the maps T, G, R, their fixed points and stability.

With the same parameters in every layer and beta = alpha sigma_W^2:

    T(q)         = sigma_W^2 E sigma(sqrt(q) z)^2 + sigma_b^2                    (the forward map)
    G(gamma, rho) = E{z1 phi(U)} / taubar,   R(gamma, rho) = E{phi(U)^2},
    U = beta gamma sigma(taubar z1) + sqrt(beta rho) z2                           (the decoder maps)

Bulk layers of a deep network sit at the stable fixed point taubar^2 of T, and iterating (G, R) is
the depth recursion read from the bottleneck towards the input. S_sig = beta gamma and
S_var = sqrt(beta rho). Transitions: rho leaves 0 where beta lim_{rho->0} R(0, rho) / (beta rho) = 1
(beta = 1 / phi'(0)^2 for smooth phi, 2 for ReLU), gamma leaves 0 where the slope of
gamma -> G(gamma, rho_n) at gamma = 0 crosses 1 (rho_n the attractor of rho -> R(0, rho)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from aelab.activations import Activation, get_activation
from aelab.deep import engine

__all__ = [
    "forward_map", "forward_fixed_point", "sigma_w_max_sq", "bias_for", "input_variance_for",
    "decoder_maps", "iterate_maps", "FixedPoint", "fixed_points", "jacobian",
    "rho_transition", "rho_fixed_points", "rho_attractor", "rho_start", "mean_derivative", "slope_at", "gamma_slope",
    "decoder_unbounded", "gamma_transition_above", "gamma_transitions", "Transitions", "transitions",
]


def _act(a) -> Activation:
    return get_activation(a)


def forward_map(encoder, sigma_w_sq, sigma_b_sq, q) -> np.ndarray:
    """T(q) = sigma_W^2 E sigma(sqrt(q) z)^2 + sigma_b^2 (Eq. 1 of Sec. 3.1), broadcasting."""
    sw, sb, q = np.broadcast_arrays(*(np.asarray(x, float) for x in (sigma_w_sq, sigma_b_sq, q)))
    return sw * engine.q_moments(_act(encoder), np.sqrt(q)) + sb


@dataclass(frozen=True)
class ForwardFixedPoint:
    """The attractor of the forward map from a starting variance.

    Attributes:
        tau_bar_sq: the fixed point taubar^2 (inf: T has none above the start, the variance
            diverges; 0: the variance vanishes).
        slope: T'(taubar^2) (< 1: stable).
    """

    tau_bar_sq: np.ndarray
    slope: np.ndarray

    @property
    def finite(self) -> np.ndarray:
        return np.isfinite(self.tau_bar_sq)


def forward_fixed_point(encoder, sigma_w_sq, sigma_b_sq, *, start=1.0, iterations: int = 200,
                        tol: float = 1e-13) -> ForwardFixedPoint:
    """The fixed point of T that the forward recursion reaches from ``start`` (= taubar_1^2).

    T is non-decreasing, so the iterates move monotonically to the first fixed point in the
    direction of T(q) - q. After ``iterations`` steps, a geometric scan and bisection finish
    slow cases; no fixed point above gives inf, none below gives 0. Vectorised over settings.
    """
    sig = _act(encoder)
    sw, sb, q = (np.array(x, dtype=float) for x in np.broadcast_arrays(
        *(np.asarray(x, float) for x in (sigma_w_sq, sigma_b_sq, start))))
    shape = q.shape
    sw, sb, q = sw.ravel(), sb.ravel(), q.ravel()
    T = lambda qq, idx: sw[idx] * engine.q_moments(sig, np.sqrt(qq)) + sb[idx]  # noqa: E731
    done = np.zeros(q.size, bool)
    idx = np.arange(q.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            live = idx[~done]
            if live.size == 0:
                break
            new = T(q[live], live)
            conv = np.abs(new - q[live]) <= tol * np.maximum(q[live], 1e-300)
            q[live] = new
            done[live[conv | ~(new < 1e100)]] = True
        live = idx[~done & np.isfinite(q)]
        if live.size:
            q[live] = _scan_and_bisect(lambda qq, i: T(qq, i) - qq, q[live], live)
        q[~(q < 1e100)] = np.inf
    # stability: T'(q*) by central differences in log q
    h = 1e-5
    with np.errstate(over="ignore", invalid="ignore"):
        fin = np.isfinite(q) & (q > 0)
        slope = np.full(q.size, np.nan)
        if fin.any():
            i = idx[fin]
            up, dn = q[fin] * (1 + h), q[fin] * (1 - h)
            slope[fin] = (T(up, i) - T(dn, i)) / (up - dn)
    return ForwardFixedPoint(q.reshape(shape), slope.reshape(shape))


def _scan_and_bisect(F, q, idx) -> np.ndarray:
    """Root of F(q, idx) = 0 in the direction of sign(F(q)), first sign change by doubling/halving."""
    f = F(q, idx)
    up = f > 0
    lo, hi = q.copy(), q.copy()
    found = f == 0
    out = np.where(found, q, np.nan)
    cur = q.copy()
    for _ in range(400):
        todo = ~found & np.isfinite(cur) & (cur > 1e-300) & (cur < 1e100)
        if not todo.any():
            break
        nxt = np.where(up, cur * 2.0, cur * 0.5)
        fn = np.full(q.size, np.nan)
        fn[todo] = F(nxt[todo], idx[todo])
        hit = todo & ((fn <= 0) == up)
        lo = np.where(hit, np.minimum(cur, nxt), lo)
        hi = np.where(hit, np.maximum(cur, nxt), hi)
        found |= hit
        cur = np.where(todo & ~hit, nxt, cur)
    for _ in range(100):
        b = found & np.isnan(out)
        if not b.any():
            break
        mid = 0.5 * (lo + hi)
        fm = np.full(q.size, np.nan)
        fm[b] = F(mid[b], idx[b])
        # the first root in the direction of motion is a crossing from F > 0 to F < 0
        below = fm > 0
        lo = np.where(b & below, mid, lo)
        hi = np.where(b & ~below, mid, hi)
        if np.all(hi[b] - lo[b] <= 1e-14 * hi[b]):
            break
    out = np.where(np.isnan(out) & found, 0.5 * (lo + hi), out)
    return np.where(found, out, np.where(up, np.inf, 0.0))


def input_variance_for(encoder, tau_bar_sq) -> np.ndarray:
    """taubar_0^2 = E sigma(taubar z)^2: the input scale of Interpretation 2 (Sec. 3.1), so that
    taubar_1^2 = taubar^2 when sigma_b^2 = bias_for(...)."""
    return engine.q_moments(_act(encoder), np.sqrt(np.asarray(tau_bar_sq, float)))


def sigma_w_max_sq(encoder, tau_bar_sq) -> np.ndarray:
    """sigma_{W,max}^2 = taubar^2 / E sigma(taubar z)^2: the largest sigma_W^2 with taubar^2 a fixed
    point of T for some sigma_b^2 >= 0 (Sec. 3.1)."""
    t2 = np.asarray(tau_bar_sq, float)
    return t2 / input_variance_for(encoder, t2)


def bias_for(encoder, sigma_w_sq, tau_bar_sq) -> np.ndarray:
    """sigma_b^2 = taubar^2 - sigma_W^2 E sigma(taubar z)^2 making taubar^2 a fixed point of T."""
    t2 = np.asarray(tau_bar_sq, float)
    return t2 - np.asarray(sigma_w_sq, float) * input_variance_for(encoder, t2)


# --- decoder maps -------------------------------------------------------------------------------
def decoder_maps(encoder, decoder, beta, tau_bar_sq, gamma, rho) -> tuple[np.ndarray, np.ndarray]:
    """(G(gamma, rho), R(gamma, rho)) of Sec. 3.1 (Eqs. 2-3), broadcasting over every argument."""
    beta, t2, gamma, rho = np.broadcast_arrays(*(np.asarray(x, float) for x in (beta, tau_bar_sq, gamma, rho)))
    with np.errstate(over="ignore", invalid="ignore"):
        return engine.layer_maps(_act(encoder), _act(decoder), np.sqrt(t2), beta * gamma,
                                 np.sqrt(np.maximum(beta * rho, 0.0)))


def iterate_maps(encoder, decoder, beta, tau_bar_sq, steps: int, *, bottleneck=None, init=None,
                 method: str = "auto", points: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Iterate (gamma, rho) <- (G, R) ``steps`` times, vectorised over settings.

    The start is (E phi_L'(taubar z), E phi_L(taubar z)^2) of the bottleneck phi_L (default: the
    decoder), as in a network of depth ``steps`` whose layers all sit at taubar; or ``init``.

    Returns:
        gamma, rho of shape (G, steps + 1) in iteration order (column 0 is the start), and the
        iteration at which the values overflowed (0: none), shape (G,).
    """
    beta, t2 = np.broadcast_arrays(np.asarray(beta, float), np.asarray(tau_bar_sq, float))
    G, N = beta.size, int(steps) + 1  # a network of depth N iterates the maps N - 1 times
    sig, phi = _act(encoder), _act(decoder)
    tbar = np.repeat(np.sqrt(t2.reshape(G, 1)), N + 1, axis=1)
    enc = (sig,) * N
    dec = (phi,) * N + (_act(bottleneck or phi),)
    init_arrays = None if init is None else tuple(np.broadcast_to(np.asarray(x, float), (G,)) for x in init)
    gam, rho, inf = engine.backward(tbar, beta.reshape(G, 1), np.zeros((G, 1)), enc, dec, init=init_arrays,
                                    method=method, points=points)
    # column l holds layer l (l = N+1 down to 2): iteration k is column N + 1 - k
    order = np.arange(N + 1, 1, -1)
    it = np.where(inf > 0, N + 1 - inf, 0)
    return gam[:, order], rho[:, order], it


def jacobian(encoder, decoder, beta: float, tau_bar_sq: float, gamma: float, rho: float,
             *, h: float = 1e-6) -> np.ndarray:
    """2x2 Jacobian of (G, R) at (gamma, rho) by finite differences (one-sided at the boundary 0)."""
    dg = h * max(abs(gamma), 1e-3)
    dr = h * max(abs(rho), 1e-3)
    g_lo = max(gamma - dg, 0.0)
    r_lo = max(rho - dr, 0.0)
    pts_g = np.array([gamma + dg, g_lo, gamma, gamma])
    pts_r = np.array([rho, rho, rho + dr, r_lo])
    Gv, Rv = decoder_maps(encoder, decoder, beta, tau_bar_sq, pts_g, pts_r)
    J = np.empty((2, 2))
    J[0, 0] = (Gv[0] - Gv[1]) / (gamma + dg - g_lo)
    J[1, 0] = (Rv[0] - Rv[1]) / (gamma + dg - g_lo)
    J[0, 1] = (Gv[2] - Gv[3]) / (rho + dr - r_lo)
    J[1, 1] = (Rv[2] - Rv[3]) / (rho + dr - r_lo)
    return J


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (gamma, rho) of (G, R) with the eigenvalues of its Jacobian."""

    gamma: float
    rho: float
    kind: str  # "trivial" (0, 0), "noise" (0, rho > 0) or "signal" (gamma > 0)
    eigenvalues: tuple[float, ...]

    @property
    def stable(self) -> bool:
        return bool(max(abs(e) for e in self.eigenvalues) < 1.0)


def _R0(encoder, decoder, beta, t2, rho):
    return decoder_maps(encoder, decoder, beta, t2, 0.0, rho)[1]


def _noise_points(encoder, decoder, beta, t2) -> list[float]:
    """Positive roots of R(0, rho) = rho (scan in log rho, then Brent)."""
    grid = np.geomspace(1e-10, 1e10, 201)
    vals = _R0(encoder, decoder, beta, t2, grid) - grid
    roots = []
    for i in np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0):
        f = lambda r: float(_R0(encoder, decoder, beta, t2, r) - r)  # noqa: E731
        roots.append(brentq(f, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-13))
    return roots


def fixed_points(encoder, decoder, beta: float, tau_bar_sq: float, *, bottleneck=None,
                 steps: int = 3000) -> list[FixedPoint]:
    """Fixed points of (G, R) at (beta, taubar^2) with their stability (Sec. 3.2).

    The trivial point (0, 0) when phi(0) = 0; the noise points (0, rho*) from the roots of
    R(0, rho) = rho; signal points (gamma* > 0) by Newton's method with the finite-difference
    Jacobian, started from where the depth recursion (the iteration of the maps) ends.
    """
    beta, t2 = float(beta), float(tau_bar_sq)
    out: list[FixedPoint] = []

    def add(g, r, kind):
        J = jacobian(encoder, decoder, beta, t2, g, r)
        out.append(FixedPoint(float(g), float(r), kind, tuple(float(abs(e)) for e in np.linalg.eigvals(J))))

    if abs(float(_R0(encoder, decoder, beta, t2, 0.0))) < 1e-14:
        add(0.0, 0.0, "trivial")
    for r in _noise_points(encoder, decoder, beta, t2):
        add(0.0, r, "noise")
    gam, rho, inf = iterate_maps(encoder, decoder, beta, t2, steps, bottleneck=bottleneck)
    g, r = gam[0, -1], rho[0, -1]
    if inf[0] == 0 and np.isfinite(g) and g > 1e-8 and r < 1e100:
        for _ in range(50):  # Newton on F(x) = (G, R)(x) - x
            Gv, Rv = decoder_maps(encoder, decoder, beta, t2, g, r)
            F = np.array([Gv - g, Rv - r], dtype=float)
            J = jacobian(encoder, decoder, beta, t2, g, r) - np.eye(2)
            try:
                dx = np.linalg.solve(J, -F)
            except np.linalg.LinAlgError:
                break
            g, r = g + dx[0], max(r + dx[1], 0.0)
            if np.max(np.abs(dx)) <= 1e-13 * max(1.0, abs(g), abs(r)):
                break
        if g > 1e-8:
            add(g, r, "signal")
    return out


# --- transitions ---------------------------------------------------------------------------------
def rho_transition(decoder) -> float | None:
    """beta at which rho leaves 0: 1 / lim_{v->0} E phi(sqrt(v) z)^2 / v (1/phi'(0)^2; 2 for ReLU).

    None when phi(0) != 0 (then rho > 0 for every beta: there is no trivial phase).
    """
    phi = _act(decoder)
    lin = _act("linear")
    if abs(float(phi.f(np.array([0.0]))[0])) > 1e-12:
        return None
    v = 1e-12
    _, r = engine.layer_maps(lin, phi, 1.0, 0.0, np.sqrt(v))
    c = float(r) / v
    return 1.0 / c if c > 0 else None


def rho_fixed_points(decoder, beta, *, lo: float = 1e-12, hi: float = 1e12, points: int = 241) -> list[np.ndarray]:
    """Positive roots of R(0, rho) = rho for each beta (R(0, .) = E phi(sqrt(beta rho) z)^2 does not
    depend on the encoder nor on taubar): a scan in log rho, then bisection. Vectorised over beta."""
    beta = np.atleast_1d(np.asarray(beta, float))
    grid = np.geomspace(lo, hi, points)
    lin, phi = _act("linear"), _act(decoder)
    B = np.repeat(beta[:, None], points, axis=1)
    R = lambda b, r: engine.layer_maps(lin, phi, 1.0, 0.0, np.sqrt(b * r))[1]  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):
        F = R(B, grid[None, :]) - grid[None, :]
    rows, cols = np.nonzero(np.sign(F[:, :-1]) * np.sign(F[:, 1:]) < 0)
    a, c = grid[cols], grid[cols + 1]
    fa = F[rows, cols]
    for _ in range(80):  # bisection in log rho
        mid = np.sqrt(a * c)
        fm = R(beta[rows], mid) - mid
        same = np.sign(fm) == np.sign(fa)
        a, fa = np.where(same, mid, a), np.where(same, fm, fa)
        c = np.where(same, c, mid)
    roots = np.sqrt(a * c)
    exact = [grid[F[i] == 0] for i in range(beta.size)]
    return [np.sort(np.concatenate([roots[rows == i], exact[i]])) for i in range(beta.size)]


def rho_attractor(encoder, decoder, beta, tau_bar_sq, start) -> np.ndarray:
    """Where rho -> R(0, rho) goes from ``start``: 0, a positive fixed point, or inf. Vectorised.

    R(0, .) is non-decreasing, so the iterates move monotonically to the first fixed point in the
    direction of R(0, start) - start: the smallest root above the start, or the largest below it
    (inf or 0 when there is none). The roots are computed once per distinct beta.
    """
    beta, rho = np.broadcast_arrays(np.asarray(beta, float), np.asarray(start, float))
    shape = beta.shape
    beta, rho = beta.ravel(), rho.ravel()
    ub, inv = np.unique(beta, return_inverse=True)
    roots = rho_fixed_points(decoder, ub)
    with np.errstate(over="ignore", invalid="ignore"):
        step = _R0(encoder, decoder, beta, 1.0, rho) - rho
    out = rho.copy()  # where step == 0 the start is a fixed point
    for i, r in enumerate(roots):
        cells = np.flatnonzero(inv == i)
        s, st = rho[cells], step[cells]
        up = np.searchsorted(r, s, side="right")
        down = np.searchsorted(r, s, side="left") - 1
        above = np.where(up < r.size, r[np.minimum(up, r.size - 1)] if r.size else np.inf, np.inf)
        below = np.where(down >= 0, r[np.maximum(down, 0)] if r.size else 0.0, 0.0)
        out[cells] = np.where(st > 0, above, np.where(st < 0, below, s))
    return out.reshape(shape)


def mean_derivative(act, scale) -> np.ndarray:
    """E act'(scale z), z ~ N(0, 1) (Stein: the slope of a Gaussian-smoothed activation)."""
    return engine.mean_slopes(_act(act), np.asarray(scale, float))


def rho_start(decoder, tau_bar_sq, *, bottleneck=None) -> np.ndarray:
    """rho_{L+1} = E phi_L(taubar z)^2, where the depth recursion starts (vectorised)."""
    return engine.q_moments(_act(bottleneck or decoder), np.sqrt(np.asarray(tau_bar_sq, float)))


def slope_at(encoder, decoder, beta, tau_bar_sq, rho_n) -> np.ndarray:
    """Slope of gamma -> G(gamma, rho_n) at gamma = 0 (vectorised; rho_n may be 0 or inf).

    For rho_n > 0, U = sqrt(beta rho_n) z2 at gamma = 0 and by Stein the slope is
    beta E sigma'(taubar z) E phi'(sqrt(beta rho_n) z) (rho_n = inf: the limit of large scale);
    for rho_n = 0 it is G(eps, 0) / eps (exact for positively homogeneous phi).
    """
    beta, t2, rho_n = (np.array(x, dtype=float) for x in np.broadcast_arrays(
        *(np.asarray(x, float) for x in (beta, tau_bar_sq, rho_n))))
    shape = beta.shape
    beta, t2, rho_n = beta.ravel(), t2.ravel(), rho_n.ravel()
    b = np.sqrt(beta * np.where(np.isinf(rho_n), 1e16, rho_n))
    slope = beta * mean_derivative(encoder, np.sqrt(t2)) * mean_derivative(decoder, b)
    zero = rho_n == 0
    if zero.any():
        eps = 1e-9
        g, _ = decoder_maps(encoder, decoder, beta[zero], t2[zero], eps, 0.0)
        slope[zero] = g / eps
    return slope.reshape(shape)


def gamma_slope(encoder, decoder, beta, tau_bar_sq, *, bottleneck=None) -> np.ndarray:
    """Slope of gamma -> G(gamma, rho_n) at gamma = 0, rho_n the attractor of the rho map on gamma = 0
    from the bottleneck's rho: gamma = 0 is stable where it is below 1 (Props. 10-11). Vectorised."""
    beta, t2 = np.broadcast_arrays(np.asarray(beta, float), np.asarray(tau_bar_sq, float))
    rho_n = rho_attractor(encoder, decoder, beta, t2, rho_start(decoder, t2, bottleneck=bottleneck))
    return slope_at(encoder, decoder, beta, t2, rho_n)


def decoder_unbounded(decoder) -> bool:
    """Does E phi(b z)^2 grow like b^2 (phi with linear growth: rho and gamma can diverge)?"""
    _, r = engine.layer_maps(_act("linear"), _act(decoder), 1.0, 0.0, 1e6)
    return bool(float(r) / 1e12 > 1e-6)


def gamma_transitions(encoder, decoder, tau_bar_sq: float, *, beta_range=(0.05, 50.0), points: int = 120,
                      bottleneck=None) -> list[float]:
    """The betas where the slope of gamma -> G at gamma = 0 crosses 1 (scan, then Brent)."""
    betas = np.geomspace(*beta_range, points)
    vals = gamma_slope(encoder, decoder, betas, tau_bar_sq, bottleneck=bottleneck) - 1.0
    f = lambda b: float(gamma_slope(encoder, decoder, b, tau_bar_sq, bottleneck=bottleneck)) - 1.0  # noqa: E731
    out = []
    for i in np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0):
        root = brentq(f, betas[i], betas[i + 1], xtol=1e-12, rtol=1e-10)
        # a transition changes the sign for good: not a touch, nor the jump at the rho transition
        h = 1e-4 * root
        if abs(f(root)) < 1e-3 and np.sign(f(root - h)) != np.sign(f(root + h)):
            out.append(float(root))
    return out


def gamma_transition_above(encoder, decoder, tau_bar_sq, beta_lo: float, beta_hi: float = 64.0, *,
                           bottleneck=None, iterations: int = 60) -> np.ndarray:
    """The beta in (beta_lo, beta_hi) where the gamma slope crosses 1 from below, for an array of
    taubar^2 at once (vectorised bisection; NaN where the slope does not cross 1 in the bracket)."""
    t2 = np.atleast_1d(np.asarray(tau_bar_sq, float))
    lo = np.full(t2.shape, float(beta_lo))
    hi = np.full(t2.shape, float(beta_hi))
    f = lambda b: gamma_slope(encoder, decoder, b, t2, bottleneck=bottleneck) - 1.0  # noqa: E731
    ok = (f(lo) < 0) & (f(hi) > 0)
    for _ in range(iterations):
        mid = np.sqrt(lo * hi)
        up = f(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return np.where(ok, np.sqrt(lo * hi), np.nan)


@dataclass(frozen=True)
class Transitions:
    """Phase transitions in beta at fixed taubar^2 (Sec. 3.2)."""

    rho: float | None
    gamma: list[float]
    sigma_w_max_sq: float


def transitions(encoder, decoder, tau_bar_sq: float, *, bottleneck=None, beta_range=(0.05, 50.0)) -> Transitions:
    """The rho transition beta_rho, the gamma transitions beta_0, and sigma_{W,max}^2 at taubar^2."""
    return Transitions(
        rho=rho_transition(decoder),
        gamma=gamma_transitions(encoder, decoder, tau_bar_sq, bottleneck=bottleneck, beta_range=beta_range),
        sigma_w_max_sq=float(sigma_w_max_sq(encoder, tau_bar_sq)),
    )
