"""A shallow experiment end to end: theory and simulation of one configuration as a result object.

>>> from aelab.shallow import ShallowConfig, run
>>> result = run(ShallowConfig(), progress=True)          # doctest: +SKIP
>>> result.theory[["t", "pmse"]].tail(); result.plot(); result.save("runs/demo")   # doctest: +SKIP

Run folder (``aelab shallow run CONFIG --out DIR``, or :meth:`ShallowResult.save`):
    config.json      the resolved configuration
    meta.json        the run record (:class:`aelab.record.RunRecord`)
    theory.csv       the ODE on the time grid
    simulation.csv   online SGD averaged over seeds, same columns plus ``<column>_sem``
    per_seed.csv     every seed's SGD run: ``seed`` and the observables
    figure.png       pmse and overlaps: theory as lines, simulation as markers

Columns: ``t`` (time in units of D SGD steps), ``pmse`` (E||x - x_hat||^2 / D, twice the SGD
loss), ``Q_k_l``, ``R_k_l``, ``T_k_l``, ``T0_k_l``, ``b_k`` and the overlaps
``overlap_w{k}_pc{m}``, ``overlap_v{k}_pc{m}`` (see :func:`aelab.shallow.state.observables`); with
a data set also ``pmse_images`` (the error on held-out images), with a finite training set
``train_pmse`` and ``passes``.
"""

from __future__ import annotations

import time as _time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aelab.config import as_config
from aelab.errors import DivergenceError
from aelab.kinds import register_kind
from aelab.record import RunRecord
from aelab.results import RunResult, run_into_folder
from aelab.shallow.config import ShallowConfig

__all__ = ["ShallowResult", "run", "run_shallow", "plot_run"]


class ShallowResult(RunResult):
    """Theory (the ODE) and online SGD of one shallow setting on one time grid.

    Attributes:
        config: the :class:`~aelab.shallow.config.ShallowConfig`.
        theory: the ODE table (None with ``theory=False``).
        simulation: SGD averaged over seeds, with ``<column>_sem`` (None with ``simulation=False``).
        per_seed: every seed's table stacked, with a ``seed`` column first.
        record: the run record; ``record.details["pca_errors"]`` are the PCA errors of rank 0..K.
    """

    kind = "shallow"
    config_model = ShallowConfig
    tables_order = ("theory", "simulation", "per_seed")

    @property
    def theory(self) -> pd.DataFrame | None:
        return self.tables.get("theory")

    @property
    def simulation(self) -> pd.DataFrame | None:
        return self.tables.get("simulation")

    @property
    def per_seed(self) -> pd.DataFrame | None:
        return self.tables.get("per_seed")

    @property
    def pca_errors(self) -> list[float]:
        return list(self.record.details.get("pca_errors", []))

    def to_xarray(self):
        """One Dataset on the time axis ``t``: every observable with a ``side`` dimension (``theory``,
        ``simulation``), the simulation's standard errors as ``<name>_sem``, and each seed's values as
        ``per_seed_<name>`` over (``seed``, ``t``)."""
        import xarray as xr

        ref = self.theory if self.theory is not None else self.simulation
        t = ref["t"].to_numpy()
        sides = [(name, table) for name, table in (("theory", self.theory), ("simulation", self.simulation))
                 if table is not None]
        names = [c for c in ref.columns if c != "t" and not c.endswith("_sem")]
        if self.simulation is not None:
            names += [c for c in self.simulation.columns
                      if c != "t" and not c.endswith("_sem") and c not in names]
        data = {}
        for name in names:
            rows = [table[name].to_numpy() if name in table else np.full(len(t), np.nan) for _, table in sides]
            data[name] = (("side", "t"), np.vstack(rows))
            if self.simulation is not None and f"{name}_sem" in self.simulation:
                data[f"{name}_sem"] = ("t", self.simulation[f"{name}_sem"].to_numpy())
        coords: dict[str, Any] = {"t": t, "side": [s for s, _ in sides]}
        if self.per_seed is not None:
            seeds = sorted(self.per_seed["seed"].unique())
            coords["seed"] = seeds
            for name in self.per_seed.columns:
                if name in ("seed", "t"):
                    continue
                values = np.vstack([self.per_seed.loc[self.per_seed["seed"] == s, name].to_numpy() for s in seeds])
                data[f"per_seed_{name}"] = (("seed", "t"), values)
        return xr.Dataset(data, coords=coords, attrs={"kind": self.kind, "config_hash": self.record.config_hash})

    def plot(self):
        """pmse against time with the PCA errors, and the decoder overlaps with the leading PCs (a Figure)."""
        return plot_run(self.config, self.theory, self.simulation, pca_errors=self.pca_errors)


def run(config: ShallowConfig | dict | str | Path, *, theory: bool = True, simulation: bool = True,
        progress: bool = False, workers: int = 1, images=None, data_dir: str | Path | None = None,
        ignore_memory: bool = False) -> ShallowResult:
    """Integrate the exact ODE of ``config`` and train it by online SGD over its seeds.

    Refinetti & Goldt (ICML 2022): the ODE (eqs. 6-9, written per eigen-direction in
    docs/shallow.md) from the overlaps of the simulation's own initial weights, next to SGD on
    the configured sample source (fresh Gaussian inputs, a finite training set, or real images).

    Args:
        config: a :class:`~aelab.shallow.config.ShallowConfig`, a dict of sections or a config file.
        theory, simulation: which sides to compute.
        progress: show progress bars on stderr.
        workers: processes over seeds (the same numbers as one process).
        images: preprocessed images (:class:`~aelab.shallow.real_data.RealData`) for ``data.dataset``.
        data_dir: where the data sets are.
        ignore_memory: go ahead although the memory estimate exceeds the free memory.

    Raises:
        DivergenceError: either side diverged; ``partial`` holds its table so far and ``completed``
            the tables finished before.
    """
    from aelab.shallow.problem import resolve
    from aelab.shallow.simulation import simulate as simulate_seeds
    from aelab.shallow.theory import run_theory

    config = as_config(ShallowConfig, config)
    config.check_memory(theory=theory, simulation=simulation, workers=workers, allow=ignore_memory)
    record = RunRecord.start("shallow", config, seeds=list(config.train.seeds), options={"workers": workers})
    start = _time.perf_counter()
    problem = resolve(config, images=images, data_dir=data_dir)
    timings = {"setup": _time.perf_counter() - start}
    times = config.time_grid()
    tables: dict[str, pd.DataFrame] = {}
    try:
        if theory:
            tables["theory"], timings["theory"] = run_theory(problem, times, ode=config.ode, quiet=not progress)
        if simulation:
            tables["simulation"], frames, timings["simulation"] = simulate_seeds(problem, times, workers=workers,
                                                                                 quiet=not progress)
            tables["per_seed"] = pd.concat([f.assign(seed=s)[["seed", *f.columns]] for s, f in
                                            zip(config.train.seeds, frames)], ignore_index=True)
    except DivergenceError as exc:
        exc.completed = dict(tables)
        raise
    observables: dict[str, Any] = {}
    for side in ("theory", "simulation"):
        if side in tables:
            observables[f"{side}_pmse"] = float(tables[side]["pmse"].iloc[-1])
    observables["pmse"] = observables.get("theory_pmse", observables.get("simulation_pmse"))
    details: dict[str, Any] = {"pca_errors": [problem.cov.pca_error(r) for r in range(config.model.K + 1)]}
    if "simulation" in timings:
        details["sgd_steps_per_second"] = len(config.train.seeds) * round(times[-1] * config.data.D) / max(
            timings["simulation"], 1e-12)
    record = record.finish(observables=observables, timings_s=timings, details=details)
    return ShallowResult(config, tables, record)


def run_shallow(config: ShallowConfig, out_dir: str | Path, *, quiet: bool = True, theory: bool = True,
                simulation: bool = True, overwrite: bool = False, workers: int = 1,
                ignore_memory: bool = False) -> dict[str, Any]:
    """:func:`run` into a run folder (started before any work, so that a killed run says ``running``);
    returns the final observables. A failure is recorded in ``meta.json`` with what was computed."""
    config = as_config(ShallowConfig, config)
    config.check_memory(theory=theory, simulation=simulation, workers=workers, allow=ignore_memory)
    return run_into_folder("shallow", config, out_dir, lambda: run(config, theory=theory, simulation=simulation,
                                                                   progress=not quiet, workers=workers,
                                                                   ignore_memory=True),
                           seeds=config.train.seeds, options={"workers": workers}, overwrite=overwrite)


def plot_run(config: ShallowConfig, theory: pd.DataFrame | None, simulation: pd.DataFrame | None,
             path: str | Path | None = None, *, pca_errors: list[float] | None = None):
    """pmse against time with the PCA errors, and the decoder overlaps with the leading PCs.

    Returns the Figure, or saves it to ``path`` and returns the path.
    """
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(2, 1, width=5.2, height=3.8)
    ax_err, ax_ov = axes[0]
    if pca_errors is None:
        cov = config.data.covariance()
        pca_errors = [cov.pca_error(r) for r in range(config.model.K + 1)]
    ref = theory if theory is not None else simulation
    positive = ref["t"][ref["t"] > 0]
    linthresh = float(positive.iloc[0]) if len(positive) else 1.0
    sim_t = simulation["t"] if simulation is not None else None

    def col(table, name):
        return None if table is None or name not in table else table[name]

    theory_and_simulation(ax_err, col(theory, "t"), col(theory, "pmse"), sim_t, col(simulation, "pmse"),
                          col(simulation, "pmse_sem"), color=COLORS[0])
    for r in range(1, len(pca_errors)):
        level = pca_errors[r]
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

    n_pc = min(config.output.pcs, 3)
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
    return fig if path is None else save_figure(fig, path)


def _run_kind(config: ShallowConfig, out_dir: Path, *, quiet: bool = True) -> dict[str, Any]:
    return run_shallow(config, out_dir, quiet=quiet)


register_kind("shallow", ShallowConfig, _run_kind,
              "shallow autoencoder: exact ODE (Refinetti & Goldt 2022) next to online SGD")
