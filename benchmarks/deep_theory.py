"""Finite-depth state evolution (Li & Nguyen 2019, Theorem 1): compiled kernels against the NumPy
reference, measured in the same run.

    python benchmarks/deep_theory.py [--quick]

Depth 200, one setting, for four activation pairs (target <= 5 ms). Wall milliseconds, median of
repeated runs after a warm-up (compilation excluded); CPU milliseconds in brackets (on a machine
shared with other work the wall times grow, the CPU times much less). One thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from aelab.deep.config import Setting  # noqa: E402
from aelab.deep.state_evolution import evolve  # noqa: E402

TARGET_MS = 5.0


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return 1e3 * float(np.median(walls)), 1e3 * float(np.median(cpus))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    depth = 200
    repeats, ref_repeats = (5, 1) if args.quick else (50, 3)
    pairs = [("tanh", "tanh", 2.312, 0.211), ("relu", "relu", 2.0, 0.0), ("tanh", "relu", 2.0, 0.1),
             ("relu", "tanh", 1.6, 0.1)]
    print(f"state evolution, depth {depth}, one setting: compiled kernels vs the NumPy reference "
          f"(median of {repeats} / {ref_repeats} runs)")
    for enc, dec, sw, sb in pairs:
        s = Setting.make(enc, dec, depth, sigma_w_sq=sw, sigma_b_sq=sb)
        a, b = evolve(s), evolve(s, method="reference")  # warm-up: compilation, tables
        assert np.allclose(a.V, b.V, rtol=1e-6), (enc, dec)  # (tiny S: the reference cancels, see docs)
        wall, cpu = timed(lambda: evolve(s), repeats)
        ref_wall, ref_cpu = timed(lambda: evolve(s, method="reference"), ref_repeats)
        status = "ok" if cpu <= TARGET_MS else "MISSED"
        print(f"  {enc:>5s} encoder, {dec:>5s} decoder: {wall:7.2f} ms ({cpu:6.2f} ms CPU)   reference "
              f"{ref_wall:8.1f} ms ({ref_cpu:7.1f} ms CPU), {ref_cpu / cpu:5.0f}x   "
              f"target <= {TARGET_MS:g} ms: {status}")


if __name__ == "__main__":
    main()
