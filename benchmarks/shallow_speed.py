"""Speed of the shallow-autoencoder simulator and ODE, against baselines measured in the same run.

Prints:
  * online SGD steps/s at D = 500, K = 2, erf, one core, against the rate at which NumPy alone
    draws the D fresh Gaussian numbers each step needs (the ceiling of an online-learning loop
    built on NumPy), against the simulator's own compiled draws alone, and against a plain
    PyTorch autograd loop of the same model;
  * seconds to integrate the ODE (K = 2, erf, spiked model) to t = 1000.

Run: OMP_NUM_THREADS=1 python benchmarks/shallow_speed.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from aelab.activations import get_activation  # noqa: E402
from aelab.shallow.config import ShallowConfig  # noqa: E402
from aelab.shallow.sgd import sgd_steps  # noqa: E402
from aelab.shallow.simulation import CHUNK, SAMPLE_DTYPE, sample_stream  # noqa: E402
from aelab.shallow.theory import run_theory  # noqa: E402

D, K, STEPS = 500, 2, 200_000


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_draws(dtype=np.float64):
    rng = np.random.default_rng(0)
    buf = np.empty((CHUNK, D), dtype=dtype)
    for _ in range(STEPS // CHUNK):
        rng.standard_normal(dtype=dtype, out=buf)


def aelab_draws():
    samples = sample_stream(0)
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    for _ in range(STEPS // CHUNK):
        samples.fill(buf)


def aelab_sgd():
    rng = np.random.default_rng(0)
    samples = sample_stream(0)
    act = get_activation("erf")
    W = 0.1 * rng.standard_normal((K, D))
    V = 0.1 * rng.standard_normal((K, D))
    b = np.zeros(K)
    std = np.sqrt(np.concatenate([[0.1 + 0.6 * D, 0.1 + 0.3 * D], np.full(D - 2, 0.1)]))
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    for _ in range(STEPS // CHUNK):
        sgd_steps(W, V, b, samples.fill(buf), std, lr=1.0, act=act)


def torch_loop(steps: int, *, typical: bool) -> float:
    """The same model and learning rates trained with PyTorch autograd.

    typical=True is the loop a user writes (nn.Linear layers, torch.optim.SGD with two parameter
    groups, MSE loss, float32); typical=False is a lean float64 loop with manual updates.
    """
    import torch

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    dtype = torch.float32 if typical else torch.float64
    spec = np.concatenate([[0.1 + 0.6 * D, 0.1 + 0.3 * D], np.full(D - 2, 0.1)])
    std = torch.sqrt(torch.tensor(spec, dtype=dtype))
    enc = torch.nn.Linear(D, K, bias=False).to(dtype)
    dec = torch.nn.Linear(K, D, bias=False).to(dtype)
    with torch.no_grad():
        enc.weight.normal_(0.0, 0.1, generator=g)
        dec.weight.normal_(0.0, 0.1, generator=g)
    opt = torch.optim.SGD([{"params": enc.parameters(), "lr": 1.0 / D}, {"params": dec.parameters(), "lr": 1.0}])
    t0 = time.perf_counter()
    for _ in range(steps):
        x = std * torch.randn(D, generator=g, dtype=dtype)
        xhat = dec(torch.erf(enc(x) / D**0.5 / 2**0.5))
        if typical:
            loss = 0.5 * torch.nn.functional.mse_loss(xhat, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            loss = ((x - xhat) ** 2).sum() / (2 * D)
            loss.backward()
            with torch.no_grad():
                enc.weight -= (1.0 / D) * enc.weight.grad
                dec.weight -= dec.weight.grad
                enc.weight.grad = None
                dec.weight.grad = None
    return time.perf_counter() - t0


def main() -> None:
    aelab_sgd()  # compile
    t_draw = best_of(numpy_draws)
    t_draw32 = best_of(lambda: numpy_draws(np.float32))
    t_own = best_of(aelab_draws)
    t_sgd = best_of(aelab_sgd)
    torch_steps = 5_000
    t_typical = min(torch_loop(torch_steps, typical=True) for _ in range(2)) * STEPS / torch_steps
    t_lean = min(torch_loop(torch_steps, typical=False) for _ in range(2)) * STEPS / torch_steps
    print(f"online SGD, D={D}, K={K}, erf, one core, {STEPS} steps")
    print(f"  NumPy float64 draws alone:   {STEPS / t_draw:12,.0f} steps/s  (the ceiling)")
    print(f"  NumPy float32 draws alone:   {STEPS / t_draw32:12,.0f} steps/s")
    print(f"  aelab draws alone:           {STEPS / t_own:12,.0f} steps/s  (compiled ziggurat, what the simulator draws)")
    print(f"  aelab SGD:                   {STEPS / t_sgd:12,.0f} steps/s  = {t_draw / t_sgd:.2f} x the float64 ceiling"
          f" (target >= 0.6), {t_own / t_sgd:.2f} x its own draws")
    print(f"  PyTorch loop (nn + optim):   {STEPS / t_typical:12,.0f} steps/s  -> aelab is {t_typical / t_sgd:.0f} x faster (target >= 50)")
    print(f"  PyTorch lean manual loop:    {STEPS / t_lean:12,.0f} steps/s  -> aelab is {t_lean / t_sgd:.0f} x faster")

    cfg = ShallowConfig.model_validate({"data": {"D": 500, "spikes": [0.6, 0.3], "bulk": 0.1},
                                        "model": {"K": 2, "activation": "erf"},
                                        "train": {"lr": 1.0, "time": 1000.0, "seeds": [0]},
                                        "output": {"points": 100}})
    times = cfg.time_grid()
    run_theory(cfg, times[:5])  # warm up caches
    seconds = min(run_theory(cfg, times)[1] for _ in range(3))
    print(f"ODE, K=2 erf spiked model to t=1000 ({cfg.ode.method}, rtol={cfg.ode.rtol}): {seconds:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
