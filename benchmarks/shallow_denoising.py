"""Online SGD of a denoising autoencoder against the plain autoencoder, in the same run.

    python benchmarks/shallow_denoising.py [--D 500] [--steps 400000]

Prints ratios first (the denoising step draws 2 D normals instead of D: its cost relative to the
autoencoder's, and to aelab's own draws of 2 D numbers), then steps/s and the machine load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from aelab.activations import get_activation
from aelab.normal_draws import NormalStream
from aelab.shallow.sgd import sgd_steps
from aelab.shallow.sources import CHUNK, SAMPLE_DTYPE


def _rate(fn, steps: int, repeats: int = 5) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(steps)
        best = min(best, time.perf_counter() - t0)
    return steps / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--D", type=int, default=500)
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200_000)
    args = ap.parse_args()
    D, K = args.D, args.K
    act = get_activation("erf")
    rng = np.random.default_rng(0)
    std = np.sqrt(np.concatenate([[0.8 * D + 0.1, 0.1 * D + 0.1], np.full(D - 2, 0.1)]))
    normals = NormalStream(np.random.default_rng(1))
    Z = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    Xi = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)

    def run(noise: float, skip: bool):
        W, V, b = rng.normal(size=(K, D)) * 0.1, rng.normal(size=(K, D)) * 0.1, np.zeros(K)
        s = np.array([0.0]) if skip else None

        def go(steps):
            for _ in range(steps // CHUNK):
                normals.fill(Z)
                if noise:
                    normals.fill(Xi)
                sgd_steps(W, V, b, Z, std, lr=1.0, act=act, noise=noise, Xi=Xi if noise else None, skip=s)
        return go

    def draws(blocks_per_step: int):
        def go(steps):
            for _ in range(steps // CHUNK):
                for _ in range(blocks_per_step):
                    normals.fill(Z)
        return go

    for fn in (run(0.0, False), run(0.3, True)):  # compile and warm
        fn(4 * CHUNK)
    load = os.getloadavg()[0]
    ae = _rate(run(0.0, False), args.steps)
    dae = _rate(run(0.3, True), args.steps)
    d1 = _rate(draws(1), args.steps)
    d2 = _rate(draws(2), args.steps)
    print(f"denoising SGD (noise + skip) = {dae / ae:.2f}x the autoencoder's steps/s; "
          f"{dae / d2:.2f}x its own draws of 2 D normals (the autoencoder: {ae / d1:.2f}x its draws of D)")
    print(f"  autoencoder {ae:,.0f} steps/s, denoising {dae:,.0f} steps/s; draws alone: D {d1:,.0f}/s, "
          f"2 D {d2:,.0f}/s; D = {D}, K = {K}, erf; load {load:.2f} (cores {os.cpu_count()})")


if __name__ == "__main__":
    main()
