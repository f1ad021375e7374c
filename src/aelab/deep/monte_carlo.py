"""Monte Carlo with real random weight-tied autoencoders (Li & Nguyen 2019, Sec. 2.1 and App. B).

Draws networks of finite widths n_l = round(n_{l-1} alpha_l), runs one input through the encoder
and the tied decoder, and estimates per layer l = 1..L (the rows of :mod:`state_evolution`):

* ``tau_bar_sq`` = ||x_l||^2 / n_l;
* ``gamma`` = <x_l, phi_l(xhat_{l+1})> / ||x_l||^2 and ``rho`` = ||phi_l(xhat_{l+1})||^2 / n_l, the
  empirical gamma_{l+1}, rho_{l+1} (xhat_{L+1} := x_L);
* ``S`` = <xhat_l, s> / ||s||^2 and ``V`` = ||xhat_l - S s||^2 / n_{l-1} with s = sigma_{l-1}(x_{l-1}):
  the regression of xhat_l on its signal, whose limits are S_l and V_l of Theorem 1.

Each draw has its own random streams, derived from the seed and the draw's index (and, within a
draw, the layer), so results do not depend on how draws are batched; weights that do not fit in
``max_memory`` are drawn again in the decoder from the same stream instead of being stored.
Weights are Gaussian or, for the universality check of Remark 2, Bernoulli (+-1), uniform or
Laplace with the same variance. NumPy or torch (CPU, or a GPU when present), float32 or float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aelab.activations import Activation
from aelab.config import validate_config
from aelab.deep.config import DeepConfig, MonteCarloConfig, Setting
from aelab.errors import ConfigError
from aelab.normal_draws import NormalStream

__all__ = ["Simulation", "simulate", "widths_for", "ESTIMATORS"]

ESTIMATORS = ("gamma", "rho", "tau_bar_sq", "S", "V")
_W, _B, _V, _X = 0, 1, 2, 3  # stream kinds within a draw


def widths_for(setting: Setting, width: int) -> list[int]:
    """n_0 = width and n_l = max(1, round(n_{l-1} alpha_l))."""
    out = [int(width)]
    for a in setting.alpha:
        out.append(max(1, int(round(out[-1] * float(a)))))
    return out


def _seed_int(rng_or_seed: np.random.Generator | int | None) -> int:
    if isinstance(rng_or_seed, np.random.Generator):
        return int(rng_or_seed.integers(0, 2**63 - 1))
    if rng_or_seed is None:
        raise ConfigError("--seed: simulate needs a seed or a numpy.random.Generator")
    return int(rng_or_seed)


@dataclass(frozen=True, eq=False)
class Simulation:
    """Estimates from random networks.

    Attributes:
        setting, config: what was simulated.
        widths: n_0..n_L.
        values: per estimator, an array (samples, L) (row l-1 is layer l).
        reconstruction_error: ||x - xhat||^2 / n_0 per sample.
    """

    setting: Setting
    config: MonteCarloConfig
    widths: list[int]
    values: dict[str, np.ndarray]
    reconstruction_error: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def mean(self, name: str) -> np.ndarray:
        return self.values[name].mean(axis=0)

    def sem(self, name: str) -> np.ndarray:
        x = self.values[name]
        if x.shape[0] < 2:
            return np.full(x.shape[1], np.nan)
        return x.std(axis=0, ddof=1) / math.sqrt(x.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """The per-layer table: ``layer``, the estimators' means and their standard errors ``*_se``."""
        out: dict[str, np.ndarray] = {"layer": np.arange(1, self.setting.depth + 1)}
        for name in ESTIMATORS:
            out[name] = self.mean(name)
        for name in ESTIMATORS:
            out[f"{name}_se"] = self.sem(name)
        return out

    def table(self):
        import pandas as pd

        return pd.DataFrame(self.columns())


# --- array backends ------------------------------------------------------------------------------
class _NumpyOps:
    def __init__(self, dtype: str):
        self.dtype = np.dtype(dtype)

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def fill_weights(self, out, kind: str, seed_seq, scale: float):
        gen = np.random.default_rng(seed_seq)
        if kind == "gaussian":  # the compiled sampler: drawing the weights is most of the work
            NormalStream(gen).fill(out)
            out *= scale
        elif kind == "uniform":  # U(-sqrt3, sqrt3) has variance 1
            gen.random(out=out, dtype=self.dtype)
            out *= 2.0 * math.sqrt(3.0) * scale
            out -= math.sqrt(3.0) * scale
        elif kind == "bernoulli":
            out[...] = gen.integers(0, 2, size=out.shape, dtype=np.int8)
            out *= 2.0 * scale
            out -= scale
        else:  # laplace with scale 1/sqrt2 has variance 1
            out[...] = gen.laplace(0.0, scale / math.sqrt(2.0), size=out.shape)

    def normal(self, seed_seq, shape, scale: float):
        return (np.random.default_rng(seed_seq).standard_normal(shape) * scale).astype(self.dtype)

    def asarray(self, x):
        return np.asarray(x, dtype=self.dtype)

    def act(self, act: Activation, x):
        y = act.f(x)
        return y if y.dtype == self.dtype else y.astype(self.dtype)

    @staticmethod
    def matvec(W, v):  # (B, n, m) @ (B, m) -> (B, n)
        return np.matmul(W, v[:, :, None])[:, :, 0] if W.shape[0] > 1 else (W[0] @ v[0])[None, :]

    @staticmethod
    def rmatvec(W, d):  # (B, n, m)^T @ (B, n) -> (B, m)
        return np.matmul(d[:, None, :], W)[:, 0, :] if W.shape[0] > 1 else (d[0] @ W[0])[None, :]

    @staticmethod
    def dot(a, b):
        return np.einsum("bi,bi->b", a, b, dtype=np.float64)

    @staticmethod
    def numpy(x):
        return np.asarray(x, dtype=np.float64)


class _TorchOps:
    def __init__(self, dtype: str, device: str | None):
        import torch

        self.torch = torch
        self.dtype = getattr(torch, dtype)
        from aelab.devices import resolve_device

        self.device = resolve_device(device, default="auto")

    def _gen(self, seed_seq):
        g = self.torch.Generator(device=self.device)
        g.manual_seed(int(seed_seq.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        return g

    def empty(self, shape):
        return self.torch.empty(shape, dtype=self.dtype, device=self.device)

    def fill_weights(self, out, kind: str, seed_seq, scale: float):
        g = self._gen(seed_seq)
        if kind == "gaussian":
            out.normal_(0.0, scale, generator=g)
        elif kind == "uniform":
            out.uniform_(-math.sqrt(3.0) * scale, math.sqrt(3.0) * scale, generator=g)
        elif kind == "bernoulli":
            out.bernoulli_(0.5, generator=g).mul_(2.0 * scale).sub_(scale)
        else:  # laplace: an exponential with a random sign
            sign = self.torch.empty_like(out).bernoulli_(0.5, generator=g).mul_(2.0).sub_(1.0)
            out.exponential_(math.sqrt(2.0) / scale, generator=g).mul_(sign)

    def normal(self, seed_seq, shape, scale: float):
        return self.empty(shape).normal_(0.0, scale, generator=self._gen(seed_seq))

    def asarray(self, x):
        return self.torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def act(self, act: Activation, x):
        return act.torch(x)

    def matvec(self, W, v):
        return self.torch.bmm(W, v[:, :, None])[:, :, 0]

    def rmatvec(self, W, d):
        return self.torch.bmm(d[:, None, :], W)[:, 0, :]

    def dot(self, a, b):
        return (a.double() * b.double()).sum(dim=1)

    @staticmethod
    def numpy(x):
        return x.detach().to("cpu").double().numpy()


# --- inputs ----------------------------------------------------------------------------------------
def _input(setting: Setting, kind: str, n0: int, seed_seq) -> np.ndarray:
    """One input x with ||sigma_0(x)||^2 / n_0 = taubar_0^2 exactly (a scaled Gaussian or +-1 halves)."""
    sig0, target = setting.encoder[0], setting.input_variance
    if kind == "gaussian":
        base = np.random.default_rng(seed_seq).standard_normal(n0)
    else:  # App. B: the first half +1, the rest -1
        base = np.where(np.arange(n0) < n0 // 2, 1.0, -1.0)
    base = base / math.sqrt(np.mean(base**2))
    if sig0.name == "linear":
        return base * math.sqrt(target)
    from scipy.optimize import brentq

    f = lambda c: float(np.mean(sig0.f(c * base) ** 2)) - target  # noqa: E731
    hi = 1.0
    while f(hi) < 0 and hi < 1e8:
        hi *= 2.0
    if f(hi) < 0 or f(0.0) > 0:
        raise ConfigError(f"--input-variance: {target} is not reachable as ||sigma_0(x)||^2 / n_0 with input "
                          f"activation {sig0.name}")
    return brentq(f, 0.0, hi, xtol=1e-14, rtol=1e-14) * base


# --- the simulation --------------------------------------------------------------------------------
def simulate(
    setting: Setting | DeepConfig,
    config: MonteCarloConfig | None = None,
    *,
    rng: np.random.Generator | int | None = None,
    batch: int | None = None,
    max_memory: float = 2 * 2**30,
    quiet: bool = True,
    device: str | None = None,
    **options: Any,
) -> Simulation:
    """Estimate gamma, rho, taubar^2, S and V per layer from random weight-tied networks.

    Args:
        setting: the network (a :class:`Setting` or :class:`DeepConfig`).
        config: width, samples, seed, dtype, backend, weights, input; or give these as
            keyword ``options`` (validated as a :class:`MonteCarloConfig`).
        rng: a Generator or seed overriding ``config.seed``.
        batch: draws computed at once (default: as many as fit in ``max_memory``, at most 64).
        max_memory: bytes for the stored weights of a batch.
        quiet: no progress bar.
        device: the torch backend's device (:func:`aelab.devices.resolve_device`, default ``auto``).
    """
    s = setting.setting() if isinstance(setting, DeepConfig) else setting
    if config is None:
        config = validate_config(MonteCarloConfig, options)
    elif options:
        config = validate_config(MonteCarloConfig, {**config.model_dump(), **options})
    seed = _seed_int(rng) if rng is not None else int(config.seed)
    ops: Any = _NumpyOps(config.dtype) if config.backend == "numpy" else _TorchOps(config.dtype, device)
    n = widths_for(s, config.width)
    L = s.depth
    itemsize = np.dtype(config.dtype).itemsize
    per_draw = sum(n[l] * n[l - 1] for l in range(1, L + 1)) * itemsize
    store = per_draw <= max_memory
    if batch is None:
        batch = max(1, min(config.samples, 64, int(max_memory // max(per_draw, 1)))) if store else 1
    batch = max(1, min(int(batch), config.samples))
    values = {k: np.empty((config.samples, L)) for k in ESTIMATORS}
    recon = np.empty(config.samples)
    from aelab.progress import progress_bar

    with progress_bar("random networks", config.samples, quiet=quiet) as bar:
        for start in range(0, config.samples, batch):
            draws = list(range(start, min(start + batch, config.samples)))
            out = _run_batch(s, config, ops, n, seed, draws, store)
            for k in ESTIMATORS:
                values[k][draws] = out[k]
            recon[draws] = out["recon"]
            bar.advance(len(draws))
    info = {"widths": n, "batch": batch, "weights_stored": store, "seed": seed}
    return Simulation(s, config, n, values, recon, info)


def _streams(seed: int, draw: int, layer: int, kind: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(draw, layer, kind))


def _run_batch(s: Setting, cfg: MonteCarloConfig, ops, n: list[int], seed: int, draws: list[int],
               store: bool) -> dict[str, np.ndarray]:
    B, L = len(draws), s.depth
    x0 = ops.asarray(np.stack([_input(s, cfg.input, n[0], _streams(seed, d, 0, _X)) for d in draws]))

    def weights(l: int):
        W = ops.empty((B, n[l], n[l - 1]))
        scale = math.sqrt(float(s.sigma_w_sq[l - 1]) / n[l - 1])
        for i, d in enumerate(draws):
            ops.fill_weights(W[i], cfg.weights, _streams(seed, d, l, _W), scale)
        return W

    def bias(l: int, kind: int, size: int, var: float):
        if var == 0.0:
            return None
        return ops.asarray(np.stack([np.random.default_rng(_streams(seed, d, l, kind)).standard_normal(size)
                                     * math.sqrt(var) for d in draws]))

    out = {k: np.empty((B, L)) for k in ESTIMATORS}
    # encoder: x_l = W_l sigma_{l-1}(x_{l-1}) + b_l
    xs, ss, Ws = [x0], [], [None]
    for l in range(1, L + 1):
        sgl = ops.act(s.encoder[l - 1], xs[-1])
        W = weights(l)
        x = ops.matvec(W, sgl)
        b = bias(l, _B, n[l], float(s.sigma_b_sq[l - 1]))
        if b is not None:
            x = x + b
        ss.append(sgl)
        xs.append(x)
        Ws.append(W if store else None)
        out["tau_bar_sq"][:, l - 1] = ops.numpy(ops.dot(x, x)) / n[l]
    # decoder: xhat_L = W_L^T phi_L(x_L) + v_L, xhat_l = W_l^T phi_l(xhat_{l+1}) + v_l
    d = ops.act(s.decoder[L], xs[L])
    out["gamma"][:, L - 1] = ops.numpy(ops.dot(xs[L], d)) / ops.numpy(ops.dot(xs[L], xs[L]))
    out["rho"][:, L - 1] = ops.numpy(ops.dot(d, d)) / n[L]
    for l in range(L, 0, -1):
        W = Ws[l] if store else weights(l)
        xh = ops.rmatvec(W, d)
        Ws[l] = None
        v = bias(l, _V, n[l - 1], float(s.sigma_v_sq[l - 1]))
        if v is not None:
            xh = xh + v
        sig = ss[l - 1]
        ss_norm = ops.numpy(ops.dot(sig, sig))
        S = ops.numpy(ops.dot(xh, sig)) / ss_norm
        resid = ops.numpy(ops.dot(xh, xh)) - S * S * ss_norm  # ||xhat - S s||^2
        out["S"][:, l - 1] = S
        out["V"][:, l - 1] = resid / n[l - 1]
        if l >= 2:
            d = ops.act(s.decoder[l - 1], xh)
            out["gamma"][:, l - 2] = ops.numpy(ops.dot(xs[l - 1], d)) / ops.numpy(ops.dot(xs[l - 1], xs[l - 1]))
            out["rho"][:, l - 2] = ops.numpy(ops.dot(d, d)) / n[l - 1]
    xhat = ops.act(s.decoder[0], xh)
    diff = xhat - x0
    out["recon"] = ops.numpy(ops.dot(diff, diff)) / n[0]
    return out
