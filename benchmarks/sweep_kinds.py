"""Experiment kinds used by ``sweep_overhead.py``: a trivial one and a CPU-bound one.

They live in an importable module so that worker processes and Dask workers find them
(``experiment = "sweep_kinds:trivial"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aelab.config import StrictModel
from aelab.kinds import register_kind


class TrivialConfig(StrictModel):
    x: float = 0.0


def run_trivial(config: TrivialConfig, out_dir: Path, *, quiet: bool) -> dict:
    """Write one tiny file and return x."""
    (out_dir / "x.txt").write_text(f"{config.x!r}\n")
    return {"y": config.x}


class CpuConfig(StrictModel):
    n: int = 1_000_000
    repeats: int = 8
    seed: int = 0


def run_cpu(config: CpuConfig, out_dir: Path, *, quiet: bool) -> dict:
    """Sort ``repeats`` fresh Gaussian vectors of length ``n`` (single-threaded, CPU-bound)."""
    rng = np.random.default_rng(config.seed)
    total = 0.0
    for _ in range(config.repeats):
        total += float(np.sort(rng.standard_normal(config.n))[config.n // 2])
    (out_dir / "median.txt").write_text(f"{total / config.repeats!r}\n")
    return {"median": total / config.repeats}


register_kind("trivial", TrivialConfig, run_trivial, "one float, one tiny file (sweep overhead)")
register_kind("cpu", CpuConfig, run_cpu, "sorting Gaussian vectors (CPU-bound sweep points)")
