"""Runs of the reversible-net experiments: one measurement (theory next to simulation) and scans.

Registers the experiment kinds ``reversible-error`` and ``reversible-scan`` (:mod:`aelab.kinds`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from aelab.kinds import register_kind
from aelab.results import RunFolder
from aelab.reversible import theory
from aelab.reversible.config import ErrorConfig, NetSpec
from aelab.reversible.scan import ScanConfig, run_scan
from aelab.reversible.simulate import simulate

__all__ = ["resolve_threshold", "measure", "run_error", "run_scan_kind"]


def resolve_threshold(config: ErrorConfig) -> tuple[NetSpec, str]:
    """The net of ``config`` with ``threshold="opt"`` replaced by the minimiser of the predicted error."""
    if config.bias is not None:
        return config.net(), "fixed bias"
    if config.threshold == "opt":
        spec = config.net(0.0)
        return spec.with_threshold(theory.optimal_threshold(spec)), "optimal"
    return config.net(), "given"


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


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_error(config: ErrorConfig, out_dir: Path, *, quiet: bool = True) -> dict[str, Any]:
    """Kind ``reversible-error``: one measurement written to a run folder (``result.json``)."""
    folder = RunFolder(out_dir)
    folder.write_config(config)
    result = measure(config)
    folder.write_json("result.json", {k: _clean(v) for k, v in result.items()})
    folder.write_meta(status="complete", seeds={"seed": config.seed},
                      timings={"simulation": result["seconds_simulation"], "theory": result["seconds_theory"]})
    return {"relative_error": result["relative_error"], "relative_error_sem": result["relative_error_sem"],
            "theory": result["theory"]}


def run_scan_kind(config: ScanConfig, out_dir: Path, *, quiet: bool = True) -> dict[str, Any]:
    """Kind ``reversible-scan``: error against rho n, k, tau and depth (run folder with a figure)."""
    return run_scan(config, out_dir, quiet=quiet)


register_kind("reversible-error", ErrorConfig, run_error,
              "Arora, Liang & Ma 2015: recovery error of a reversible random-like net, simulation and theory")
register_kind("reversible-scan", ScanConfig, run_scan_kind,
              "Arora, Liang & Ma 2015: recovery error against rho n, k, tau and depth")
