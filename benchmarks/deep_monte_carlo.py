"""Monte Carlo with a random weight-tied autoencoder of width 4,000 and depth 50 against the bare
work it needs, measured in the same run.

    python benchmarks/deep_monte_carlo.py [--quick] [--backend numpy|torch] [--dtype float32]

``simulate`` (one draw: weights, encoder, tied decoder, activations and the per-layer
estimators) against (a) the bare minimum: drawing the same Gaussian weights and the 2L
matrix-vector products, nothing else; (b) the 2L products alone, on weights drawn beforehand.
Target: within 2x of (a). Weights are kept for the decoder (3.2 GB in float32 at full size).
Wall seconds (CPU seconds in brackets). BLAS on one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from aelab.deep.config import Setting  # noqa: E402
from aelab.deep.monte_carlo import simulate  # noqa: E402


def clock():
    return time.perf_counter(), time.process_time()


def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]


def bare_numpy(width: int, depth: int, dtype: str, seed: int, draw_weights: bool, weights=None):
    """The 2L products of a tied autoencoder, with (or without) drawing its weights."""
    x = np.random.default_rng(seed).standard_normal(width).astype(dtype)
    scale = math.sqrt(2.0 / width)
    Ws = []
    for l in range(1, depth + 1):
        if draw_weights:
            W = np.empty((width, width), dtype=dtype)
            gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, l, 0)))
            gen.standard_normal(out=W, dtype=dtype)
            W *= scale
        else:
            W = weights[l - 1]
        Ws.append(W)
        x = W @ x
    for W in reversed(Ws):
        x = x @ W
    return Ws


def bare_torch(width: int, depth: int, dtype: str, seed: int, draw_weights: bool, device, weights=None):
    import torch

    dt = getattr(torch, dtype)
    x = torch.randn(width, dtype=dt, device=device)
    Ws = []
    g = torch.Generator(device=device)
    for l in range(1, depth + 1):
        if draw_weights:
            g.manual_seed(seed + l)
            W = torch.empty(width, width, dtype=dt, device=device)
            W.normal_(0.0, math.sqrt(2.0 / width), generator=g)
        else:
            W = weights[l - 1]
        Ws.append(W)
        x = W @ x
    for W in reversed(Ws):
        x = x @ W
    if device.type == "cuda":
        torch.cuda.synchronize()
    return Ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="width 1000, depth 10")
    ap.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args()
    width, depth = (1000, 10) if args.quick else (4000, 50)
    s = Setting.make("relu", "relu", depth, sigma_w_sq=2.0)
    mem = 8 * 2**30
    simulate(s, width=64, samples=1, seed=0, dtype=args.dtype, backend=args.backend, max_memory=mem)  # warm-up
    device = None
    if args.backend == "torch":
        import torch

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"Monte Carlo, width {width}, depth {depth} ({2 * depth} products), one draw, {args.backend} "
          f"{args.dtype}{'' if device is None else ' on ' + str(device)}")
    t = clock()
    sim = simulate(s, width=width, samples=1, seed=1, dtype=args.dtype, backend=args.backend, max_memory=mem)
    ours = since(t)
    assert sim.info["weights_stored"]
    del sim
    t = clock()
    Ws = (bare_numpy(width, depth, args.dtype, 1, True) if device is None
          else bare_torch(width, depth, args.dtype, 1, True, device))
    bare = since(t)
    t = clock()
    if device is None:
        bare_numpy(width, depth, args.dtype, 1, False, Ws)
    else:
        bare_torch(width, depth, args.dtype, 1, False, device, Ws)
    products = since(t)
    del Ws
    ratio = ours[0] / bare[0]
    print(f"  simulate (weights, 2L products, activations, estimators): {ours[0]:7.2f} s ({ours[1]:7.2f} s CPU)")
    print(f"  bare: the same weight draws (NumPy's or torch's generator) and 2L products: "
          f"{bare[0]:7.2f} s ({bare[1]:7.2f} s CPU)")
    print(f"  the 2L products alone (weights drawn beforehand):         {products[0]:7.2f} s ({products[1]:7.2f} s CPU)")
    print(f"  simulate / bare = {ratio:.2f} (CPU {ours[1] / bare[1]:.2f})   target <= 2: "
          f"{'ok' if min(ratio, ours[1] / bare[1]) <= 2 else 'MISSED'}")
    print(f"  simulate / products alone = {ours[0] / products[0]:.1f} (the rest is drawing "
          f"{depth} x {width}^2 Gaussian numbers)")


if __name__ == "__main__":
    main()
