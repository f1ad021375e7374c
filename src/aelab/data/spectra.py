"""Empirical covariance spectra of data sets: eigenvalues and eigenvectors, cached, and their plot.

The shallow-autoencoder theory of Refinetti & Goldt (2022) is driven by the eigenvalues
``rho_tau`` and eigenvectors of the input covariance; :func:`cached_covariance_spectrum`
gives them for a registered data set after a named preprocessing pipeline
(e.g. :data:`aelab.data.preprocess.REFINETTI_GOLDT`), computing them once.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aelab.errors import ConfigError

__all__ = ["second_moment", "covariance_spectrum", "cached_covariance_spectrum", "plot_spectrum"]

_CHUNK_BYTES = 32 << 20  # float64 bytes per row chunk


def second_moment(X: np.ndarray, *, centered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The empirical covariance (or uncentred second moment) of X (N, D), and the mean.

    C = (1/N) sum_mu (x_mu - m)(x_mu - m)^T with m the sample mean (``centered``), or
    C = (1/N) sum_mu x_mu x_mu^T; the 1/N (not 1/(N-1)) normalisation. Accumulated in float64
    over row chunks (X^T X per chunk), so X may be float32 or a memory map of any size.

    Returns:
        (C as float64 (D, D), mean as float64 (D,)).
    """
    X = np.asarray(X) if not isinstance(X, np.memmap) else X
    if X.ndim != 2:
        raise ConfigError(f"X: expected a 2-D array (N, D) of flattened samples, got shape {X.shape}")
    n, d = X.shape
    if n < 1 or d < 1:
        raise ConfigError(f"X: empty array of shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ConfigError(f"X: expected real numbers, got {X.dtype}")
    rows = max(64, _CHUNK_BYTES // (8 * d))
    mean = np.zeros(d)
    for start in range(0, n, rows):
        mean += X[start:start + rows].sum(axis=0, dtype=np.float64)
    mean /= n
    C = np.zeros((d, d))
    for start in range(0, n, rows):
        A = np.asarray(X[start:start + rows], dtype=np.float64)
        if centered:
            A = A - mean
        C += A.T @ A
    C /= n
    if not np.all(np.isfinite(C)):
        raise ConfigError("X: contains NaN or infinite values")
    return C, mean


def _fix_signs(V: np.ndarray) -> np.ndarray:
    """Flip each column so that its entry of largest magnitude is positive (a reproducible sign)."""
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def covariance_spectrum(X: np.ndarray, *, centered: bool = True, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors (columns) of the covariance of X (N, D).

    The covariance is that of :func:`second_moment` (1/N normalisation; uncentred second
    moment when ``centered`` is False, as in Refinetti & Goldt's code); it is diagonalised by
    LAPACK through :func:`scipy.linalg.eigh` (divide and conquer for all eigenpairs, MRRR for
    the top k). Each eigenvector is signed so that its largest-magnitude entry is positive.

    Args:
        X: data (N, D), any real dtype (float32, float64, a memory map).
        centered: subtract the sample mean.
        k: only the k largest eigenpairs (1 <= k <= D); None for all D.

    Returns:
        (eigenvalues (k,) descending, eigenvectors (D, k), column j for eigenvalue j).
    """
    import scipy.linalg

    C, _ = second_moment(X, centered=centered)
    d = C.shape[0]
    if k is None:
        w, V = scipy.linalg.eigh(C, overwrite_a=True, check_finite=False, driver="evd")
    else:
        if not 1 <= int(k) <= d:
            raise ConfigError(f"k: {k}, expected 1 <= k <= D = {d}")
        k = int(k)
        w, V = scipy.linalg.eigh(C, overwrite_a=True, check_finite=False, subset_by_index=[d - k, d - 1])
    return w[::-1].copy(), _fix_signs(V[:, ::-1])


def _spectrum_key(name: str, split: str, steps: str, centered: bool, k: int | None, source: str) -> str:
    blob = json.dumps(["spectrum", 1, name, split, steps, centered, k, source])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_covariance_spectrum(
    name: str,
    split: str = "train",
    *,
    steps: str | Sequence[str] = ("grayscale", "to_float", "flatten"),
    centered: bool = True,
    k: int | None = None,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`covariance_spectrum` of a registered data set after a preprocessing pipeline, cached.

    The cache entry (``spectra/<name>-<split>-<key>.npz`` in the cache directory) is keyed by
    the data set's source files (path, size, modification time), the split, the canonical
    pipeline text, ``centered`` and ``k``.

    Args:
        name, split: the data set and split (see :func:`aelab.data.load_dataset`).
        steps: pipeline of :mod:`aelab.data.preprocess` step names; must end in flat (N, D) data.
        centered, k: as in :func:`covariance_spectrum`.
        data_dir, cache_dir: as in :func:`aelab.data.load_dataset`.
    """
    from aelab.data import paths
    from aelab.data.datasets import load_dataset, source_key
    from aelab.data.preprocess import apply_steps, steps_key
    from aelab.results import atomic_write_bytes

    canonical = steps_key(steps)
    key = _spectrum_key(name, split, canonical, bool(centered), k, source_key(name, split, data_dir=data_dir))
    path = paths.cache_dir(cache_dir) / "spectra" / f"{name}-{split}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return f["eigenvalues"], f["eigenvectors"]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    data = load_dataset(name, split, data_dir=data_dir, cache_dir=cache_dir)
    X = apply_steps(data.images, canonical)
    if X.ndim != 2:
        raise ConfigError(f"--steps {canonical}: gives data of shape {X.shape}; end the pipeline with flatten")
    w, V = covariance_spectrum(X, centered=centered, k=k)
    buf = io.BytesIO()
    np.savez(buf, eigenvalues=w, eigenvectors=V, steps=np.array(canonical), centered=np.array(centered),
             n=np.array(len(X)))
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError:  # a read-only cache only costs time
        pass
    return w, V


def plot_spectrum(eigenvalues: np.ndarray | Sequence[np.ndarray], path: str | Path | None = None, *,
                  labels: Sequence[str] | None = None, ax=None, title: str | None = None):
    """Log-log plot of eigenvalue against rank (1 = largest); one curve per eigenvalue array.

    Eigenvalues below 1e-12 of the largest (numerically zero) are not drawn.

    Args:
        eigenvalues: one array, or a list of arrays to compare.
        path: save the figure there (PNG/PDF/SVG by suffix) and close it.
        labels: legend labels, one per array.
        ax: draw into these axes instead of a new figure.
        title: axes title.

    Returns:
        The figure.
    """
    from aelab.plots import new_figure, save_figure

    arrays = [np.asarray(eigenvalues)] if np.ndim(eigenvalues[0]) == 0 else [np.asarray(e) for e in eigenvalues]
    if labels is not None and len(labels) != len(arrays):
        raise ConfigError(f"labels: {len(labels)} labels for {len(arrays)} spectra")
    if ax is None:
        fig, axes = new_figure()
        ax = axes[0, 0]
    else:
        fig = ax.figure
    for i, w in enumerate(arrays):
        w = np.sort(w)[::-1]
        keep = w > w[0] * 1e-12
        ranks = np.arange(1, len(w) + 1)
        ax.loglog(ranks[keep], w[keep], ".-", ms=2.5, lw=0.8, label=None if labels is None else labels[i])
    ax.set_xlabel("rank")
    ax.set_ylabel("eigenvalue of the covariance")
    if title:
        ax.set_title(title)
    if labels is not None:
        ax.legend(frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    if path is not None:
        save_figure(fig, path)
    return fig
