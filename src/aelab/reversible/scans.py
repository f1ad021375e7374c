"""Scans of the recovery error against rho n, k, tau and depth: theory as lines, simulation as markers.

A scan starts from a base setting (:class:`aelab.reversible.config.ErrorConfig`) and varies one
quantity per panel. Panels ``rho_n``, ``sparsity`` and ``threshold`` use one layer (where the
theory is exact); ``depth`` varies the number of layers with geometric widths between the
visible and the hidden width. Results (:func:`aelab.reversible.scan`): the tables ``scan``
(simulation points with the prediction at each) and ``theory`` (dense theory curves), and the
figure ``scan.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from aelab.config import StrictModel
from aelab.reversible import theory
from aelab.reversible.config import ErrorConfig, NetSpec
from aelab.reversible.simulate import simulate_rules

__all__ = ["ScanConfig", "scan_tables", "plot_scan", "resolve_threshold", "PANELS"]

Panel = Literal["rho_n", "sparsity", "threshold", "depth"]
PANELS: tuple[str, ...] = ("rho_n", "sparsity", "threshold", "depth")
CASES = {"linear": "(a) no ReLU, b = 0", "relu": "(b) ReLU, b = 0", "threshold": "(c) ReLU, b = -tau ||x||",
         "support": "(c') ReLU, tau maximising P(exact support)"}


class ScanConfig(StrictModel):
    """A scan: the base setting, the panels, simulation points per panel and the deepest net."""

    base: ErrorConfig = ErrorConfig(hidden=400, sparsity=5, visible=2000, trials=400)
    panels: tuple[Panel, ...] = PANELS
    points: int = Field(7, ge=2)
    theory_points: int = Field(60, ge=2)
    max_layers: int = Field(4, ge=1)
    max_threshold: float = Field(5.0, gt=0.0)

    @field_validator("panels")
    @classmethod
    def _panels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one panel")
        return value


def _one_layer(base: ErrorConfig, **update) -> ErrorConfig:
    return base.model_copy(update={"layers": 1, "widths": None, **update})


def resolve_threshold(config: ErrorConfig) -> tuple[NetSpec, str]:
    """The net of ``config`` with ``threshold="opt"`` replaced by the minimiser of the predicted error,
    and where its bias comes from (``fixed bias``, ``optimal`` or ``given``)."""
    if config.bias is not None:
        return config.net(), "fixed bias"
    if config.threshold == "opt":
        spec = config.net(0.0)
        return spec.with_threshold(theory.optimal_threshold(spec)), "optimal"
    return config.net(), "given"


def _case_spec(cfg: ErrorConfig, case: str) -> NetSpec:
    if case == "support":
        spec = cfg.net(0.0).model_copy(update={"relu": True, "bias": 0.0})
        return spec.with_threshold(theory.support_threshold(spec))
    if case == "linear":
        return cfg.net(0.0).model_copy(update={"relu": False, "threshold": 0.0, "bias": 0.0})
    if case == "relu":
        return cfg.net(0.0).model_copy(update={"relu": True, "threshold": 0.0, "bias": 0.0})
    return resolve_threshold(cfg.model_copy(update={"relu": True}))[0]


def _log_grid(lo: float, hi: float, count: int, integer: bool = False) -> np.ndarray:
    grid = np.geomspace(lo, hi, count)
    if integer:
        grid = np.unique(np.maximum(1, np.round(grid)).astype(int))
    return grid


def _settings(config: ScanConfig) -> list[dict[str, Any]]:
    """Every simulation point and theory point as (panel, case, x, ErrorConfig, is_theory_only)."""
    base = config.base
    rho = base.keep_prob
    rows: list[dict[str, Any]] = []

    def add(panel, case, x, cfg, dense):
        rows.append({"panel": panel, "case": case, "x": float(x), "cfg": cfg, "dense": dense})

    if "rho_n" in config.panels:
        lo = max(2.0 * base.sparsity, 16.0)
        onset = theory.support_recovery_onset(_case_spec(_one_layer(base), "support"))
        hi = max(4.0 * rho * base.visible, 2.0 * lo, 2.0 * onset if math.isfinite(onset) else 0.0)
        for dense, count in ((False, config.points), (True, config.theory_points)):
            for x in _log_grid(lo, hi, count):
                n = max(1, int(round(x / rho)))
                for case in CASES:
                    add("rho_n", case, rho * n, _one_layer(base, visible=n), dense)
    if "sparsity" in config.panels:
        hi_k = max(2, min(base.hidden, int(rho * base.visible) // 2, base.hidden // 2))
        for dense, count in ((False, config.points), (True, config.theory_points)):
            for k in _log_grid(1, hi_k, count, integer=True):
                for case in ("relu", "threshold"):
                    add("sparsity", case, k, _one_layer(base, sparsity=int(k)), dense)
    if "threshold" in config.panels and base.bias is None:
        for dense, count in ((False, config.points), (True, config.theory_points)):
            for tau in np.linspace(0.0, config.max_threshold, count):
                add("threshold", "threshold", tau, _one_layer(base, threshold=float(tau)), dense)
    if "depth" in config.panels:
        for depth in range(1, config.max_layers + 1):
            cfg = base.model_copy(update={"layers": depth, "widths": None})
            for dense in (False, True):
                add("depth", "threshold", depth, cfg, dense)
    return rows


def scan_tables(config: ScanConfig, *, quiet: bool = True):
    """Every panel of the scan: the simulation points (with the prediction at each) and the dense
    theory curves, as two DataFrames."""
    import pandas as pd

    from aelab.progress import progress_bar

    rows = _settings(config)
    sim_rows, theory_rows = [], []
    rng = np.random.default_rng(config.base.seed)
    n_sim = sum(not r["dense"] for r in rows)
    with progress_bar("reversible scan", n_sim, quiet=quiet) as bar:
        # Rows of a panel with the same generative model (the cases at one rho n, every tau) share
        # the generated draws: common random numbers, one generation for all inference rules.
        batches: dict[tuple, list[tuple[dict, NetSpec]]] = {}
        for row in rows:
            spec = _case_spec(row["cfg"], row["case"])
            record = {"panel": row["panel"], "case": row["case"], "x": row["x"], "threshold": spec.threshold,
                      "layers": spec.layers, "sparsity": spec.sparsity, "visible": spec.visible,
                      "paper_scale": theory.paper_scale(spec.sparsity, spec.visible, spec.keep_prob)}
            pred = theory.predict(spec, support=row["case"] == "support")
            record.update(theory=pred.relative_error, exact_support_theory=pred.exact_support)
            if row["dense"]:
                theory_rows.append(record)
            else:
                key = (row["panel"], spec.widths, spec.sparsity, spec.keep_prob, spec.nonzero)
                batches.setdefault(key, []).append((record, spec))
        for items in batches.values():
            cfg = config.base
            specs = [spec for _, spec in items]
            sims = simulate_rules(specs, trials=cfg.trials, rng=rng, per_matrix=cfg.per_matrix, dtype=cfg.dtype)
            for (record, spec), sim in zip(items, sims):
                record.update(relative_error=sim.mean(), relative_error_sem=sim.sem(),
                              exact_support=sim.mean("exact_support") if spec.relu else math.nan,
                              exact_support_sem=sim.sem("exact_support") if spec.relu else math.nan,
                              trials=sim.trials)
                sim_rows.append(record)
                bar.advance()
    return pd.DataFrame(sim_rows), pd.DataFrame(theory_rows)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:  # a panel left out of the scan has nothing to name
        ax.legend(fontsize=6)


def plot_scan(sims, curves, config: ScanConfig, path: Path | None = None):
    """The scan figure from the tables (theory lines, simulation markers): a Figure, or saved to
    ``path`` (the path returned)."""
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    base = config.base
    fig, axes = new_figure(3, 2, width=4.6, height=3.5)
    axes = axes.ravel()
    colors = {case: COLORS[i] for i, case in enumerate(CASES)}

    def panel(ax, name, xcol="x", ycol="theory", ysim="relative_error", ysem="relative_error_sem", cases=CASES,
              scale=None):
        for case in cases:
            th = curves[(curves.panel == name) & (curves.case == case)].sort_values(xcol)
            si = sims[(sims.panel == name) & (sims.case == case)].sort_values(xcol)
            if th.empty and si.empty:
                continue
            f_th = 1.0 if scale is None else scale(th)
            f_si = 1.0 if scale is None else scale(si)
            theory_and_simulation(ax, th[xcol], th[ycol] / f_th, si[xcol], si[ysim] / f_si, si[ysem] / f_si,
                                  label=CASES[case].split(",")[0] if len(cases) > 1 else "", color=colors[case])

    title = f"m={base.hidden}, k={base.sparsity}, rho={base.keep_prob:g}, {base.nonzero} non-zeros"
    ax = axes[0]
    panel(ax, "rho_n", cases=("linear", "relu", "threshold"))
    th = curves[(curves.panel == "rho_n") & (curves.case == "threshold")].sort_values("x")
    if not th.empty:
        ax.plot(th.x, th.paper_scale, "k:", lw=1.0, label="k/(rho n)")
    ax.set(xscale="log", yscale="log", xlabel="rho n", ylabel="E|h^ - h|^2 / |h|^2", title="error against rho n")
    _legend(ax)
    ax = axes[1]
    panel(ax, "rho_n", ycol="exact_support_theory", ysim="exact_support", ysem="exact_support_sem",
          cases=("support",))
    ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="rho n", ylabel="P(exact support)",
           title="exact support recovery (tau maximising it)")
    ax = axes[2]
    panel(ax, "rho_n", cases=("threshold",), scale=lambda d: d.paper_scale)
    ax.set(xscale="log", xlabel="rho n", ylabel="error / (k/(rho n))", title="the O~(k/(rho n)) law, case (c)")
    ax = axes[3]
    panel(ax, "sparsity", cases=("relu", "threshold"))
    th = curves[(curves.panel == "sparsity") & (curves.case == "threshold")].sort_values("x")
    if not th.empty:
        ax.plot(th.x, th.paper_scale, "k:", lw=1.0, label="k/(rho n)")
    ax.set(xscale="log", yscale="log", xlabel="k", ylabel="relative error", title=f"error against k (n={base.visible})")
    _legend(ax)
    ax = axes[4]
    panel(ax, "threshold", cases=("threshold",))
    if not curves[curves.panel == "threshold"].empty:
        best = theory.optimal_threshold(_one_layer(base).net(0.0))
        ax.axvline(best, color="0.6", lw=0.8, ls="--", label=f"tau* = {best:.3f}")
        _legend(ax)
    ax.set(yscale="log", xlabel="tau (b = -tau |x|)", ylabel="relative error", title="error against the threshold")
    ax = axes[5]
    panel(ax, "depth", cases=("threshold",))
    ax.set(yscale="log", xlabel="layers L", ylabel="top-layer relative error",
           title="error against depth (state evolution)")
    fig.suptitle(title, fontsize=9)
    return fig if path is None else save_figure(fig, path)

