"""A 200 x 200 phase diagram of Li & Nguyen (2019) at depth 100, vectorised over the grid.

    python benchmarks/deep_phase_diagram.py [--quick] [--threads 2]

Times :func:`aelab.deep.diagram.phase_diagram` over (sigma_W^2, sigma_b^2) (Theorem 1 in
every cell, then the infinite-depth phase from the stability of gamma = 0) on ``--threads``
cores (target <= 3 s for tanh/tanh on 2 cores). Baselines, in the same run: the same diagram on one
thread (the ratio is the use of the cores), and the NumPy reference on a sample of cells,
extrapolated to the grid. Ratios first, then wall seconds (CPU seconds in brackets: on a machine
shared with other work the wall time grows, the CPU time much less), and the machine load.
"""

from __future__ import annotations

import os
import sys

_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2"
os.environ.setdefault("NUMBA_NUM_THREADS", _threads)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from aelab.deep.diagram import phase_diagram  # noqa: E402
from aelab.deep.state_evolution import evolve_many  # noqa: E402

TARGET_S = 3.0


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    import numba

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 60 x 60 grid")
    ap.add_argument("--threads", default=_threads, help="numba threads (default 2)")
    args = ap.parse_args()
    points, depth = (60, 100) if args.quick else (200, 100)
    xr, yr = (0.1, 4.0), (0.0, 1.0)
    for enc, dec in [("tanh", "tanh"), ("tanh", "relu")]:  # warm-up: compilation (serial and parallel), tables
        phase_diagram(enc, dec, 100, points=25, x_range=xr, y_range=yr)
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"machine load (1 min) at start: {load()}")
    print(f"phase diagram over (sigma_W^2, sigma_b^2), {points} x {points} cells, depth {depth}, {threads} threads")
    for enc, dec in [("tanh", "tanh"), ("tanh", "relu"), ("relu", "relu")]:
        run = lambda: phase_diagram(enc, dec, depth, points=points, x_range=xr, y_range=yr)  # noqa: E731
        d, wall, cpu = timed(run)
        numba.set_num_threads(1)
        _, wall1, _ = timed(run)
        numba.set_num_threads(threads)
        # baseline: the NumPy reference on a sample of cells, per cell
        rng = np.random.default_rng(0)
        k = 4 if args.quick else 8
        ws, bs = rng.uniform(*xr, k), rng.uniform(*yr, k)
        r0 = time.process_time()
        evolve_many(enc, dec, depth, sigma_w_sq=ws, sigma_b_sq=bs, method="reference")
        ref_total = (time.process_time() - r0) / k * points * points
        phases, counts = np.unique(d.phase, return_counts=True)
        target = TARGET_S * (points / 200) ** 2
        status = "ok" if wall <= target else "MISSED"
        print(f"  {enc:>4s} encoder, {dec:>4s} decoder: {wall1 / wall:4.2f} x its one-thread time, "
              f"{ref_total / max(cpu, 1e-9):5.0f} x the NumPy reference (CPU)   {wall:6.2f} s ({cpu:6.2f} s CPU; "
              f"one thread {wall1:6.2f} s; reference ~{ref_total:7.0f} s CPU from {k} cells)   "
              f"target <= {target:.3g} s: {status}")
        print("      phases: " + ", ".join(f"{p} {n}" for p, n in zip(phases, counts)))
    print(f"machine load (1 min) at end: {load()}")


if __name__ == "__main__":
    main()
