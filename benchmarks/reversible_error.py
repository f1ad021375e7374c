"""Speed of the recovery-error measurement of a reversible net: batched against a per-draw loop.

Target (issue 8): one setting with m = 1000, n = 5000 over 1,000 draws in at most 1 s. The batched
simulation does one matrix product per layer for all draws that share a weight matrix; the
baseline loops over the draws with matrix-vector products (same model functions, batch size 1).
Single core: ``OMP_NUM_THREADS=1`` is set before NumPy is imported.

    python benchmarks/reversible_error.py [--trials 1000] [--loop-trials 1000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from aelab.reversible import theory  # noqa: E402
from aelab.reversible.config import NetSpec  # noqa: E402
from aelab.reversible.simulate import simulate, simulate_loop  # noqa: E402


def _best_of(repeats, func):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--visible", type=int, default=5000)
    parser.add_argument("--sparsity", type=int, default=10)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--loop-trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spec = NetSpec(widths=(args.visible, args.hidden), sparsity=args.sparsity)
    t_opt, tau = _best_of(1, lambda: theory.optimal_threshold(spec))
    spec = spec.with_threshold(tau)
    t_th, pred = _best_of(args.repeats, lambda: theory.predict(spec))
    print(f"m={args.hidden} n={args.visible} k={args.sparsity} tau*={tau:.3f}  "
          f"threads={os.environ['OMP_NUM_THREADS']}")
    print(f"theory: optimal tau {t_opt * 1e3:.1f} ms, prediction {t_th * 1e3:.1f} ms "
          f"(error {pred.relative_error:.5f})")
    print(f"{'method':44s} {'draws':>6s} {'seconds':>8s} {'draws/s':>9s} {'error':>9s} {'sem':>8s}")

    def row(name, trials, seconds, sim):
        print(f"{name:44s} {trials:6d} {seconds:8.3f} {trials / seconds:9.0f} {sim.mean():9.5f} {sim.sem():8.5f}")

    rows = {}
    for label, per, dtype in [("batched, 1 weight draw, float64", args.trials, np.float64),
                              ("batched, 1 weight draw, float32", args.trials, np.float32),
                              ("batched, 10 weight draws, float64", -(-args.trials // 10), np.float64),
                              ("batched, 10 weight draws, float32 (CLI)", -(-args.trials // 10), np.float32)]:
        seconds, sim = _best_of(args.repeats, lambda per=per, dtype=dtype: simulate(
            spec, trials=args.trials, rng=np.random.default_rng(0), per_matrix=per, dtype=dtype))
        rows[label] = seconds
        row(label, args.trials, seconds, sim)
    seconds, sim = _best_of(1, lambda: simulate_loop(spec, trials=args.loop_trials, rng=np.random.default_rng(0)))
    row("per-draw loop, 1 weight draw, float64", args.loop_trials, seconds, sim)
    per_draw = seconds / args.loop_trials
    base = rows["batched, 1 weight draw, float64"] / args.trials
    print(f"speed-up of the batched float64 path over the loop: {per_draw / base:.1f}x per draw")
    target = rows["batched, 10 weight draws, float32 (CLI)"] * 1000 / args.trials
    print(f"CLI default setting, 1,000 draws: {target:.3f} s (target <= 1 s: {'met' if target <= 1 else 'missed'})")


if __name__ == "__main__":
    main()
