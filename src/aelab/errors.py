"""Errors that the command line turns into one clear line and an exit code.

Exit codes: 0 success, 1 the run failed (divergence, numerical trouble, I/O), 2 bad input.
"""

from __future__ import annotations


class AelabError(Exception):
    """Base class: a failure that is reported as one line, without a traceback."""

    exit_code: int = 1


class ConfigError(AelabError, ValueError):
    """Bad input: an invalid configuration, option or file. Exit code 2."""

    exit_code = 2


class DivergenceError(AelabError, ArithmeticError):
    """A run diverged (overflow, NaN). Carries where and why; what was computed is kept.

    Attributes:
        time: the time of the failure (ODE time, or SGD time t = steps / D), or None.
        step: the step (training step, SGD step) of the failure, or None.
        layer: the layer (deep networks) of the failure, or None.
        cause: a short description of what went wrong.
        partial: the results table computed before the failure (a pandas DataFrame), or None.
        side: the name of that table (``theory``, ``simulation``, ``history``), or "".
        completed: the tables the run finished before the failure, by name.
    """

    exit_code = 1

    def __init__(self, message: str, *, time: float | None = None, step: int | None = None,
                 layer: int | None = None, cause: str = "", partial=None, side: str = "",
                 completed: dict | None = None):
        super().__init__(message)
        self.time = time
        self.step = step
        self.layer = layer
        self.cause = cause
        self.partial = partial
        self.side = side
        self.completed = dict(completed or {})

    @property
    def where(self) -> dict[str, float | int]:
        """The place of the failure on the run's axes, e.g. ``{"time": 3.2}`` or ``{"step": 40}``."""
        return {k: v for k, v in (("time", self.time), ("step", self.step), ("layer", self.layer)) if v is not None}
