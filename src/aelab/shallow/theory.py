"""Theory side of a shallow experiment: the ODE from the same initial point as the simulation."""

from __future__ import annotations

import time as _time

import numpy as np
import pandas as pd

from aelab.errors import DivergenceError
from aelab.shallow.problem import Problem, as_problem
from aelab.shallow.state import State, observables

__all__ = ["ode_system", "initial_state", "run_theory"]


def ode_system(config):
    """The ODE system of a configuration or problem (Sanger's rule for a tied linear truncated network)."""
    return as_problem(config).ode_system()


def initial_state(config, seed: int | None = None) -> State:
    """The state of the initial weights of ``seed`` (default: the first seed of the simulation)."""
    return as_problem(config).initial_state(seed)


def _table(states: list[State], times: np.ndarray, system, pcs: int) -> pd.DataFrame:
    noise, skip = getattr(system, "noise", 0.0), getattr(system, "train_skip", False)
    return pd.DataFrame([{"t": t, **observables(s, system.cov, system.act, pcs=pcs, noise=noise, skip=skip)}
                         for t, s in zip(times, states)])


def run_theory(config, times: np.ndarray, *, state0: State | None = None, quiet: bool = True, ode=None,
               ) -> tuple[pd.DataFrame, float]:
    """Integrate the ODE of a configuration or :class:`Problem` on ``times``; returns (table, seconds).

    The ODE starts from ``state0`` (overlaps given directly) or, by default, from the overlaps of
    the simulation's initial weights, so that both sides start at one point; without
    ``train.shared_init`` the table is the average of the ODE over every seed's initial point.
    ``ode``: the integrator's :class:`~aelab.shallow.config.OdeConfig` (default: the config's own).
    """
    from aelab.progress import progress_bar
    from aelab.shallow.ode import integrate

    problem = as_problem(config)
    ode = ode if ode is not None else getattr(config, "ode", None)
    ode_kw = {} if ode is None else dict(method=ode.method, rtol=ode.rtol, atol=ode.atol, dt=ode.dt)
    system = problem.ode_system()
    if state0 is not None:
        starts = [state0]
    elif problem.shared_init:
        starts = [problem.initial_state()]
    else:
        starts = [problem.initial_state(seed) for seed in problem.seeds]
    start = _time.perf_counter()
    frames = []
    with progress_bar("ODE", (len(times) - 1) * len(starts), quiet=quiet) as bar:
        for s0 in starts:
            try:
                states = integrate(system, s0, times, on_step=lambda j: bar.advance(), **ode_kw)
            except DivergenceError as exc:
                exc.partial = _table(exc.partial or [], times, system, problem.pcs)
                exc.side = "theory"
                raise
            frames.append(_table(states, times, system, problem.pcs))
    seconds = _time.perf_counter() - start
    table = frames[0] if len(frames) == 1 else sum(frames[1:], frames[0]) / len(frames)
    return table, seconds
