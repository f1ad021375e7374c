"""Experiment kinds of the deep area (for ``aelab sweep`` and run folders): ``deep-evolve`` runs
Theorem 1, ``deep-simulate`` random networks next to the theory."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

from aelab.config import StrictModel
from aelab.deep.config import DeepConfig, MonteCarloConfig
from aelab.errors import ConfigError
from aelab.kinds import register_kind
from aelab.results import RunFolder

__all__ = ["EvolveRun", "SimulateRun", "run_evolve", "run_simulate", "check_positive"]


def check_positive(option: str, value: float) -> None:
    """Raise a :class:`ConfigError` naming ``option`` unless ``value`` is positive and finite."""
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{option}: must be positive and finite, got {value}")


class EvolveRun(StrictModel):
    """Theorem 1 for one network."""

    network: DeepConfig = DeepConfig()
    method: Literal["auto", "kernel", "reference"] = "auto"


class SimulateRun(StrictModel):
    """Random networks of one setting, next to the theory."""

    network: DeepConfig = DeepConfig()
    monte_carlo: MonteCarloConfig = MonteCarloConfig()


def run_evolve(config: EvolveRun, out_dir: Path, *, quiet: bool = True) -> dict:
    """Write ``evolution.csv`` (columns layer, gamma, rho, tau_bar_sq, S, V) and return the output's S, V."""
    from aelab.deep.state_evolution import evolve

    folder = RunFolder(out_dir)
    folder.write_config(config)
    t0 = time.perf_counter()
    ev = evolve(config.network, method=config.method)
    folder.write_table("evolution.csv", ev.table())
    out = {"S": ev.s_sig, "V": float(ev.V[0]), "reconstruction_error": ev.reconstruction_error(),
           "infinite_layer": ev.infinite_layer or 0}
    folder.write_meta(status="complete", timings={"evolve_s": time.perf_counter() - t0}, results=out)
    return out


def run_simulate(config: SimulateRun, out_dir: Path, *, quiet: bool = True) -> dict:
    """Write ``simulation.csv`` (means and standard errors), ``samples.csv`` and ``theory.csv``."""
    import pandas as pd

    from aelab.deep.monte_carlo import ESTIMATORS, simulate
    from aelab.deep.state_evolution import evolve

    folder = RunFolder(out_dir)
    folder.write_config(config)
    t0 = time.perf_counter()
    sim = simulate(config.network, config.monte_carlo, quiet=quiet)
    elapsed = time.perf_counter() - t0
    folder.write_table("simulation.csv", sim.table())
    rows = []
    for k in range(config.monte_carlo.samples):
        for l in range(config.network.depth):
            rows.append({"sample": k, "layer": l + 1, **{n: sim.values[n][k, l] for n in ESTIMATORS}})
    folder.write_table("samples.csv", pd.DataFrame(rows))
    ev = evolve(config.network)
    folder.write_table("theory.csv", ev.table())
    out = {"S": float(sim.mean("S")[0]), "S_se": float(sim.sem("S")[0]), "V": float(sim.mean("V")[0]),
           "V_se": float(sim.sem("V")[0]), "S_theory": ev.s_sig, "V_theory": float(ev.V[0]),
           "reconstruction_error": float(sim.reconstruction_error.mean())}
    folder.write_meta(status="complete", seeds={"seed": sim.info["seed"]}, timings={"simulate_s": elapsed},
                      results=out)
    return out


register_kind("deep-evolve", EvolveRun, run_evolve, "Li & Nguyen 2019 state evolution (Theorem 1)")
register_kind("deep-simulate", SimulateRun, run_simulate, "random weight-tied networks next to Theorem 1")
