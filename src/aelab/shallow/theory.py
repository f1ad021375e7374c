"""Theory side of a shallow experiment: the ODE from the same initial point as the simulation."""

from __future__ import annotations

import time as _time

import numpy as np
import pandas as pd

from aelab.activations import get_activation
from aelab.errors import DivergenceError
from aelab.shallow.config import ShallowConfig
from aelab.shallow.ode import OdeSystem, integrate
from aelab.shallow.state import State, observables, state_from_weights

__all__ = ["ode_system", "initial_state", "run_theory"]


def ode_system(config: ShallowConfig) -> OdeSystem:
    """The ODE system of a configuration (Sanger's rule for a tied linear truncated network)."""
    if config.sanger_rule:
        from aelab.shallow.sanger import SangerSystem

        return SangerSystem(cov=config.data.covariance(), lr=config.train.lr, K=config.model.K)
    return OdeSystem(
        cov=config.data.covariance(), act=get_activation(config.model.activation), lr=config.train.lr,
        K=config.model.K, tied=config.model.tied, train_bias=config.model.bias,
        truncated=config.train.rule == "truncated", weight_decay=config.train.weight_decay,
    )


def initial_state(config: ShallowConfig, seed: int | None = None) -> State:
    """The state of the initial weights of ``seed`` (default: the first seed of the simulation)."""
    from aelab.shallow.simulate import initial_weights

    seed = config.train.seeds[0] if seed is None else seed
    W, V, bias = initial_weights(config, seed)
    return state_from_weights(W, V, bias, config.data.covariance(), tied=config.model.tied)


def _table(states: list[State], times: np.ndarray, system, pcs: int) -> pd.DataFrame:
    return pd.DataFrame([{"t": t, **observables(s, system.cov, system.act, pcs=pcs)} for t, s in zip(times, states)])


def run_theory(config: ShallowConfig, times: np.ndarray, *, state0: State | None = None, quiet: bool = True,
               ) -> tuple[pd.DataFrame, float]:
    """Integrate the ODE on ``times``; returns (table of observables, seconds).

    The ODE starts from ``state0`` (overlaps given directly) or, by default, from the overlaps of
    the simulation's initial weights, so that both sides start at one point; without
    ``train.shared_init`` the table is the average of the ODE over every seed's initial point.
    """
    from aelab.progress import progress_bar

    system = ode_system(config)
    if state0 is not None:
        starts = [state0]
    elif config.train.shared_init:
        starts = [initial_state(config)]
    else:
        starts = [initial_state(config, seed) for seed in config.train.seeds]
    start = _time.perf_counter()
    frames = []
    with progress_bar("ODE", (len(times) - 1) * len(starts), quiet=quiet) as bar:
        for s0 in starts:
            try:
                states = integrate(system, s0, times, method=config.ode.method, rtol=config.ode.rtol,
                                   atol=config.ode.atol, dt=config.ode.dt, on_step=lambda j: bar.advance())
            except DivergenceError as exc:
                exc.partial = _table(exc.partial or [], times, system, config.output.pcs)
                raise
            frames.append(_table(states, times, system, config.output.pcs))
    seconds = _time.perf_counter() - start
    table = frames[0] if len(frames) == 1 else sum(frames[1:], frames[0]) / len(frames)
    return table, seconds
