"""Simulation side of a shallow experiment: online SGD over seeds, observables on the time grid.

One loop for every sample source (:mod:`aelab.shallow.sources`): fresh Gaussian inputs, a finite
training set, rows of real images. The weights live in the source's basis; the observables are
computed in the eigenbasis of the covariance (:func:`aelab.shallow.state.observables`) plus what
the source records itself (``pmse_images``, ``train_pmse``, ``passes``).
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from aelab.errors import DivergenceError
from aelab.shallow.problem import Problem, as_problem
from aelab.shallow.sources import CHUNK, SAMPLE_DTYPE, stream
from aelab.shallow.state import observables, state_from_weights

__all__ = ["initial_weights", "sample_stream", "simulate_seed", "simulate", "aggregate_seeds", "CHUNK",
           "SAMPLE_DTYPE"]


def initial_weights(config, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial (W, V, bias) in the eigenbasis for ``seed`` (:meth:`Problem.initial_weights`)."""
    return as_problem(config).initial_weights(seed)


def sample_stream(seed: int):
    """The stream of fresh standard normal inputs (in the eigenbasis) of ``seed``."""
    from aelab.normal_draws import NormalStream

    return NormalStream(stream(seed, "samples"))


def simulate_seed(problem: Problem, seed: int, times: np.ndarray,
                  on_steps: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Train one network by online SGD on ``problem``'s samples and record the observables at ``times``.

    Raises:
        DivergenceError: the weights or the error became non-finite (``partial``: the rows so far).
    """
    problem = as_problem(problem)
    src, net, cov = problem.source, problem.network, problem.cov
    D = problem.D
    W, V, bias = problem.initial_weights(seed, basis="source")
    batches = src.batches(seed, problem.noise)
    skip = np.array([problem.initial_skip]) if net.skip else None
    if problem.noise > 0.0:  # a denoising autoencoder: one more block of D normals a step
        from aelab.normal_draws import NormalStream

        noise = NormalStream(stream(seed, "noise"))
        xi = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    if problem.rule.sanger:
        from aelab.shallow.sanger import sanger_steps

        lr = problem.rule.lr

        def step(Z, std):
            sanger_steps(V, Z, std, lr=lr)
    else:
        from aelab.shallow.sgd import sgd_steps

        kw = problem.sgd_kwargs()

        def step(Z, std):
            Xi = noise.fill(xi[:len(Z)]) if problem.noise > 0.0 else None
            sgd_steps(W, V, bias, Z, std, Xi=Xi, skip=skip, **kw)

    rows, done = [], 0
    for target in np.round(np.asarray(times) * D).astype(np.int64):
        while done < target:
            Z, std = batches.take(int(target - done))
            step(Z, std)
            done += len(Z)
            if on_steps is not None:
                on_steps(len(Z))
        where = dict(time=done / D, step=done, side="simulation")
        s_now = float(skip[0]) if skip is not None else 0.0
        if not (np.all(np.isfinite(V)) and np.all(np.isfinite(W)) and np.all(np.isfinite(bias))
                and np.isfinite(s_now)):
            raise DivergenceError(
                f"SGD diverged before t = {done / D:.6g} (step {done}, seed {seed}): the weights overflowed; "
                "try a smaller learning rate", cause="non-finite weights", partial=pd.DataFrame(rows), **where)
        with np.errstate(over="ignore", invalid="ignore"):
            state = state_from_weights(src.to_eigen(W), src.to_eigen(V), bias, cov, tied=net.tied, skip=s_now)
            row = {"t": done / D, **observables(state, cov, net.act, pcs=problem.pcs, noise=problem.noise,
                                                skip=net.skip),
                   **batches.observe(W, V, bias, net.act, tied=net.tied, steps=done, skip=s_now)}
        if not np.isfinite(row["pmse"]):
            raise DivergenceError(f"SGD diverged at t = {done / D:.6g} (seed {seed}): non-finite error; try a "
                                  "smaller learning rate", cause="non-finite error", partial=pd.DataFrame(rows),
                                  **where)
        rows.append(row)
    return pd.DataFrame(rows)


def _simulate_one(args):
    problem, seed, times = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return simulate_seed(problem, seed, times)


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


def simulate(config, times: np.ndarray, *, workers: int = 1, quiet: bool = True,
             ) -> tuple[pd.DataFrame, list[pd.DataFrame], float]:
    """Run every seed of a configuration or :class:`Problem`; returns (aggregate table, per-seed tables, seconds).

    ``workers`` > 1 spreads the seeds over that many processes (the same results as one process,
    bit for bit: each seed's streams depend on the seed alone); 0 means one per core.
    """
    from aelab.progress import progress_bar

    problem = as_problem(config)
    seeds = problem.seeds
    workers = max(1, min(int(workers) or os.cpu_count() or 1, len(seeds)))
    total = int(round(times[-1] * problem.D)) * len(seeds)
    start = _time.perf_counter()
    with progress_bar("SGD", total, quiet=quiet) as bar:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                frames = []
                for frame in pool.map(_simulate_one, [(problem, s, times) for s in seeds]):
                    frames.append(frame)
                    bar.advance(total / len(seeds))
        else:
            frames = [simulate_seed(problem, s, times, on_steps=bar.advance) for s in seeds]
    return aggregate_seeds(frames), frames, _time.perf_counter() - start
