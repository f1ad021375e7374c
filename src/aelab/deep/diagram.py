"""Phase diagrams of random deep weight-tied autoencoders (Li & Nguyen 2019, Sec. 3.2), vectorised
over the grid.

Two planes:

* ``"w-b"``: (sigma_W^2, sigma_b^2) at fixed alpha and input variance; each cell runs Theorem 1 at
  the given depth (:func:`aelab.deep.state_evolution.evolve_many`): S and V of the output;
* ``"beta-tau"``: (beta, taubar^2) with every layer at taubar^2 (Interpretation 1): the maps G, R
  are iterated ``depth`` times from the bottleneck's values: S_sig = beta gamma, S_var = sqrt(beta rho).

The phase of a cell is the infinite-depth one, from the stability of gamma = 0
(:func:`aelab.deep.phases.stability_phase`) at the forward fixed point (w-b: taubar_L^2 of the
computed network, "infinite" where the forward variance keeps growing); ``phase_at_depth``
reads it from the computed recursion instead (:func:`aelab.deep.phases.classify_trajectory`),
which blurs the boundaries over a width that shrinks like 1/depth. The transition lines of
:mod:`aelab.deep.infinite_depth` are drawn on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aelab.deep import infinite_depth as inf_depth
from aelab.deep.phases import PHASE_CODES, PHASES, RATIO, classify_trajectory, stability_phase
from aelab.deep.state_evolution import evolve_many
from aelab.errors import ConfigError

__all__ = ["PhaseDiagram", "phase_diagram", "AXES", "plot_phase_diagram"]

AXES = {"w-b": ("sigma_w_sq", "sigma_b_sq"), "beta-tau": ("beta", "tau_bar_sq")}
_FAST = 6  # Gauss-Legendre points per piece: relative error ~1e-8, plenty for a picture


@dataclass(frozen=True, eq=False)
class PhaseDiagram:
    """A phase diagram: axes, and per cell (shape (ny, nx)) the phase and the signal/noise strengths.

    Attributes:
        axes: "w-b" or "beta-tau"; x, y: the grid values.
        phase: infinite-depth phase names; phase_at_depth: the phase read from the recursion at
            the given depth; s_sig, s_var: S and sqrt(V) of the output (w-b) or beta gamma and
            sqrt(beta rho) after ``depth`` steps (beta-tau); tau_bar_sq: the top layer's variance.
        meta: the other parameters (activations, depth, alpha, input variance).
    """

    axes: str
    x: np.ndarray
    y: np.ndarray
    phase: np.ndarray
    phase_at_depth: np.ndarray
    s_sig: np.ndarray
    s_var: np.ndarray
    tau_bar_sq: np.ndarray
    meta: dict = field(default_factory=dict)

    def frame(self):
        """Long format: one row per cell with the axis values, phase, phase code, s_sig, s_var, tau_bar_sq."""
        import pandas as pd

        X, Y = np.meshgrid(self.x, self.y)
        xn, yn = AXES[self.axes]
        return pd.DataFrame({xn: X.ravel(), yn: Y.ravel(), "phase": self.phase.ravel(),
                             "phase_code": [PHASE_CODES[p] for p in self.phase.ravel()],
                             "phase_at_depth": self.phase_at_depth.ravel(),
                             "s_sig": self.s_sig.ravel(), "s_var": self.s_var.ravel(),
                             "tau_bar_sq": self.tau_bar_sq.ravel()})


def _check_range(name: str, lo: float, hi: float, *, positive: bool) -> None:
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"{name}: expected (lo, hi) with lo < hi, got ({lo}, {hi})")
    if positive and lo <= 0:
        raise ConfigError(f"{name}: values must be > 0, got {lo}")
    if lo < 0:
        raise ConfigError(f"{name}: values must be >= 0, got {lo}")


def phase_diagram(encoder: str, decoder: str, depth: int, *, axes: str = "w-b", x_range=(0.1, 4.0),
                  y_range=(0.0, 1.0), points: int | tuple[int, int] = 100, alpha: float = 1.0,
                  input_variance: float = 1.0, bottleneck: str | None = None, sigma_v_sq: float = 0.0,
                  quadrature_points: int = _FAST) -> PhaseDiagram:
    """Compute a phase diagram over a grid (vectorised; the kernels run the cells in parallel).

    Args:
        encoder, decoder, bottleneck: activations (sigma, phi, phi_L).
        depth: L (w-b) or the number of iterations of the maps (beta-tau).
        axes: "w-b" for (sigma_W^2, sigma_b^2), "beta-tau" for (beta, taubar^2).
        x_range, y_range: (lo, hi) of the two axes; points: cells per axis (or (nx, ny)).
        alpha, input_variance, sigma_v_sq: the other parameters (w-b only).
    """
    if axes not in AXES:
        raise ConfigError(f"axes: expected one of {', '.join(AXES)}, got {axes!r}")
    if int(depth) < 1:
        raise ConfigError(f"depth: must be >= 1, got {depth}")
    nx, ny = (points, points) if isinstance(points, int) else points
    if min(nx, ny) < 2:
        raise ConfigError(f"points: need at least 2 per axis, got {points}")
    _check_range("x_range", *x_range, positive=True)
    _check_range("y_range", *y_range, positive=axes == "beta-tau")
    x = np.linspace(*x_range, nx)
    y = np.linspace(*y_range, ny)
    X, Y = np.meshgrid(x, y)
    meta = {"encoder": encoder, "decoder": decoder, "bottleneck": bottleneck or decoder, "depth": int(depth),
            "alpha": alpha, "input_variance": input_variance, "sigma_v_sq": sigma_v_sq}
    if axes == "w-b":
        many = evolve_many(encoder, decoder, depth, sigma_w_sq=X.ravel(), sigma_b_sq=Y.ravel(), alpha=alpha,
                           input_variance=input_variance, bottleneck=bottleneck, sigma_v_sq=sigma_v_sq,
                           points=quadrature_points)
        L = int(depth)
        # the recursion read from the top (layer L+1) to layer 2, as the iteration of the maps
        gam = many.gamma[:, L + 1:1:-1]
        rho = many.rho[:, L + 1:1:-1]
        at_depth = classify_trajectory(gam, rho) if L >= 2 else np.full(X.size, "signal", dtype=object)
        tsq = many.tau_bar_sq
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            growing = ~np.isfinite(tsq[:, -1]) | (tsq[:, -1] / tsq[:, L // 2] > RATIO) | (many.infinite_layer > 0)
            at_depth = np.where(growing, "infinite", at_depth)
            s_sig, v_out = many.output()
            s_var = np.sqrt(v_out)
        top = tsq[:, -1]
        # the forward fixed point: where the computed network ended if its last layer repeats the one
        # before bit for bit (most cells: T(top) = top), else iterated on from there
        fixed = np.where((top == tsq[:, -2]) & (L >= 2), top, np.inf)
        ok = np.isfinite(top) & np.isinf(fixed)
        if ok.any():
            fixed[ok] = inf_depth.forward_fixed_point(encoder, X.ravel()[ok], Y.ravel()[ok], start=top[ok],
                                                      iterations=20).tau_bar_sq
        phase = np.full(X.size, "infinite", dtype=object)
        ok = np.isfinite(fixed)
        if ok.any():
            phase[ok] = stability_phase(encoder, decoder, alpha * X.ravel()[ok], fixed[ok], bottleneck=bottleneck)
    else:
        gam, rho, _ = inf_depth.iterate_maps(encoder, decoder, X.ravel(), Y.ravel(), int(depth),
                                             bottleneck=bottleneck, points=quadrature_points)
        at_depth = classify_trajectory(gam, rho)
        phase = stability_phase(encoder, decoder, X.ravel(), Y.ravel(), bottleneck=bottleneck)
        with np.errstate(invalid="ignore", over="ignore"):
            s_sig = X.ravel() * gam[:, -1]
            s_var = np.sqrt(X.ravel() * rho[:, -1])
        top = Y.ravel()
    shape = (ny, nx)
    return PhaseDiagram(axes, x, y, np.asarray(phase, dtype=object).reshape(shape),
                        np.asarray(at_depth, dtype=object).reshape(shape), s_sig.reshape(shape),
                        s_var.reshape(shape), top.reshape(shape), meta)


_COLORS = {"trivial": "#d9d9d9", "noise": "#9ecae1", "noise-explosive": "#fdae6b", "explosive": "#e6550d",
           "signal": "#31a354", "infinite": "#756bb1"}


def plot_phase_diagram(diagram: PhaseDiagram, path=None, *, lines: bool = True):
    """The phases as colours, log10 S_sig as contours, and the transition lines: a Figure, or saved to ``path``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from aelab.plots import new_figure, save_figure

    names = list(PHASES)
    codes = np.vectorize(PHASE_CODES.get)(diagram.phase).astype(float)
    fig, axs = new_figure(2, width=5.2, height=4.2)
    ax = axs[0, 0]
    cmap = ListedColormap([_COLORS[n] for n in names])
    ax.pcolormesh(diagram.x, diagram.y, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, shading="nearest")
    xn, yn = AXES[diagram.axes]
    labels = {"sigma_w_sq": r"$\sigma_W^2$", "sigma_b_sq": r"$\sigma_b^2$", "beta": r"$\beta$",
              "tau_bar_sq": r"$\bar\tau^2$"}
    m = diagram.meta
    if lines:
        _transition_lines(ax, diagram)
    present = [n for n in names if np.any(diagram.phase == n)]
    ax.legend(handles=[Patch(color=_COLORS[n], label=n) for n in present], fontsize=7, loc="upper left")
    ax.set_xlabel(labels[xn])
    ax.set_ylabel(labels[yn])
    ax.set_xlim(diagram.x[0], diagram.x[-1])
    ax.set_ylim(diagram.y[0], diagram.y[-1])
    ax.set_title(f"{m['decoder']} decoder, {m['encoder']} encoder, depth {m['depth']}", fontsize=9)
    ax2 = axs[0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = diagram.s_sig / (np.abs(diagram.s_sig) + diagram.s_var)
    mesh = ax2.pcolormesh(diagram.x, diagram.y, np.where(np.isfinite(frac), frac, np.nan), cmap="viridis",
                          vmin=0, vmax=1, shading="nearest")
    fig.colorbar(mesh, ax=ax2, label=r"$S_{sig} / (S_{sig} + S_{var})$")
    ax2.set_xlabel(labels[xn])
    ax2.set_ylabel(labels[yn])
    ax2.set_title("signal fraction of the output" if diagram.axes == "w-b" else "signal fraction after depth",
                  fontsize=9)
    return fig if path is None else save_figure(fig, path)


def _transition_lines(ax, d: PhaseDiagram) -> None:
    m = d.meta
    beta_rho = inf_depth.rho_transition(m["decoder"])
    if d.axes == "beta-tau":
        if beta_rho is not None:
            ax.axvline(beta_rho, color="k", lw=1.0, ls="--", label=r"$\rho$ transition")
        t2 = np.linspace(max(d.y[0], 1e-3), d.y[-1], 12)
        b0 = inf_depth.gamma_transition_above(m["encoder"], m["decoder"], t2, (beta_rho or 0.05) * (1 + 1e-6),
                                              bottleneck=m["bottleneck"])
        ax.plot(b0, t2, "k-", lw=1.2, label=r"$\gamma$ transition")
        ax.plot(m["alpha"] * inf_depth.sigma_w_max_sq(m["encoder"], t2), t2, "k:", lw=1.2,
                label=r"$\alpha\sigma_{W,max}^2$")
    elif beta_rho is not None:
        ax.axvline(beta_rho / m["alpha"], color="k", lw=1.0, ls="--", label=r"$\rho$ transition")
