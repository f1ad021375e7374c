"""Laws of the non-zero entries of the sparse top code h (Arora, Liang & Ma 2015, Sec. 2).

h in R^m has k non-zeros on a uniformly random support; the non-zero values are i.i.d. from one of
``uniform`` (on [1, 2], the default), ``constant`` (all 1) or ``exponential`` (mean 1). Each law
gives samples, raw moments and a quadrature rule, so simulation and theory read the same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.polynomial.laguerre import laggauss
from numpy.polynomial.legendre import leggauss

__all__ = ["NonzeroLaw", "LAW_NAMES", "get_law", "SparseCodes", "draw_codes"]

LawName = Literal["uniform", "constant", "exponential"]
LAW_NAMES: tuple[str, ...] = ("uniform", "constant", "exponential")


@dataclass(frozen=True)
class NonzeroLaw:
    """The law of one non-zero entry of h."""

    name: str
    description: str

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """Draw i.i.d. values of the given shape."""
        if self.name == "uniform":
            return rng.uniform(1.0, 2.0, size)
        if self.name == "constant":
            return np.ones(size)
        return rng.exponential(1.0, size)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The inverse distribution function at u in [0, 1)."""
        u = np.asarray(u, float)
        if self.name == "uniform":
            return 1.0 + u
        if self.name == "constant":
            return np.ones_like(u)
        return -np.log1p(-u)

    def moment(self, p: int) -> float:
        """E[v^p]."""
        if self.name == "uniform":
            return (2.0 ** (p + 1) - 1.0) / (p + 1)
        if self.name == "constant":
            return 1.0
        return float(math.factorial(p))

    @property
    def min_value(self) -> float:
        """The lower end of the support (exact support recovery needs min h_i above the noise)."""
        return 0.0 if self.name == "exponential" else 1.0

    def rule(self, points: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and weights (summing to 1) of a Gauss rule for E[f(v)]."""
        return _rule(self.name, points)


@lru_cache(maxsize=16)
def _rule(name: str, points: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "constant":
        nodes, weights = np.ones(1), np.ones(1)
    elif name == "uniform":
        x, w = leggauss(points)
        nodes, weights = 1.5 + 0.5 * x, 0.5 * w
    else:
        nodes, weights = laggauss(points)
    weights = weights / weights.sum()
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


_LAWS = {
    "uniform": NonzeroLaw("uniform", "uniform on [1, 2]"),
    "constant": NonzeroLaw("constant", "all equal to 1"),
    "exponential": NonzeroLaw("exponential", "exponential with mean 1"),
}


def get_law(name: str) -> NonzeroLaw:
    """The law called ``name`` (one of :data:`LAW_NAMES`)."""
    try:
        return _LAWS[name]
    except KeyError:
        raise ValueError(f"unknown law {name!r}; expected one of {', '.join(LAW_NAMES)}") from None


@dataclass(frozen=True)
class SparseCodes:
    """A batch of k-sparse non-negative codes: ``indices`` and ``values`` of shape (..., k)."""

    indices: np.ndarray
    values: np.ndarray
    width: int

    def dense(self, dtype=np.float64) -> np.ndarray:
        """The codes as a dense array of shape (..., width)."""
        out = np.zeros(self.indices.shape[:-1] + (self.width,), dtype=dtype)
        np.put_along_axis(out, self.indices, self.values.astype(dtype), axis=-1)
        return out


def draw_codes(rng: np.random.Generator, width: int, sparsity: int, law: NonzeroLaw | str,
               shape: tuple[int, ...]) -> SparseCodes:
    """Draw codes h in R^width with ``sparsity`` non-zeros on a uniform random support.

    Args:
        rng: the generator.
        width: m, the dimension of h.
        sparsity: k, the number of non-zeros (k <= m).
        law: the law of the non-zero values.
        shape: the batch shape.
    """
    law = get_law(law) if isinstance(law, str) else law
    count = int(np.prod(shape, dtype=np.int64))
    if sparsity * sparsity <= width:
        # Rejection: draw k indices with replacement and redraw the rows with a repeat; a row has no
        # repeat with probability about exp(-k^2/(2m)) >= exp(-1/2), so few rounds are needed.
        idx = rng.integers(0, width, size=(count, sparsity))
        while sparsity > 1:
            srt = np.sort(idx, axis=1)
            bad = np.any(srt[:, 1:] == srt[:, :-1], axis=1)
            if not bad.any():
                break
            idx[bad] = rng.integers(0, width, size=(int(bad.sum()), sparsity))
    else:
        idx = np.argpartition(rng.random((count, width)), sparsity - 1, axis=1)[:, :sparsity]
    values = law.sample(rng, (count, sparsity))
    return SparseCodes(idx.reshape(*shape, sparsity), values.reshape(*shape, sparsity), width)
