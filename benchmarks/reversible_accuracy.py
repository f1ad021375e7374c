"""Accuracy of the reversible-net theory: simulation against the closed forms at growing sizes.

Prints, for the three inference rules of one layer and for two- and three-layer nets, the measured
error with its standard error, the prediction, and the discrepancy in standard errors. One-layer
predictions are exact at every size, so the discrepancy stays O(1) standard errors while the
standard errors shrink; the multi-layer state evolution is exact in the wide limit, so its
discrepancy shrinks like 1/width. Single core (``OMP_NUM_THREADS=1``).

    python benchmarks/reversible_accuracy.py [--trials 2000]
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
from aelab.reversible.simulate import simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'setting':46s} {'measured':>10s} {'sem':>9s} {'theory':>10s} {'z':>6s} {'rel.gap':>8s}")
    one_layer = [("(a) no ReLU", dict(relu=False)), ("(b) ReLU, b = 0", dict(threshold=0.0)),
                 ("(c) ReLU, tau = 2", dict(threshold=2.0)), ("(c) exponential, rho = 0.5", dict(
                     threshold=1.5, nonzero="exponential", keep_prob=0.5))]
    for label, case in one_layer:
        for n, m, k in [(250, 50, 2), (1000, 200, 5), (4000, 800, 20)]:
            spec = NetSpec(widths=(n, m), sparsity=k, **case)
            sim = simulate(spec, trials=args.trials, rng=rng, per_matrix=20, dtype=np.float32)
            pred = theory.predict(spec, support=False).relative_error
            _row(f"{label}: n={n} m={m} k={k}", sim.mean(), sim.sem(), pred)
    for widths, k in [((1000, 300, 50), 3), ((2000, 600, 100), 6), ((4000, 1200, 200), 12),
                      ((1500, 700, 250, 50), 3), ((6000, 2800, 1000, 200), 12)]:
        spec = NetSpec(widths=widths, sparsity=k, threshold=1.0)
        sim = simulate(spec, trials=max(200, args.trials // 4), rng=rng, per_matrix=10, dtype=np.float32)
        pred = theory.predict(spec, support=False).layer_errors
        for ell, (mean, sem, th) in enumerate(zip(sim.mean("layer_errors"), sim.sem("layer_errors"), pred), 1):
            _row(f"L={len(widths) - 1} widths={widths} layer {ell}", mean, sem, th)


def _row(label: str, mean: float, sem: float, th: float) -> None:
    print(f"{label:46s} {mean:10.5f} {sem:9.5f} {th:10.5f} {(mean - th) / sem:6.2f} {mean / th - 1:8.4f}",
          flush=True)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
