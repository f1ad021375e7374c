"""Synthetic inputs: Gaussian data with a covariance given by its eigenpairs (spiked model).

The covariance is Omega = sum_m rho_m e_m e_m^T + rho_bulk (I - E E^T): a set of tracked
eigen-directions e_m (columns of E, orthonormal) with eigenvalues rho_m, and a flat bulk on
their orthogonal complement. The spiked covariance model of Refinetti & Goldt (2022, eq. 3)
is Omega = bulk I + sum_m (lambda_m D) u_m u_m^T, i.e. rho_m = bulk + lambda_m D. An empirical
image spectrum is the case of D tracked directions and no bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from aelab.errors import ConfigError

__all__ = ["Covariance", "spiked_covariance", "spike_directions"]


@dataclass(frozen=True, eq=False)
class Covariance:
    """A covariance matrix held as eigenpairs plus a flat bulk.

    Args:
        D: input dimension.
        eigenvalues: (M,) eigenvalues rho_m of the tracked directions, in decreasing order.
        bulk: eigenvalue of the (D - M)-dimensional complement.
        eigenvectors: (D, M) orthonormal columns e_m, or None when only the spectrum matters
            (theory and the eigenbasis simulator never need them).
    """

    D: int
    eigenvalues: np.ndarray
    bulk: float = 0.0
    eigenvectors: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        rho = np.asarray(self.eigenvalues, dtype=float).reshape(-1)
        if self.D < 1:
            raise ConfigError(f"data.D: must be >= 1, got {self.D}")
        if rho.size > self.D:
            raise ConfigError(f"data: {rho.size} eigen-directions do not fit in D = {self.D}")
        if not np.all(np.isfinite(rho)) or np.any(rho < 0) or not np.isfinite(self.bulk) or self.bulk < 0:
            raise ConfigError("data: eigenvalues and bulk must be finite and non-negative")
        if np.any(np.diff(rho) > 1e-12 * max(1.0, float(rho.max(initial=0.0)))):
            raise ConfigError("data: eigenvalues must be in decreasing order")
        rho.setflags(write=False)
        object.__setattr__(self, "eigenvalues", rho)
        if self.eigenvectors is not None:
            vecs = np.asarray(self.eigenvectors, dtype=float)
            if vecs.shape != (self.D, rho.size):
                raise ConfigError(f"data: eigenvectors must have shape ({self.D}, {rho.size}), got {vecs.shape}")
            object.__setattr__(self, "eigenvectors", vecs)

    @property
    def M(self) -> int:
        """Number of tracked eigen-directions."""
        return int(self.eigenvalues.size)

    @property
    def n_bulk(self) -> int:
        """Dimension of the bulk (the complement of the tracked directions)."""
        return self.D - self.M

    @property
    def trace(self) -> float:
        """tr Omega."""
        return float(self.eigenvalues.sum() + self.bulk * self.n_bulk)

    def spectrum(self) -> np.ndarray:
        """All D eigenvalues in decreasing order."""
        full = np.concatenate([self.eigenvalues, np.full(self.n_bulk, self.bulk)])
        return np.sort(full)[::-1]

    def pca_error(self, rank: int) -> float:
        """The PCA reconstruction error of the given rank, as pmse = (tr Omega - sum of top ranks)/D."""
        if rank < 0:
            raise ValueError("rank must be >= 0")
        spec = self.spectrum()
        return float(spec[rank:].sum() / self.D)

    def eigenbasis_std(self) -> np.ndarray:
        """(D,) standard deviations of the inputs in the eigenbasis: tracked directions first, then the bulk."""
        return np.sqrt(np.concatenate([self.eigenvalues, np.full(self.n_bulk, self.bulk)]))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n inputs x ~ N(0, Omega) in the input space (needs the eigenvectors)."""
        if self.eigenvectors is None:
            raise ConfigError("data: sampling in input space needs the eigenvectors")
        xi = rng.standard_normal((n, self.D))
        E = self.eigenvectors
        coef = np.sqrt(self.eigenvalues) - np.sqrt(self.bulk)
        return np.sqrt(self.bulk) * xi + ((xi @ E) * coef) @ E.T


def spike_directions(D: int, M: int, kind: Literal["random", "sinusoidal"], rng: np.random.Generator) -> np.ndarray:
    """(D, M) orthonormal spike directions.

    ``random``: uniformly random orthonormal directions. ``sinusoidal``: the directions of
    Refinetti & Goldt's reference code, u_m[i] proportional to sin((m + 2) i / 100), i = 0..D-1,
    made exactly orthonormal by Gram-Schmidt (QR) in order.
    """
    if kind == "random":
        raw = rng.standard_normal((D, M))
    elif kind == "sinusoidal":
        i = np.arange(D)[:, None]
        raw = np.sin((np.arange(M)[None, :] + 2) * i / 100.0)
    else:
        raise ConfigError(f"data.directions: unknown kind {kind!r} (random or sinusoidal)")
    q, r = np.linalg.qr(raw)
    return q * np.sign(np.diag(r))


def spiked_covariance(
    D: int,
    spikes: list[float] | np.ndarray,
    bulk: float = 1.0,
    *,
    directions: Literal["random", "sinusoidal"] | None = None,
    rng: np.random.Generator | None = None,
) -> Covariance:
    """The spiked covariance Omega = bulk I + sum_m (lambda_m D) u_m u_m^T (Refinetti & Goldt 2022, eq. 3).

    Args:
        D: input dimension.
        spikes: the lambda_m >= 0; the spike eigenvalues are bulk + lambda_m D.
        bulk: the bulk eigenvalue.
        directions: 'random' or 'sinusoidal' to build the eigenvectors, None for none.
        rng: generator for random directions.
    """
    lam = np.sort(np.asarray(spikes, dtype=float))[::-1]
    if np.any(lam < 0):
        raise ConfigError("data.spikes: must be non-negative")
    vecs = None
    if directions is not None:
        vecs = spike_directions(D, lam.size, directions, rng if rng is not None else np.random.default_rng(0))
    return Covariance(D=D, eigenvalues=bulk + lam * D, bulk=bulk, eigenvectors=vecs)
