"""Speed of the shallow-autoencoder simulator and ODE, against baselines measured in the same run.

Prints, ratios first and absolute figures second, with the machine load (1-minute average):
  * online SGD steps/s at D = 500, K = 2, erf, one core, against the rate at which NumPy alone
    draws the D fresh Gaussian numbers each step needs (float64; targets: >= 3x that rate and
    >= 0.8x the simulator's own compiled draws alone), the NumPy reference step, the same kernel
    with float32 weights, the kernel alone on pre-drawn samples, and a plain
    PyTorch autograd loop of the same model (``--torch``);
  * seconds to integrate the ODE (K = 2, spiked model, LSODA) with the compiled right-hand side
    against the NumPy reference (``OdeSystem(compiled=False)``), same run: erf to t = 1000
    (target <= 0.1 s), ReLU (closed forms, one batched call) to t = 1000, tanh by quadrature to
    t = 50 from small initial weights (plain rules) and
    from init_std = 1 (wide fields, graded rules) (target <= 0.3 s).

Run: OMP_NUM_THREADS=1 python benchmarks/shallow_speed.py [--torch] [--ode-only]
(``--ode-only`` skips the SGD part.)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from aelab.activations import get_activation  # noqa: E402
from aelab.shallow.config import ShallowConfig  # noqa: E402
from aelab.shallow.ode import integrate  # noqa: E402
from aelab.shallow.sgd import sgd_steps, sgd_steps_numpy  # noqa: E402
from aelab.shallow.simulation import CHUNK, SAMPLE_DTYPE, sample_stream  # noqa: E402
from aelab.shallow.theory import initial_state, ode_system  # noqa: E402

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


def _sgd_setup():
    rng = np.random.default_rng(0)
    W = 0.1 * rng.standard_normal((K, D))
    V = 0.1 * rng.standard_normal((K, D))
    std = np.sqrt(np.concatenate([[0.1 + 0.6 * D, 0.1 + 0.3 * D], np.full(D - 2, 0.1)]))
    return W, V, np.zeros(K), std


def aelab_sgd(steps=STEPS, step_fn=sgd_steps, dtype=np.float64):
    samples = sample_stream(0)
    act = get_activation("erf")
    W, V, b, std = _sgd_setup()
    W, V = W.astype(dtype), V.astype(dtype)
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    for _ in range(steps // CHUNK):
        step_fn(W, V, b, samples.fill(buf), std, lr=1.0, act=act)


def aelab_kernel(steps=STEPS, dtype=np.float64):
    """The SGD kernel alone, on one block of pre-drawn samples used again and again."""
    act = get_activation("erf")
    W, V, b, std = _sgd_setup()
    W, V = W.astype(dtype), V.astype(dtype)
    Z = sample_stream(1).fill(np.empty((CHUNK, D), dtype=SAMPLE_DTYPE))
    for _ in range(steps // CHUNK):
        sgd_steps(W, V, b, Z, std, lr=1.0, act=act)


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


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def ode_seconds(activation: str, t_end: float, init_std: float, *, compiled: bool) -> float:
    """Best of three integrations of the benchmark's ODE (LSODA, 100 output points)."""
    cfg = ShallowConfig.model_validate({"data": {"D": 500, "spikes": [0.6, 0.3], "bulk": 0.1},
                                        "model": {"K": 2, "activation": activation, "init_std": init_std},
                                        "train": {"lr": 1.0, "time": t_end, "seeds": [0]},
                                        "output": {"points": 100}})
    system = replace(ode_system(cfg), compiled=compiled)
    state0, times = initial_state(cfg), cfg.time_grid()
    integrate(system, state0, times[:3])  # compile, warm the caches
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        integrate(system, state0, times, method=cfg.ode.method, rtol=cfg.ode.rtol, atol=cfg.ode.atol)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print(f"machine load (1 min) at start: {load()}")
    if "--ode-only" not in sys.argv:
        sgd_rows()
    ode_rows()
    print(f"machine load (1 min) at end: {load()}")


def sgd_rows() -> None:
    """The simulator's steps/s against its baselines (interleaved, best of five)."""
    aelab_sgd(CHUNK)  # compile
    # interleaved, best of five: on a shared machine the three see the same load
    aelab_sgd(CHUNK, dtype=np.float32)
    aelab_kernel(CHUNK)
    t_draw = t_own = t_sgd = t_sgd32 = t_kernel = np.inf
    for _ in range(5):
        t_draw = min(t_draw, best_of(numpy_draws, 1))
        t_own = min(t_own, best_of(aelab_draws, 1))
        t_sgd = min(t_sgd, best_of(aelab_sgd, 1))
        t_sgd32 = min(t_sgd32, best_of(lambda: aelab_sgd(dtype=np.float32), 1))
        t_kernel = min(t_kernel, best_of(aelab_kernel, 1))
    ref_steps = 10 * CHUNK
    t_ref = best_of(lambda: aelab_sgd(ref_steps, sgd_steps_numpy), 2) * STEPS / ref_steps
    print(f"online SGD, D={D}, K={K}, erf, one core, {STEPS} steps (baselines in the same run)")
    print(f"  aelab SGD / NumPy float64 draws alone: {t_draw / t_sgd:5.2f} x  (target >= 3)")
    print(f"  aelab SGD / aelab draws alone:         {t_own / t_sgd:5.2f} x  (target >= 0.8)")
    print(f"  aelab SGD / NumPy reference step:      {t_ref / t_sgd:5.0f} x")
    print(f"  float32 weights: / NumPy draws {t_draw / t_sgd32:5.2f} x, / aelab draws {t_own / t_sgd32:5.2f} x "
          "(the simulator's weights are float64)")
    print(f"    aelab SGD:              {STEPS / t_sgd:12,.0f} steps/s")
    print(f"    aelab SGD, float32:     {STEPS / t_sgd32:12,.0f} steps/s")
    print(f"    NumPy float64 draws:    {STEPS / t_draw:12,.0f} steps/s")
    print(f"    aelab draws (ziggurat): {STEPS / t_own:12,.0f} steps/s")
    print(f"    aelab SGD kernel alone: {STEPS / t_kernel:12,.0f} steps/s ({1e6 * t_kernel / STEPS:.2f} us a step; "
          "pre-drawn samples)")
    print(f"    NumPy reference step:   {STEPS / t_ref:12,.0f} steps/s")
    if "--torch" in sys.argv:
        torch_steps = 5_000
        t_typical = min(torch_loop(torch_steps, typical=True) for _ in range(2)) * STEPS / torch_steps
        t_lean = min(torch_loop(torch_steps, typical=False) for _ in range(2)) * STEPS / torch_steps
        print(f"  PyTorch loop (nn + optim) / aelab: {t_typical / t_sgd:5.0f} x slower "
              f"({STEPS / t_typical:,.0f} steps/s)")
        print(f"  PyTorch lean manual loop / aelab:  {t_lean / t_sgd:5.0f} x slower ({STEPS / t_lean:,.0f} steps/s)")


def ode_rows() -> None:
    """Seconds to integrate the benchmark's ODEs, compiled against the NumPy reference."""
    print("ODE, K=2, spikes (0.6, 0.3), bulk 0.1, LSODA rtol 1e-8: compiled / batched right-hand side against "
          "the NumPy reference, same run")
    rows = [("erf", 1000.0, 0.1, 0.1), ("relu", 1000.0, 0.1, None), ("tanh", 50.0, 0.1, 0.3), ("tanh", 50.0, 1.0, 0.3)]
    for act, t_end, init, target in rows:
        fast = ode_seconds(act, t_end, init, compiled=True)
        ref = ode_seconds(act, t_end, init, compiled=False)
        status = "no target" if target is None else f"target <= {target} s: " + ("ok" if fast <= target else "MISSED")
        print(f"  {act:4s} to t={t_end:<6g} init_std={init:<4g}: {ref / fast:5.1f} x faster   "
              f"{fast:7.3f} s (reference {ref:7.3f} s; {status})")


if __name__ == "__main__":
    main()
