"""A shallow experiment end to end: theory and simulation from one configuration into a run folder.

Run folder (``aelab shallow run CONFIG --out DIR``):
    config.json      the resolved configuration
    meta.json        versions, seeds, git revision, timings, status
    theory.csv       the ODE on the time grid
    simulation.csv   online SGD averaged over seeds, same columns plus ``<column>_sem``
    figure.png       pmse and overlaps: theory as lines, simulation as markers

Columns: ``t`` (time in units of D SGD steps), ``pmse`` (E||x - x_hat||^2 / D, twice the SGD
loss), ``Q_k_l``, ``R_k_l``, ``T_k_l``, ``T0_k_l``, ``b_k`` and the overlaps
``overlap_w{k}_pc{m}``, ``overlap_v{k}_pc{m}`` (see :func:`aelab.shallow.state.observables`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aelab.errors import DivergenceError
from aelab.kinds import register_kind
from aelab.results import RunFolder
from aelab.shallow.config import ShallowConfig

__all__ = ["run_shallow", "plot_run"]


def run_shallow(config: ShallowConfig, out_dir: str | Path, *, quiet: bool = True, theory: bool = True,
                simulation: bool = True) -> dict[str, Any]:
    """Run theory and/or simulation of ``config`` into ``out_dir``; returns final observables.

    A divergence on either side is written to ``meta.json`` (status 'failed', with the time and the
    cause) together with what was computed before it, then re-raised.
    """
    from aelab.shallow.simulate import simulate
    from aelab.shallow.theory import run_theory

    folder = RunFolder(out_dir)
    folder.write_config(config)
    times = config.time_grid()
    timings: dict[str, float] = {}
    tables: dict[str, pd.DataFrame] = {}
    seeds = config.train.seeds
    try:
        if theory:
            tables["theory"], timings["theory_seconds"] = run_theory(config, times, quiet=quiet)
            folder.write_table("theory.csv", tables["theory"])
        if simulation:
            tables["simulation"], _, timings["simulation_seconds"] = simulate(config, times, quiet=quiet)
            folder.write_table("simulation.csv", tables["simulation"])
            timings["sgd_steps_per_second"] = len(seeds) * round(times[-1] * config.data.D) / max(
                timings["simulation_seconds"], 1e-12)
    except DivergenceError as exc:
        side = "simulation" if "theory" in tables or not theory else "theory"
        partial = exc.partial
        if isinstance(partial, pd.DataFrame) and len(partial):
            folder.write_table(f"{side}.partial.csv", partial)
        folder.write_meta(status="failed", seeds=seeds, timings=timings,
                          error={"side": side, "time": exc.time, "cause": exc.cause, "message": str(exc)})
        raise
    plot_run(config, tables.get("theory"), tables.get("simulation"), folder.file("figure.png"))
    folder.write_meta(status="complete", seeds=seeds, timings=timings,
                      pca_errors=[config.data.covariance().pca_error(r) for r in range(config.model.K + 1)])
    final: dict[str, Any] = {}
    for side, table in tables.items():
        final[f"{side}_pmse"] = float(table["pmse"].iloc[-1])
    final["pmse"] = final.get("theory_pmse", final.get("simulation_pmse"))
    return final


def plot_run(config: ShallowConfig, theory: pd.DataFrame | None, simulation: pd.DataFrame | None,
             path: str | Path) -> Path:
    """pmse against time with the PCA errors, and the decoder overlaps with the leading PCs."""
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(2, 1, width=5.2, height=3.8)
    ax_err, ax_ov = axes[0]
    cov = config.data.covariance()
    ref = theory if theory is not None else simulation
    positive = ref["t"][ref["t"] > 0]
    linthresh = float(positive.iloc[0]) if len(positive) else 1.0
    sim_t = simulation["t"] if simulation is not None else None

    def col(table, name):
        return None if table is None or name not in table else table[name]

    theory_and_simulation(ax_err, col(theory, "t"), col(theory, "pmse"), sim_t, col(simulation, "pmse"),
                          col(simulation, "pmse_sem"), color=COLORS[0])
    for r in range(1, config.model.K + 1):
        level = cov.pca_error(r)
        ax_err.axhline(level, color="0.5", lw=0.8, ls="--")
        ax_err.text(ref["t"].iloc[-1], level, f" PCA rank {r}", va="bottom", ha="right", fontsize=7, color="0.4")
    ax_err.set_xscale("symlog", linthresh=linthresh)
    ax_err.set_xlim(left=0.0)
    ax_err.set_yscale("log")
    ax_err.set_xlabel("t (SGD steps / D)")
    ax_err.set_ylabel("pmse = E|x - x̂|² / D")
    m = config.model
    ax_err.set_title(f"{m.activation}, K={m.K}, {'tied' if m.tied else 'untied'}"
                     f"{', bias' if m.bias else ''}, D={config.data.D}, η={config.train.lr}", fontsize=9)
    ax_err.legend(fontsize=7, loc="lower left")

    n_pc = min(config.output.pcs, cov.M, 3)
    for k in range(m.K):
        for p in range(n_pc):
            name = f"overlap_v{k + 1}_pc{p + 1}"
            if ref is None or name not in ref:
                continue
            color = COLORS[(k * n_pc + p) % len(COLORS)]
            th = None if theory is None else np.abs(theory[name])
            si = None if simulation is None else np.abs(simulation[name])
            ax_ov.plot([], [], color=color, label=f"unit {k + 1}, PC {p + 1}")
            theory_and_simulation(ax_ov, col(theory, "t"), th, sim_t, si, col(simulation, f"{name}_sem"),
                                  color=color, label="")
    ax_ov.set_xscale("symlog", linthresh=linthresh)
    ax_ov.set_xlim(left=0.0)
    ax_ov.set_xlabel("t (SGD steps / D)")
    ax_ov.set_ylabel("|v_k · e_m| / √D")
    ax_ov.set_title("decoder overlaps with the principal directions", fontsize=9)
    handles, labels = ax_ov.get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels) if lab.startswith("unit")]
    if keep:
        ax_ov.legend(*zip(*keep), fontsize=7, loc="upper left")
    return save_figure(fig, path)


def _run_kind(config: ShallowConfig, out_dir: Path, *, quiet: bool = True) -> dict[str, Any]:
    return run_shallow(config, out_dir, quiet=quiet)


register_kind("shallow", ShallowConfig, _run_kind,
              "shallow autoencoder: exact ODE (Refinetti & Goldt 2022) next to online SGD")
