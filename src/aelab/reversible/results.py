"""Runs of the reversible-net experiments as result objects (Arora, Liang & Ma 2015): one
measurement (theory next to simulation) and scans; the experiment kinds ``reversible-error`` and
``reversible-scan`` (:mod:`aelab.kinds`).

>>> from aelab.reversible import ErrorConfig, error
>>> result = error(ErrorConfig(hidden=200, sparsity=5, visible=1000, trials=400))
>>> result.observables; result.table; result.plot(); result.save("runs/error")   # doctest: +SKIP

* :func:`error`: the measured recovery error ||h^ - h||^2 / ||h||^2 with its standard error and the
  exact prediction (docs/reversible.md); the table ``layers`` has the error at every layer;
* :func:`scan`: the error against rho n, k, tau and depth (tables ``scan`` and ``theory``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aelab.config import as_config
from aelab.kinds import register_kind
from aelab.record import RunRecord
from aelab.results import RunFolder, RunResult, run_into_folder
from aelab.reversible import theory
from aelab.reversible.config import ErrorConfig
from aelab.reversible.scans import ScanConfig, plot_scan, resolve_threshold, scan_tables
from aelab.reversible.simulate import simulate

__all__ = ["ErrorResult", "ScanResult", "error", "scan", "measure", "run_error", "run_scan"]

#: the observables of a measurement (what a sweep records); the rest of :func:`measure` are details
ERROR_OBSERVABLES = ("relative_error", "relative_error_sem", "theory")
_SECONDS = {"seconds_simulation": "simulation", "seconds_theory": "theory"}


def measure(config: ErrorConfig) -> dict[str, Any]:
    """Measured error with its standard error, and the closed-form predictions, for one setting.

    Returns a flat mapping: ``relative_error``, ``relative_error_sem``, ``theory``, ``paper_scale``,
    ``threshold``, support-recovery rates and counts (measured and predicted), per-layer errors.
    """
    spec, source = resolve_threshold(config)
    start = time.perf_counter()
    prediction = theory.predict(spec)
    t_theory = time.perf_counter() - start
    start = time.perf_counter()
    sim = simulate(spec, trials=config.trials, rng=np.random.default_rng(config.seed),
                   per_matrix=config.per_matrix, dtype=config.dtype)
    t_sim = time.perf_counter() - start
    layer_sem = sim.sem("layer_errors")
    return {
        "relative_error": sim.mean(),
        "relative_error_sem": sim.sem(),
        "theory": prediction.relative_error,
        "theory_kind": "exact" if spec.layers == 1 else "state evolution (wide limit)",
        "paper_scale": theory.paper_scale(spec.sparsity, spec.visible, spec.keep_prob),
        "linear_theory": theory.linear_error(spec.hidden, spec.visible, spec.keep_prob) if spec.layers == 1 else None,
        "threshold": spec.threshold,
        "threshold_source": source,
        "bias": spec.bias,
        "exact_support_rate": sim.mean("exact_support") if spec.relu else None,
        "exact_support_theory": prediction.exact_support if spec.relu else None,
        "false_positives": sim.mean("false_positives") if spec.relu else None,
        "false_positives_theory": prediction.false_positives if spec.relu else None,
        "misses": sim.mean("misses") if spec.relu else None,
        "misses_theory": prediction.misses if spec.relu else None,
        "layer_errors": [float(v) for v in sim.mean("layer_errors")],
        "layer_errors_sem": [float(v) for v in np.atleast_1d(layer_sem)],
        "layer_errors_theory": list(prediction.layer_errors),
        "widths": list(spec.widths),
        "trials": sim.trials,
        "matrices": int(sim.group.max()) + 1,
        "seconds_simulation": t_sim,
        "seconds_theory": t_theory,
    }


class ErrorResult(RunResult):
    """One measurement of the recovery error of a reversible random-like net (Arora, Liang & Ma 2015).

    Attributes:
        config: the :class:`~aelab.reversible.config.ErrorConfig`.
        layers (= ``table``): per layer l = 1..L, ``width`` n_l, the measured ``relative_error``
            ||h^_l - h_l||^2 / ||h_l||^2, its ``relative_error_sem`` and the ``theory`` (exact for one
            layer, the state evolution of docs/reversible.md for several).
        measurement: every value of :func:`measure` (``result.json``): the record's observables
            ``relative_error``, ``relative_error_sem``, ``theory``, its details (threshold, paper
            scale k/(rho n), support recovery, ...) and timings.
    """

    kind = "reversible-error"
    config_model = ErrorConfig
    tables_order = ("layers",)

    @property
    def layers(self) -> pd.DataFrame:
        return self.tables["layers"]

    @property
    def measurement(self) -> dict[str, Any]:
        """The values of :func:`measure` in its order (non-finite numbers as None)."""
        timings = self.record.timings_s
        return {**self.observables, **self.record.details,
                **{key: timings.get(name) for key, name in _SECONDS.items()}}

    def write_files(self, folder: RunFolder) -> None:
        folder.write_json("result.json", self.measurement)

    def to_xarray(self):
        """A Dataset on ``layer``: width, measured error, its standard error and the theory."""
        ds = super().to_xarray()
        ds.attrs.update(kind=self.kind, config_hash=self.record.config_hash)
        return ds

    def plot(self):
        """The error at every layer: measured (markers with standard errors) against the theory (line)."""
        from matplotlib.ticker import MaxNLocator

        from aelab.plots import COLORS, new_figure, theory_and_simulation

        t, m = self.layers, self.measurement
        fig, axes = new_figure(1, 1, width=5.0, height=3.6)
        ax = axes[0, 0]
        theory_and_simulation(ax, t["layer"], t["theory"], t["layer"], t["relative_error"], t["relative_error_sem"],
                              color=COLORS[0])
        ax.axhline(m["paper_scale"], color="0.5", lw=0.8, ls=":", label="k/(rho n)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(yscale="log", xlabel="layer l (1 = above the visible layer, L = the top code)",
               ylabel="E|h^_l - h_l|^2 / |h_l|^2")
        c = self.config
        ax.set_title(f"widths {m['widths']}, k = {c.sparsity}, rho = {c.keep_prob:g}, {m['threshold_source']} "
                     f"tau = {m['threshold']:.3g}", fontsize=8)
        ax.legend(fontsize=7)
        return fig


def error(config: ErrorConfig | dict | str | Path) -> ErrorResult:
    """The recovery error of one setting (Arora, Liang & Ma 2015): ``config.trials`` draws of (W, h,
    dropout masks) over ``config.matrices`` weight draws, the exact expected error (one layer) or
    the state evolution (several), support recovery and the paper's scale k/(rho n)."""
    config = as_config(ErrorConfig, config)
    record = RunRecord.start(ErrorResult.kind, config, seeds=[config.seed])
    m = measure(config)
    observables = {k: m[k] for k in ERROR_OBSERVABLES}
    details = {k: v for k, v in m.items() if k not in observables and k not in _SECONDS}
    record = record.finish(observables=observables, details=details,
                           timings_s={name: m[key] for key, name in _SECONDS.items()})
    layers = pd.DataFrame({"layer": np.arange(1, len(m["layer_errors"]) + 1), "width": m["widths"][1:],
                           "relative_error": m["layer_errors"], "relative_error_sem": m["layer_errors_sem"],
                           "theory": m["layer_errors_theory"]})
    return ErrorResult(config, {"layers": layers}, record)


class ScanResult(RunResult):
    """The recovery error against rho n, k, tau and depth (Arora, Liang & Ma 2015; docs/reversible.md).

    Attributes:
        config: the :class:`~aelab.reversible.scans.ScanConfig`.
        scan (= ``table``): the simulation points: ``panel``, ``case``, ``x``, the setting, the
            ``theory`` at the point, ``relative_error``, ``relative_error_sem``, ``exact_support``...
        theory: the dense theory curves (the same columns without the simulation's).
        record: observables ``points`` and ``max_abs_z`` (the largest |simulation - theory| / sem).
    """

    kind = "reversible-scan"
    config_model = ScanConfig
    tables_order = ("scan", "theory")
    figure_file = "scan.png"

    @property
    def scan(self) -> pd.DataFrame:
        return self.tables["scan"]

    @property
    def theory(self) -> pd.DataFrame:
        return self.tables["theory"]

    def to_xarray(self):
        """The simulation points as a Dataset indexed by (``panel``, ``case``, ``x``)."""
        ds = self.scan.set_index(["panel", "case", "x"]).to_xarray()
        ds.attrs.update(kind=self.kind, config_hash=self.record.config_hash)
        return ds

    def plot(self):
        """The six panels of the scan: theory as lines, simulation as markers (a Figure)."""
        return plot_scan(self.scan, self.theory, self.config)


def scan(config: ScanConfig | dict | str | Path, *, progress: bool = False) -> ScanResult:
    """Every panel of ``config``: simulation points (rules sharing a generative model share its
    draws) with the prediction at each, and dense theory curves."""
    config = as_config(ScanConfig, config)
    record = RunRecord.start(ScanResult.kind, config, seeds=[config.base.seed])
    start = time.perf_counter()
    sims, curves = scan_tables(config, quiet=not progress)
    elapsed = time.perf_counter() - start
    z = (sims["relative_error"] - sims["theory"]) / sims["relative_error_sem"].replace(0.0, np.nan)
    observables = {"points": len(sims), "max_abs_z": float(np.nanmax(np.abs(z))) if len(sims) else math.nan}
    record = record.finish(observables=observables, timings_s={"total": elapsed})
    return ScanResult(config, {"scan": sims, "theory": curves}, record)


def run_error(config: ErrorConfig, out_dir: str | Path, *, quiet: bool = True, overwrite: bool = False) -> dict:
    """Kind ``reversible-error``: :func:`error` into a run folder (``result.json``, ``layers.csv``,
    ``figure.png``); the observables."""
    config = as_config(ErrorConfig, config)
    return run_into_folder(ErrorResult.kind, config, out_dir, lambda: error(config), seeds=[config.seed],
                        overwrite=overwrite)


def run_scan(config: ScanConfig, out_dir: str | Path, *, quiet: bool = True, overwrite: bool = False) -> dict:
    """Kind ``reversible-scan``: :func:`scan` into a run folder (``scan.csv``, ``theory.csv``,
    ``scan.png``); the observables."""
    config = as_config(ScanConfig, config)
    return run_into_folder(ScanResult.kind, config, out_dir, lambda: scan(config, progress=not quiet),
                        seeds=[config.base.seed], overwrite=overwrite)


register_kind("reversible-error", ErrorConfig, run_error,
              "Arora, Liang & Ma 2015: recovery error of a reversible random-like net, simulation and theory")
register_kind("reversible-scan", ScanConfig, run_scan,
              "Arora, Liang & Ma 2015: recovery error against rho n, k, tau and depth")
