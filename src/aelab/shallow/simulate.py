"""Simulation side of a shallow experiment: online SGD over seeds, observables on the time grid."""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from aelab.activations import get_activation
from aelab.errors import DivergenceError
from aelab.normal_draws import NormalStream
from aelab.shallow.config import ShallowConfig
from aelab.shallow.sgd import sgd_steps
from aelab.shallow.state import observables, state_from_weights

__all__ = ["initial_weights", "sample_stream", "simulate_seed", "simulate", "aggregate_seeds"]

CHUNK = 256  # SGD steps per block of fresh samples (the block stays in cache)
# Fresh samples are standard normals from a compiled ziggurat (aelab.normal_draws, about 3.5x
# faster than NumPy's), stored as float32 and scaled in float64; weights and all arithmetic are
# float64.
SAMPLE_DTYPE = np.float32


def initial_weights(config: ShallowConfig, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial (W, V, bias) in the eigenbasis for ``seed``: i.i.d. N(0, init_std^2) weights, zero biases.

    With ``train.shared_init`` every seed uses the initial weights of the first seed. For tied
    networks W is a copy of V (only V is used).
    """
    K, D = config.model.K, config.data.D
    if config.train.shared_init:
        seed = config.train.seeds[0]
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    W = config.model.init_std * rng.standard_normal((K, D))
    V = config.model.init_std * rng.standard_normal((K, D))
    if config.model.tied:
        W = V.copy()
    return W, V, np.zeros(K)


def sample_stream(seed: int) -> NormalStream:
    """The stream of fresh input samples (standard normals in the eigenbasis) of ``seed``."""
    return NormalStream(np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1]))


def simulate_seed(config: ShallowConfig, seed: int, times: np.ndarray,
                  on_steps: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Train one network by online SGD and record the observables at ``times``."""
    cov = config.data.covariance()
    act = get_activation(config.model.activation)
    D = cov.D
    std = cov.eigenbasis_std()
    W, V, bias = initial_weights(config, seed)
    samples = sample_stream(seed)
    targets = np.round(np.asarray(times) * D).astype(np.int64)
    kw = dict(lr=config.train.lr, act=act, tied=config.model.tied, train_bias=config.model.bias,
              truncated=config.train.rule == "truncated", weight_decay=config.train.weight_decay)
    if config.sanger_rule:
        from aelab.shallow.sanger import sanger_steps

        def step(Z):
            sanger_steps(V, Z, std, lr=config.train.lr)
    else:
        def step(Z):
            sgd_steps(W, V, bias, Z, std, **kw)
    rows, done = [], 0
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    for target in targets:
        while done < target:
            n = int(min(CHUNK, target - done))
            step(samples.fill(buf[:n]))
            done += n
            if on_steps is not None:
                on_steps(n)
        if not (np.all(np.isfinite(V)) and np.all(np.isfinite(W)) and np.all(np.isfinite(bias))):
            raise DivergenceError(
                f"SGD diverged before t = {done / D:.6g} (step {done}, seed {seed}): the weights overflowed; "
                "try a smaller learning rate", time=done / D, cause="non-finite weights",
                partial=pd.DataFrame(rows))
        with np.errstate(over="ignore", invalid="ignore"):
            state = state_from_weights(W, V, bias, cov, tied=config.model.tied)
            row = {"t": done / D, **observables(state, cov, act, pcs=config.output.pcs)}
        if not np.isfinite(row["pmse"]):
            raise DivergenceError(f"SGD diverged at t = {done / D:.6g} (seed {seed}): non-finite error",
                                  time=done / D, cause="non-finite error", partial=pd.DataFrame(rows))
        rows.append(row)
    return pd.DataFrame(rows)


def _simulate_one(args):
    config, seed, times = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return simulate_seed(config, seed, times)


def aggregate_seeds(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Mean over seeds of every observable, with ``<name>_sem`` standard errors (NaN for one seed)."""
    stacked = np.stack([f.to_numpy() for f in frames])  # (seeds, times, columns)
    cols = list(frames[0].columns)
    mean = stacked.mean(axis=0)
    n = stacked.shape[0]
    sem = stacked.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    out = pd.DataFrame(mean, columns=cols)
    for j, c in enumerate(cols):
        if c != "t":
            out[f"{c}_sem"] = sem[:, j]
    return out


def simulate(config: ShallowConfig, times: np.ndarray, *, workers: int | None = None, quiet: bool = True,
             ) -> tuple[pd.DataFrame, list[pd.DataFrame], float]:
    """Run every seed of ``config``; returns (aggregate table, per-seed tables, seconds)."""
    from aelab.progress import progress_bar

    seeds = config.train.seeds
    workers = min(workers or config.train.workers, len(seeds))
    D = config.data.D
    total = int(round(times[-1] * D)) * len(seeds)
    start = _time.perf_counter()
    with progress_bar("SGD", total, quiet=quiet) as bar:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                frames = []
                for frame in pool.map(_simulate_one, [(config, s, times) for s in seeds]):
                    frames.append(frame)
                    bar.advance(total / len(seeds))
        else:
            frames = [simulate_seed(config, s, times, on_steps=bar.advance) for s in seeds]
    return aggregate_seeds(frames), frames, _time.perf_counter() - start
