"""Fast standard normal draws in compiled code: xoshiro256** bits and a 256-layer ziggurat.

Online SGD on Gaussian inputs spends most of its time drawing the inputs (D numbers a step).
NumPy's ziggurat costs about 18 ns a number on the project's 2-core machine; this one,
compiled with numba and filling the caller's buffer in place, about 4 ns
(``benchmarks/shallow_speed.py``). It is an exact sampler:

* bits: xoshiro256** (Blackman & Vigna 2021, "Scrambled linear pseudorandom number
  generators"), all 64 output bits of full quality; its 256-bit state is seeded from a NumPy
  ``Generator``, so a run stays deterministic given its seed;
* normals: the ziggurat of Marsaglia & Tsang (2000, J. Stat. Softw. 5(8)) with 256 layers, in
  the 64-bit form NumPy uses: 8 bits choose the layer, 1 bit the sign, 52 bits the abscissa; the
  tail beyond r = 3.6541528853610088 by Marsaglia's exponential method. The layer tables are
  built here from r by the paper's recursion (:func:`ziggurat_tables`).

``tests/test_normal_draws.py`` checks moments, the Kolmogorov distance, tail probabilities and
the tables' geometry.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["NormalStream", "ziggurat_tables", "ZIGGURAT_R"]

#: Right edge of the base layer (Marsaglia & Tsang 2000, 256 layers).
ZIGGURAT_R = 3.6541528853610088
_M52 = float(2**52)


def ziggurat_tables(r: float = ZIGGURAT_R, layers: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, w, f) of the ziggurat for f(x) = exp(-x^2/2) (Marsaglia & Tsang 2000, Sec. 2).

    Layer 0 is the base strip with the tail (pseudo-width q = v/f(r)), layer layers-1 the strip
    with right edge r, layer 1 the top strip; x_i is the right edge of layer i, f[i] = f(x_i),
    w[i] = x_i / 2^52 turns a 52-bit integer into an abscissa, k[i] = 2^52 x_{i-1}/x_i is the
    threshold below which the point lies under the curve for sure.
    """
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    v = r * f(r) + math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))  # common layer area
    k = np.zeros(layers, dtype=np.uint64)
    w = np.zeros(layers)
    fx = np.zeros(layers)
    q = v / f(r)
    k[0] = np.uint64(int(r / q * _M52))
    k[1] = np.uint64(0)
    w[0], w[layers - 1] = q / _M52, r / _M52
    fx[0], fx[layers - 1] = 1.0, f(r)
    x_prev = r
    for i in range(layers - 2, 0, -1):
        x = math.sqrt(-2.0 * math.log(v / x_prev + f(x_prev)))
        k[i + 1] = np.uint64(int(x / x_prev * _M52))
        x_prev = x
        fx[i] = f(x)
        w[i] = x / _M52
    return k, w, fx


_K, _W, _F = ziggurat_tables()


@numba.njit(cache=True, inline="always")
def _rotl(x, k):  # pragma: no cover - compiled
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def _next(s0, s1, s2, s3):  # pragma: no cover - compiled
    """xoshiro256**: (the next 64 random bits, the new state s0..s3).

    The state travels in registers (locals) rather than an array: a state kept in memory puts
    a store and a load on the generator's dependency chain and triples the cost of a draw."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def _unit(bits):  # pragma: no cover - compiled
    """A double in [0, 1) from the top 53 of 64 bits."""
    return float(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _fill(s, out, k, w, f, r):  # pragma: no cover - compiled
    flat = out.reshape(-1)
    mask8 = np.uint64(0xFF)
    mask52 = np.uint64(0x000FFFFFFFFFFFFF)
    one = np.uint64(1)
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    for j in range(flat.size):
        while True:
            bits, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            idx = bits & mask8
            bits >>= np.uint64(8)
            sign = 1.0 - 2.0 * float(np.int64(bits & one))  # no branch on a coin flip
            rabs = (bits >> one) & mask52
            x = sign * (float(np.int64(rabs)) * w[idx])  # rabs < 2^52: the signed conversion is exact
            if rabs < k[idx]:
                break
            if idx == 0:  # the tail beyond r (Marsaglia 1964)
                while True:
                    b1, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                    b2, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                    xx = -math.log1p(-_unit(b1)) / r
                    yy = -math.log1p(-_unit(b2))
                    if yy + yy > xx * xx:
                        break
                x = sign * (r + xx)
                break
            b1, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            if (f[idx - 1] - f[idx]) * _unit(b1) + f[idx] < math.exp(-0.5 * x * x):
                break
        flat[j] = x
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3


class NormalStream:
    """A stream of standard normal numbers, seeded from a NumPy ``Generator``.

    Example:
        >>> stream = NormalStream(np.random.default_rng(0))
        >>> z = stream.fill(np.empty((256, 500), dtype=np.float32))
    """

    def __init__(self, rng: np.random.Generator):
        state = rng.integers(0, np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
        if not state.any():  # the one state xoshiro cannot leave
            state[0] = np.uint64(1)
        self._state = state

    def fill(self, out: np.ndarray) -> np.ndarray:
        """Fill ``out`` (float32 or float64, C-contiguous) with independent N(0, 1) draws; returns it."""
        if not out.flags.c_contiguous:
            raise ValueError("NormalStream.fill: the buffer must be C-contiguous")
        _fill(self._state, out, _K, _W, _F, ZIGGURAT_R)
        return out
