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
        time: the time (ODE time, SGD time t = steps/D, or training step) of the failure.
        cause: a short description of what went wrong.
        partial: whatever was computed before the failure (e.g. a results table), or None.
    """

    exit_code = 1

    def __init__(self, message: str, *, time: float | None = None, cause: str = "", partial=None):
        super().__init__(message)
        self.time = time
        self.cause = cause
        self.partial = partial
