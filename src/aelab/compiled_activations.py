"""The registry activations compiled with numba, shared by the shallow and the deep kernels.

One integer code per activation (and a parameter, the leaky-ReLU slope) selects the value
:func:`act_f`, the derivative :func:`act_df`, both at once :func:`act_fdf`, and the inverse
:func:`act_inv` of the monotone ones. :func:`compiled_code` maps an
:class:`aelab.activations.Activation` to its code only after a numeric self-check: the compiled
value and derivative must equal the activation's own NumPy functions on a test grid (relative
and absolute 1e-12). A user's activation that carries a registry name (``tanh``) but is another
function therefore runs through the NumPy paths, with one warning, instead of silently training
with the built-in function.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import lru_cache

import numpy as np
from numba import njit

__all__ = ["CODES", "ODD", "LINEAR", "RELU", "LEAKY", "TANH", "ERF", "SIGMOID", "SOFTPLUS", "HARDTANH",
           "act_f", "act_df", "act_fdf", "act_inv", "compiled_code", "CHECK_GRID", "CompiledActivationWarning"]

LINEAR, RELU, LEAKY, TANH, ERF, SIGMOID, SOFTPLUS, HARDTANH = range(8)
CODES = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY, "tanh": TANH, "erf": ERF,
         "sigmoid": SIGMOID, "softplus": SOFTPLUS, "hardtanh": HARDTANH}
ODD = (LINEAR, TANH, ERF, HARDTANH)
#: The self-check's grid: spacing 1/8 on [-6, 6], so it holds the kinks 0 and +-1.
CHECK_GRID = np.linspace(-6.0, 6.0, 97)
CHECK_GRID.setflags(write=False)
_CHECK_TOL = 1e-12
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_LEAKY = re.compile(r"^leaky_relu(?:\((.+)\))?$")


class CompiledActivationWarning(UserWarning):
    """An activation with a registry name differs from the compiled one; the NumPy path runs."""


@njit(cache=True)
def act_f(code, p, x):
    """The activation ``code`` (parameter ``p``) at x."""
    if code == LINEAR:
        return x
    if code == RELU:
        return x if x > 0.0 else 0.0
    if code == LEAKY:
        return x if x > 0.0 else p * x
    if code == TANH:
        return math.tanh(x)
    if code == ERF:
        return math.erf(x / _SQRT2)
    if code == SIGMOID:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if code == SOFTPLUS:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    # HARDTANH
    return min(max(x, -1.0), 1.0)


@njit(cache=True)
def act_df(code, p, x):
    """The derivative of the activation ``code`` at x (the right-continuous choice at kinks: 0 at 0 for ReLU)."""
    if code == LINEAR:
        return 1.0
    if code == RELU:
        return 1.0 if x > 0.0 else 0.0
    if code == LEAKY:
        return 1.0 if x > 0.0 else p
    if code == TANH:
        c = math.tanh(x)
        return 1.0 - c * c
    if code == ERF:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    if code == SIGMOID or code == SOFTPLUS:
        s = act_f(SIGMOID, 0.0, x)
        return s * (1.0 - s) if code == SIGMOID else s
    return 1.0 if abs(x) < 1.0 else 0.0


@njit(cache=True)
def act_fdf(code, p, x):
    """(act(x), act'(x)) with one evaluation of the transcendental part."""
    if code == TANH:
        c = math.tanh(x)
        return c, 1.0 - c * c
    if code == SIGMOID:
        s = act_f(SIGMOID, 0.0, x)
        return s, s * (1.0 - s)
    return act_f(code, p, x), act_df(code, p, x)


@njit(cache=True)
def act_inv(code, p, y):
    """(found, x) with act(x) = y for the monotone registry activations."""
    if code == LINEAR:
        return True, y
    if code == RELU:
        return (True, y) if y >= 0.0 else (False, 0.0)
    if code == LEAKY:
        if y >= 0.0:
            return True, y
        return (True, y / p) if p > 0.0 else (False, 0.0)
    if code == TANH:
        return (True, math.atanh(y)) if abs(y) < 1.0 else (False, 0.0)
    if code == SIGMOID:
        return (True, math.log(y / (1.0 - y))) if 0.0 < y < 1.0 else (False, 0.0)
    if code == SOFTPLUS:
        return (True, y + math.log(-math.expm1(-y))) if y > 0.0 else (False, 0.0)
    if code == HARDTANH:
        return (True, y) if abs(y) <= 1.0 else (False, 0.0)
    # ERF: bisection (erf(x / sqrt 2) = y)
    if not abs(y) < 1.0:
        return False, 0.0
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if math.erf(mid / _SQRT2) < y:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15 * max(1.0, abs(mid)):
            break
    return True, 0.5 * (lo + hi)


@njit(cache=True)
def _on_grid(code, p, x, f, df):
    for i in range(x.shape[0]):
        f[i], df[i] = act_f(code, p, x[i]), act_df(code, p, x[i])


def _name_code(name: str) -> tuple[int, float] | None:
    match = _LEAKY.match(name)
    if match:
        try:
            return LEAKY, float(match.group(1)) if match.group(1) else 0.01
        except ValueError:
            return None
    return (CODES[name], 0.0) if name in CODES else None


@lru_cache(maxsize=128)
def compiled_code(act) -> tuple[int, float] | None:
    """(code, parameter) of the compiled implementation of ``act``, or None for the NumPy paths.

    The code is chosen by the name and kept only if the compiled value and derivative equal
    ``act.f`` and ``act.df`` on :data:`CHECK_GRID`; a name match that fails the check warns once
    (:class:`CompiledActivationWarning`). Cached per activation object.
    """
    found = _name_code(act.name.lower())
    if found is None:
        return None
    code, p = found
    f, df = np.empty(CHECK_GRID.size), np.empty(CHECK_GRID.size)
    _on_grid(code, p, CHECK_GRID, f, df)
    try:
        with np.errstate(all="ignore"):
            own_f = np.broadcast_to(np.asarray(act.f(CHECK_GRID.copy()), float), CHECK_GRID.shape)
            own_df = np.broadcast_to(np.asarray(act.df(CHECK_GRID.copy()), float), CHECK_GRID.shape)
        same = (np.allclose(f, own_f, rtol=_CHECK_TOL, atol=_CHECK_TOL)
                and np.allclose(df, own_df, rtol=_CHECK_TOL, atol=_CHECK_TOL))
    except (TypeError, ValueError, ArithmeticError):  # not a vectorised function of a float array
        same = False
    if not same:
        warnings.warn(f"activation {act.name!r} is not the built-in {act.name!r} on the self-check grid: "
                      "using the NumPy path", CompiledActivationWarning, stacklevel=3)
        return None
    return code, p
