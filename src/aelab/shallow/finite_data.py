"""Finite training sets: SGD that cycles over N fixed samples against the online theory.

The ODEs of Refinetti & Goldt (ICML 2022) describe *online* SGD, where every step sees a fresh
sample. With a training set of N = alpha D samples drawn once from the same Gaussian model, SGD
reuses each sample every N steps (one pass = alpha time units): its error follows the online
theory while samples are still new and parts from it once they are reused often enough for the
network to fit the sample covariance instead of Omega. This module measures where: the time
t_part(alpha) at which the population error of finite-data SGD first differs from the online
ODE by more than a threshold, as a function of alpha = N / D.

The population (test) error is exact, from the order parameters of the SGD weights; the
training error is the mean of |x - x_hat|^2 / D over the N samples.

Prediction (:func:`finite_sample_excess`). Once converged, the network's K-dimensional subspace
is the top-K principal subspace of the sample second moment C_N. First-order perturbation of its
eigenvectors (E[(e_j^T C_N e_tau)^2] = rho_tau rho_j / N for Gaussian data) tilts direction tau
by angle^2 = sum_j rho_tau rho_j / (N (rho_tau - rho_j)^2) towards every discarded direction j,
so the population error rises and, by the second-order eigenvalue shift, the training error
falls by the same amount

    Delta = (1 / (N D)) sum_{tau <= K < j} rho_tau rho_j / (rho_tau - rho_j)   ~  K bulk / N

for K spikes rho_tau = O(D) over a flat bulk. Delta depends on N, not on alpha = N / D: spikes
of size O(D) are found from O(1) samples, so at fixed alpha finite-data SGD approaches the
online theory as D grows, and the curves part at N* ~ K bulk / (threshold x pmse), alpha* = N*/D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aelab.errors import ConfigError
from aelab.shallow.config import ShallowConfig
from aelab.shallow.sources import FiniteSource

__all__ = ["training_set", "finite_data_sgd", "parting_time", "PartingPoint", "finite_sample_excess"]


def _source(config: ShallowConfig, N: int) -> FiniteSource:
    if N < 1:
        raise ConfigError(f"N: the training set needs at least one sample, got {N}")
    return FiniteSource(config.data.covariance(), N=N)


def training_set(config: ShallowConfig, N: int, seed: int) -> np.ndarray:
    """N inputs of the config's Gaussian model in its eigenbasis, (N, D) float32, drawn once for ``seed``
    (:meth:`aelab.shallow.sources.FiniteSource.training_set`)."""
    return _source(config, N).training_set(seed)


def finite_data_sgd(config: ShallowConfig, N: int, seed: int, times: np.ndarray) -> pd.DataFrame:
    """SGD cycling over a training set of N samples (fresh random order each pass): the simulator
    with ``data.samples = N``.

    Columns: those of :func:`aelab.shallow.state.observables` (``pmse`` is the population error)
    plus ``train_pmse`` (error on the training set) and ``passes`` (samples seen / N).
    """
    from dataclasses import replace

    from aelab.shallow.problem import resolve
    from aelab.shallow.simulation import simulate_seed

    problem = replace(resolve(config), source=_source(config, N))
    return simulate_seed(problem, seed, times)


@dataclass(frozen=True)
class PartingPoint:
    """Where finite-data SGD leaves the online theory.

    Attributes:
        alpha: N / D.
        time: first recorded time with |pmse - pmse_online| > threshold * pmse_online (inf: never).
        passes: the same in passes over the training set (time / alpha).
        final_gap: relative gap at the last recorded time.
    """

    alpha: float
    time: float
    passes: float
    final_gap: float


def parting_time(t: np.ndarray, finite: np.ndarray, online: np.ndarray, alpha: float, *,
                 threshold: float = 0.05) -> PartingPoint:
    """The first time at which the finite-data curve differs from the online one by ``threshold`` (relative)."""
    t, finite, online = (np.asarray(a, float) for a in (t, finite, online))
    rel = np.abs(finite - online) / np.abs(online)
    above = np.flatnonzero(rel > threshold)
    time = float(t[above[0]]) if above.size else float("inf")
    return PartingPoint(alpha=float(alpha), time=time, passes=time / alpha, final_gap=float(rel[-1]))


def finite_sample_excess(cov, K: int, N: int) -> float:
    """Delta = (1/(N D)) sum_{tau <= K < j} rho_tau rho_j / (rho_tau - rho_j) over all D directions.

    The predicted rise of the population error (and fall of the training error) of a converged
    rank-K autoencoder trained on N Gaussian samples, to first order in 1/N.
    """
    spec = cov.spectrum()
    top, rest = spec[:K], spec[K:]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = top[:, None] * rest[None, :] / (top[:, None] - rest[None, :])
    return float(np.sum(np.where(np.isfinite(terms), terms, 0.0)) / (N * cov.D))
