"""Gaussian smoothing of an activation: H1(m, b) = E g(m + b z), H2(m, b) = E g(m + b z)^2.

Two implementations:

* :func:`smoothed` integrates any activation by a composite Gauss-Legendre rule
  (:func:`aelab.gaussian.standard_rule`) split at the activation's kinks and at "pseudo-kinks"
  c +- 2^k around its centre, in the units of the activation's argument. When b is large the
  activation's transition is narrow in z-units and the pseudo-kinks cluster there; when b is
  small they fall outside the rule. A plain Gauss-Hermite rule has no such property: for
  E tanh(m + b z)^2 with b = 3 its error is about 4e-4 even with 96 points.
* :func:`table` tabulates H1, H2 on a grid in (xi, eta) = (m, b) / (1 + b) for the compiled
  kernels (quintic interpolation in xi, cubic in eta; tests check it against :func:`smoothed`).
  Tables are built once and cached in memory and on disk.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from aelab.activations import Activation, get_activation
from aelab.gaussian import BASE_BREAKS, pseudo_kinks, standard_rule

__all__ = ["smoothed", "smoothed_fn", "Table", "table", "TABLE_KINDS", "packed_tables"]


def smoothed_fn(
    funcs: Sequence[Callable[[np.ndarray], np.ndarray]],
    m: np.ndarray | float,
    b: np.ndarray | float,
    *,
    kinks: Sequence[float] = (),
    n: int = 12,
    chunk: int = 4096,
) -> list[np.ndarray]:
    """E f(m + b z) for each f in ``funcs``, broadcasting over m and b >= 0 (b = 0 gives f(m)).

    Args:
        funcs: vectorised functions of the argument.
        m, b: mean and standard deviation of the argument.
        kinks: where the functions are not smooth (the rule is split there and graded around).
        n: Gauss-Legendre points per piece.
        chunk: settings per vectorised block (bounds the memory).
    """
    m, b = np.broadcast_arrays(np.asarray(m, float), np.asarray(b, float))
    shape = m.shape
    mf, bf = m.ravel(), b.ravel()
    xs = pseudo_kinks(kinks)
    out = [np.empty(mf.shape) for _ in funcs]
    for lo in range(0, mf.size, chunk):
        mm, bb = mf[lo:lo + chunk], bf[lo:lo + chunk]
        pos = bb > 0
        bs = np.where(pos, bb, 1.0)
        breaks = np.concatenate([np.broadcast_to(BASE_BREAKS, (mm.size, BASE_BREAKS.size)),
                                 (xs[None, :] - mm[:, None]) / bs[:, None]], axis=1)
        z, w = standard_rule(breaks, n)
        x = mm[:, None] + bs[:, None] * z
        for k, f in enumerate(funcs):
            vals = np.sum(w * f(x), axis=-1)
            out[k][lo:lo + chunk] = np.where(pos, vals, f(mm))
    return [o.reshape(shape) for o in out]


def smoothed(act: Activation | str, m, b, *, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """(H1, H2) = (E g(m + b z), E g(m + b z)^2) for an activation g, by composite quadrature."""
    act = get_activation(act)
    h1, h2 = smoothed_fn([act.f, lambda x: act.f(x) ** 2], m, b, kinks=act.kinks, n=n)
    return h1, h2


# --- tables for the compiled kernels -------------------------------------------------------------
def _softplus(x):
    return np.logaddexp(0.0, x)


def _limit_sign(xi):
    """H1, H2 of tanh or erf as b -> infinity: g(U) -> sign(xi + z)."""
    p = ndtr(xi)
    return 2.0 * p - 1.0, np.ones_like(xi)


def _limit_relu(xi):
    """Scaled H1, H2 of softplus as b -> infinity: softplus(U) / b -> relu(xi + z)."""
    p, d = ndtr(xi), np.exp(-0.5 * xi**2) / math.sqrt(2.0 * math.pi)
    return xi * p + d, (xi**2 + 1.0) * p + xi * d


@dataclass(frozen=True)
class _Kind:
    funcs: tuple[Callable, Callable]
    xmax: float
    limit: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    scaled: bool  # the table holds H1 / (1 + b), H2 / (1 + b)^2
    odd: bool  # H1 odd and H2 even in m: only m >= 0 is integrated


def _erf(x):
    return get_activation("erf").f(x)


TABLE_KINDS: dict[str, _Kind] = {
    "tanh": _Kind((np.tanh, lambda x: np.tanh(x) ** 2), 20.0, _limit_sign, False, True),
    "erf": _Kind((_erf, lambda x: _erf(x) ** 2), 10.0, _limit_sign, False, True),
    "softplus": _Kind((_softplus, lambda x: _softplus(x) ** 2), 24.0, _limit_relu, True, False),
}
_DXI = 1.0 / 32.0
_NETA = 256
_VERSION = "deep-smoothing-v3"


@dataclass(frozen=True)
class Table:
    """H1, H2 on the grid xi_i = -X + i dxi, eta_j = j deta (data shape (2, NX, NE)); meta = (X, dxi, deta)."""

    kind: str
    data: np.ndarray
    meta: np.ndarray


def _build(kind: str) -> np.ndarray:
    spec = TABLE_KINDS[kind]
    xi = np.arange(-spec.xmax, spec.xmax + 0.5 * _DXI, _DXI)
    eta = np.arange(_NETA + 1) / _NETA
    data = np.empty((2, xi.size, eta.size))
    half = xi >= 0 if spec.odd else np.ones(xi.size, bool)
    XI, ETA = np.meshgrid(xi[half], eta[:-1], indexing="ij")
    b = ETA / (1.0 - ETA)
    h1, h2 = smoothed_fn(list(spec.funcs), XI * (1.0 + b), b, n=10)
    if spec.scaled:
        h1, h2 = h1 / (1.0 + b), h2 / (1.0 + b) ** 2
    data[0, half, :-1], data[1, half, :-1] = h1, h2
    if spec.odd:  # H1(-m) = -H1(m), H2(-m) = H2(m)
        neg = np.flatnonzero(~half)
        data[0, neg, :-1] = -data[0, xi.size - 1 - neg, :-1]
        data[1, neg, :-1] = data[1, xi.size - 1 - neg, :-1]
    data[0, :, -1], data[1, :, -1] = spec.limit(xi)
    return data


def _cache_file(kind: str) -> Path | None:
    try:
        import platformdirs
    except ImportError:  # pragma: no cover
        return None
    key = hashlib.sha1(f"{_VERSION}:{kind}:{_DXI}:{_NETA}:{TABLE_KINDS[kind].xmax}".encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("aelab")) / "deep" / f"smoothing-{kind}-{key}.npy"


@lru_cache(maxsize=None)
def table(kind: str) -> Table:
    """The smoothing table of ``kind`` ('tanh', 'erf' or 'softplus'), from the cache or built (about 1 s)."""
    spec = TABLE_KINDS[kind]
    xmax = spec.xmax
    shape = (2, int(round(2 * xmax / _DXI)) + 1, _NETA + 1)
    path = _cache_file(kind)
    data = None
    if path is not None and path.is_file():
        try:
            data = np.load(path, allow_pickle=False)
            if data.shape != shape or not np.all(np.isfinite(data)):
                data = None
        except (OSError, ValueError):
            data = None
    if data is None:
        data = _build(kind)
        if path is not None:
            try:
                from aelab.results import atomic_write_bytes

                buf = io.BytesIO()
                np.save(buf, data, allow_pickle=False)
                atomic_write_bytes(path, buf.getvalue())
            except OSError:  # a read-only cache is not an error
                pass
    data.setflags(write=False)
    return Table(kind, data, np.array([xmax, _DXI, 1.0 / _NETA, float(spec.scaled)]))


PACK_ORDER = ("tanh", "erf", "softplus")  # rows of the packed array (the kernels' TANH_T, ERF_T, SOFTPLUS_T)


@lru_cache(maxsize=8)
def packed_tables(kinds: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """The tables of ``kinds`` packed for the kernels: data (3, 2, NX_max, NE) and metas (3, 6).

    metas[k] = (X, dxi, deta, scaled, NX, NE); tables not in ``kinds`` are left empty (zeros).
    """
    specs = [TABLE_KINDS[k] for k in PACK_ORDER]
    nx = max(int(round(2 * sp.xmax / _DXI)) + 1 for sp in specs)
    data = np.zeros((len(PACK_ORDER), 2, nx, _NETA + 1))
    metas = np.zeros((len(PACK_ORDER), 6))
    for k, name in enumerate(PACK_ORDER):
        spec = TABLE_KINDS[name]
        n_k = int(round(2 * spec.xmax / _DXI)) + 1
        metas[k] = (spec.xmax, _DXI, 1.0 / _NETA, float(spec.scaled), n_k, _NETA + 1)
        if name in kinds:
            data[k, :, :n_k, :] = table(name).data
    data.setflags(write=False)
    metas.setflags(write=False)
    return data, metas
