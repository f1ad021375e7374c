"""Seeds of one shallow run spread over processes: speed-up against one process, same numbers.

    python benchmarks/shallow_seeds.py [--D 500] [--time 400] [--seeds 4] [--workers 2]

Prints the ratio first (serial time / parallel time, the target is >= 1.8 on two cores), then
the absolute times and the machine load; checks that both runs give the same tables bit for bit.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

import aelab
from aelab.shallow import ShallowConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--D", type=int, default=500)
    ap.add_argument("--time", type=float, default=400.0)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    cfg = ShallowConfig().with_overrides({"data.D": args.D, "train.time": args.time, "train.seeds": args.seeds,
                                          "output.points": 20})
    aelab.shallow.run(cfg.with_overrides({"train.time": 1.0, "train.seeds": 1}), theory=False)  # compile
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    serial = aelab.shallow.run(cfg, theory=False, workers=1)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    parallel = aelab.shallow.run(cfg, theory=False, workers=args.workers)
    t_parallel = time.perf_counter() - t0
    pd.testing.assert_frame_equal(serial.per_seed, parallel.per_seed, check_exact=True)
    steps = args.seeds * round(args.time * args.D)
    print(f"seeds over {args.workers} processes: {t_serial / t_parallel:.2f}x one process (bit-identical tables)")
    print(f"  one process {t_serial:.2f} s ({steps / t_serial:,.0f} steps/s), {args.workers} processes "
          f"{t_parallel:.2f} s ({steps / t_parallel:,.0f} steps/s); D = {args.D}, {args.seeds} seeds, "
          f"t = {args.time:g}; load {load:.2f} (cores {os.cpu_count()})")


if __name__ == "__main__":
    main()
