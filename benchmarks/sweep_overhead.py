"""Sweep overhead per point (serial, local processes, Dask LocalCluster) on a trivial experiment,
and the 2-worker speed-up on CPU-bound points. Baselines are measured in the same run: the
runner called directly, and the serial sweep.

    OMP_NUM_THREADS=1 python benchmarks/sweep_overhead.py [--points 200] [--cpu-points 8]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import sweep_kinds  # noqa: E402

from aelab.sweep import load_grid, make_executor, run_sweep  # noqa: E402
from aelab.sweep.executors import available_cores  # noqa: E402


def direct_per_point(n: int, root: Path) -> float:
    """The runner alone: one fresh folder and one call per point."""
    start = time.perf_counter()
    for i in range(n):
        folder = root / f"direct{i}"
        folder.mkdir()
        sweep_kinds.run_trivial(sweep_kinds.TrivialConfig(x=float(i)), folder, quiet=True)
    return (time.perf_counter() - start) / n


def timed_sweep(grid, out: Path, executor, **kwargs) -> float:
    return timed_report(grid, out, executor, **kwargs)[0]


def timed_report(grid, out: Path, executor, **kwargs):
    """Wall-clock seconds of a sweep and the mean time of one point inside its worker."""
    start = time.perf_counter()
    report = run_sweep(grid, out, executor=executor, quiet=True, **kwargs)
    wall = time.perf_counter() - start
    assert report.ran == grid.size and not report.failed, report
    return wall, sum(o.elapsed_s for o in report.outcomes) / len(report.outcomes)


def overhead(n: int, workers: int, root: Path) -> None:
    grid = load_grid({"experiment": "sweep_kinds:trivial", "axes": {"x": {"linspace": [0, 1, n]}}})
    warm = load_grid({"experiment": "sweep_kinds:trivial", "axes": {"x": [-1.0, -2.0, -3.0, -4.0]}})
    timed_sweep(load_grid({"experiment": "sweep_kinds:trivial"}), root / "imports", "serial")  # load libraries
    base = direct_per_point(n, root)
    print(f"trivial experiment, {n} points; runner called directly: {base * 1e3:.3f} ms/point")
    print(f"{'executor':<22}{'start-up s':>12}{'cold ms/point':>15}{'warm ms/point':>15}{'overhead ms':>13}  target")
    targets = {"serial": 5, "processes": 50, "dask": 100}
    for name in ("serial", "processes", "dask"):
        kwargs = {} if name == "serial" else {"max_workers": workers}
        cold = timed_sweep(grid, root / f"{name}-cold", name, **kwargs)
        pool = make_executor(name, **kwargs)
        with pool:
            t0 = time.perf_counter()
            timed_sweep(warm, root / f"{name}-warmup", pool)
            startup = time.perf_counter() - t0
            warm_t = timed_sweep(grid, root / f"{name}-warm", pool)
        label = name if name == "serial" else f"{name} ({workers} workers)"
        per_cold = cold / n
        print(f"{label:<22}{startup:>12.2f}{per_cold * 1e3:>15.2f}{warm_t / n * 1e3:>15.2f}"
              f"{(per_cold - base) * 1e3:>13.2f}  <= {targets[name]} ms")


def speedup(n: int, repeats: int, workers: int, root: Path) -> None:
    """Serial against ``workers`` workers; the mean time of a point inside its worker shows
    contention (it grows when other jobs share the cores)."""
    grid = load_grid({"experiment": "sweep_kinds:cpu", "base": {"repeats": repeats},
                      "axes": {"seed": {"range": [0, n]}}})
    serial, point = timed_report(grid, root / "cpu-serial", "serial")
    print(f"\nCPU-bound points: {n} points; serial sweep {serial:.2f} s ({point:.2f} s per point)")
    print(f"{'executor':<22}{'wall s':>9}{'speed-up':>10}{'warm wall s':>13}{'warm speed-up':>15}"
          f"{'s per point':>13}  target")
    for name in ("processes", "dask"):
        cold, _ = timed_report(grid, root / f"cpu-{name}-cold", name, max_workers=workers)
        pool = make_executor(name, max_workers=workers)
        with pool:
            timed_sweep(load_grid({"experiment": "sweep_kinds:cpu", "base": {"n": 1000},
                                   "axes": {"seed": [0, 1, 2, 3]}}), root / f"cpu-{name}-warmup", pool)
            warm, point = timed_report(grid, root / f"cpu-{name}-warm", pool)
        print(f"{name + f' ({workers} workers)':<22}{cold:>9.2f}{serial / cold:>10.2f}{warm:>13.2f}"
              f"{serial / warm:>15.2f}{point:>13.2f}  >= 1.8x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200, help="trivial points per sweep")
    parser.add_argument("--cpu-points", type=int, default=12, help="CPU-bound points")
    parser.add_argument("--repeats", type=int, default=32, help="sorts per CPU-bound point (about 25 ms each)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    print(f"{available_cores()} cores available to this process; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    root = Path(tempfile.mkdtemp(prefix="aelab-sweep-bench-"))
    try:
        overhead(args.points, args.workers, root)
        speedup(args.cpu_points, args.repeats, args.workers, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
