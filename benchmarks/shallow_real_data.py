"""Speed of the real-data shallow-autoencoder theory and of SGD on real images, with baselines measured here.

Prints:
  * seconds to integrate the ODE over all D = 1024 eigen-directions of grayscale CIFAR-10
    (K = 4, erf, eta = 1) to t = 100 with the default LSODA and two explicit RK methods, against
    the reference code's scheme (forward Euler with dt = 1/D, one step per SGD step, on the same
    right-hand side; timed to t = 2 and extrapolated), each with its error at t = 100 against a
    tight LSODA reference (target: <= 5 s);
  * SGD steps per second on the real images (multi-pass, a chunk of rows per call by index array)
    against online SGD on fresh Gaussian inputs at the same D, K (the foundation's kernel), a
    per-sample loop that feeds one row per call, and a torch DataLoader with batch size 1.

Needs CIFAR-10 (``AELAB_DATA`` or ``aelab data fetch cifar10``); without it a synthetic
power-law spectrum at D = 1024 stands in for the ODE part and Gaussian rows for the images.

Run: OMP_NUM_THREADS=1 python benchmarks/shallow_real_data.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from aelab.activations import get_activation  # noqa: E402
from aelab.data.synthetic import Covariance  # noqa: E402
from aelab.errors import ConfigError  # noqa: E402
from aelab.normal_draws import NormalStream  # noqa: E402
from aelab.shallow.ode import OdeSystem, integrate  # noqa: E402
from aelab.shallow.sgd import sgd_steps  # noqa: E402
from aelab.shallow.simulation import CHUNK, SAMPLE_DTYPE  # noqa: E402
from aelab.shallow.state import order_parameters, state_from_weights  # noqa: E402

K, T_END, STEPS = 4, 100.0, 100_000


def load():
    """(images (N, 1024) float32, eigenvalues, eigenvectors, label)."""
    try:
        from aelab.config import load_config
        from aelab.shallow.real_data import RealDataConfig, load_real_data

        data = load_real_data(load_config(RealDataConfig, {"data": {"name": "cifar10", "eval_samples": 10}}).data)
        return data.train, data.eigenvalues, data.eigenvectors, "CIFAR-10 grayscale, 50,000 training images"
    except ConfigError as exc:
        print(f"(CIFAR-10 not available: {exc}; using a synthetic spectrum)")
        D = 1024
        rng = np.random.default_rng(0)
        w = 0.25 * D * (np.arange(1, D + 1) ** -1.2) / np.sum(np.arange(1, D + 1) ** -1.2)
        E = np.linalg.qr(rng.standard_normal((D, D)))[0]
        X = ((rng.standard_normal((20_000, D)) * np.sqrt(w)) @ E.T).astype(np.float32)
        return X, w, E, "synthetic power-law spectrum"


def ode_benchmark(w, E):
    D = w.size
    cov = Covariance(D, w, 0.0)
    act = get_activation("erf")
    rng = np.random.default_rng(0)
    W, V = 0.1 * rng.standard_normal((K, D)), 0.1 * rng.standard_normal((K, D))
    s0 = state_from_weights(W @ E, V @ E, np.zeros(K), cov, tied=False)
    system = OdeSystem(cov=cov, act=act, lr=1.0, K=K)
    times = np.linspace(0.0, T_END, 11)
    ref = integrate(system, s0, times, rtol=1e-11, atol=1e-13)[-1]
    ref_pmse = order_parameters(ref, cov, act).pmse
    print(f"ODE, D = {D}, K = {K}, erf, t = 0..{T_END:g} (pmse at t = {T_END:g}: {ref_pmse:.6f})")
    for method in ("LSODA", "DOP853", "RK45"):
        t0 = time.perf_counter()
        end = integrate(system, s0, times, method=method)[-1]
        sec = time.perf_counter() - t0
        err = abs(order_parameters(end, cov, act).pmse - ref_pmse)
        print(f"  {method:8s} {sec:7.3f} s   |pmse error| {err:.1e}")
    # the reference code's scheme: forward Euler, dt = 1/D, one step per SGD step
    y = system.pack(s0)
    n = int(2.0 * D)
    t0 = time.perf_counter()
    for _ in range(n):
        y = y + system.rhs(0.0, y) / D
    sec = (time.perf_counter() - t0) * T_END / 2.0
    y = system.pack(s0)
    for _ in range(int(T_END * D)) if sec < 120 else ():
        y = y + system.rhs(0.0, y) / D
    err = abs(order_parameters(system.unpack(y), cov, act).pmse - ref_pmse) if sec < 120 else float("nan")
    print(f"  {'Euler dt=1/D':8s} {sec:7.3f} s   |pmse error| {err:.1e}   (baseline: the reference code's scheme)")


def sgd_benchmark(X):
    D = X.shape[1]
    act = get_activation("erf")
    ones = np.ones(D)
    rng = np.random.default_rng(0)

    def fresh():
        return 0.1 * rng.standard_normal((K, D)), 0.1 * rng.standard_normal((K, D)), np.zeros(K)

    W, V, b = fresh()
    sgd_steps(W, V, b, X[:8], ones, lr=1.0, act=act)  # compile

    def images():
        W, V, b = fresh()
        order, pos = rng.permutation(len(X)), 0
        for _ in range(STEPS // CHUNK):
            if pos + CHUNK > len(order):
                order, pos = rng.permutation(len(X)), 0
            sgd_steps(W, V, b, X[order[pos:pos + CHUNK]], ones, lr=1.0, act=act)
            pos += CHUNK

    def gaussian():
        W, V, b = fresh()
        buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
        samples = NormalStream(rng)
        for _ in range(STEPS // CHUNK):
            sgd_steps(W, V, b, samples.fill(buf), ones, lr=1.0, act=act)

    def per_sample(n=20_000):
        W, V, b = fresh()
        for i in rng.integers(0, len(X), size=n):
            sgd_steps(W, V, b, X[i:i + 1], ones, lr=1.0, act=act)
        return n

    def torch_loader(n=5_000):
        import torch

        torch.set_num_threads(1)
        W, V, b = fresh()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X)), batch_size=1,
                                             shuffle=True)
        for i, (x,) in enumerate(loader):
            if i == n:
                break
            sgd_steps(W, V, b, x.numpy(), ones, lr=1.0, act=act)
        return n

    print(f"SGD, D = {D}, K = {K}, erf, one core")
    rates = {}
    for name, fn in (("images, index-array chunks", images), ("fresh Gaussian inputs", gaussian)):
        t0 = time.perf_counter()
        fn()
        rates[name] = STEPS / (time.perf_counter() - t0)
    for name, fn in (("images, one row per call", per_sample),
                     ("images, torch DataLoader(batch_size=1)", torch_loader)):
        t0 = time.perf_counter()
        n = fn()
        rates[name] = n / (time.perf_counter() - t0)
    for name, r in rates.items():
        print(f"  {name:40s} {r:10,.0f} steps/s")


def main():
    X, w, E, label = load()
    print(f"data: {label}, D = {X.shape[1]}")
    ode_benchmark(w, E)
    sgd_benchmark(X)


if __name__ == "__main__":
    main()
