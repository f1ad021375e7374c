"""How "random-like" is a weight matrix? Statistics against i.i.d. Gaussian matrices of the same shape.

Arora, Liang & Ma (2015) assume the weights of trained nets behave like random numbers. For a
weight matrix W (torch orientation: shape (fan_out, fan_in), rows = incoming weights of the units):

* the law of the standardised entries (skewness, excess kurtosis, Kolmogorov distance to N(0, 1));
* the singular values against the Marchenko-Pastur law (Kolmogorov distance of the eigenvalues
  of the normalised Gram matrix, and the largest singular value over the bulk edge);
* the normalised inner products of different units' weight vectors, cos_ij sqrt(fan_in), which are
  about N(0, 1) for random W (the off-diagonal entries of the paper's W^T W);
* the reverse-then-forward recovery error: codes h (real activations) are pushed down through
  the transposed weights (x = s * relu(alpha W^T h)) and back up; the error is compared with the
  exact random-weight prediction (:func:`aelab.reversible.theory.error_given_codes`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats

from aelab.reversible import theory
from aelab.reversible.config import NetSpec

__all__ = [
    "entry_statistics",
    "marchenko_pastur_pdf",
    "marchenko_pastur_cdf",
    "spectrum_statistics",
    "gram_offdiagonal",
    "reverse_forward_error",
    "matrix_report",
]


def entry_statistics(weights: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, skewness, excess kurtosis and the Kolmogorov distance of the
    standardised entries to N(0, 1)."""
    w = np.asarray(weights, float).ravel()
    z = (w - w.mean()) / w.std()
    return {"mean": float(w.mean()), "std": float(w.std()), "skewness": float(stats.skew(z)),
            "excess_kurtosis": float(stats.kurtosis(z)),
            "ks_normal": float(stats.kstest(z, "norm").statistic)}


def marchenko_pastur_pdf(x: np.ndarray, ratio: float) -> np.ndarray:
    """Density of the Marchenko-Pastur law with ratio lambda <= 1 and unit variance:
    sqrt((b - x)(x - a))/(2 pi lambda x) on [a, b] = [(1 - sqrt lambda)^2, (1 + sqrt lambda)^2]."""
    x = np.asarray(x, float)
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    inside = (x > lo) & (x < hi)
    safe = np.where(inside, x, 1.0)
    return np.where(inside, np.sqrt(np.clip((hi - safe) * (safe - lo), 0, None)) / (2 * math.pi * ratio * safe), 0.0)


@lru_cache(maxsize=32)
def _mp_grid(ratio: float, points: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    # Chebyshev-like spacing resolves the square-root edges.
    t = np.linspace(0.0, math.pi, points)
    x = lo + (hi - lo) * (1 - np.cos(t)) / 2
    pdf = marchenko_pastur_pdf(x, ratio)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(x))])
    return x, cdf / cdf[-1]


def marchenko_pastur_cdf(x: np.ndarray, ratio: float) -> np.ndarray:
    """Distribution function of the Marchenko-Pastur law (ratio <= 1, unit variance), by quadrature."""
    grid, cdf = _mp_grid(float(ratio))
    return np.interp(np.asarray(x, float), grid, cdf, left=0.0, right=1.0)


def _gram_eigenvalues(weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Eigenvalues of the d x d Gram matrix over the larger dimension D, for W/rms(W): MP with ratio d/D."""
    w = np.asarray(weights, float)
    w = w / math.sqrt(np.mean(w * w))
    small, large = sorted(w.shape)
    gram = (w @ w.T) if w.shape[0] == small else (w.T @ w)
    return np.linalg.eigvalsh(gram / large), small / large


def spectrum_statistics(weights: np.ndarray) -> dict[str, float]:
    """Kolmogorov distance of the spectrum to Marchenko-Pastur, the top singular value over the bulk
    edge sqrt(p) + sqrt(q) (in units of the rms entry), and the fraction of eigenvalues outside the bulk."""
    eig, ratio = _gram_eigenvalues(weights)
    eig = np.sort(eig)
    n = eig.size
    cdf = marchenko_pastur_cdf(eig, ratio)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    hi = (1 + math.sqrt(ratio)) ** 2
    return {"mp_ratio": ratio, "ks_marchenko_pastur": float(ks),
            "top_singular_over_edge": float(math.sqrt(max(eig[-1], 0.0)) / (1 + math.sqrt(ratio))),
            "outside_bulk": float(np.mean(eig > hi * 1.05))}


def gram_offdiagonal(weights: np.ndarray) -> np.ndarray:
    """cos(w_i, w_j) sqrt(fan_in) for the rows w_i of W, i < j: about N(0, 1) for random W."""
    w = np.asarray(weights, float)
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    cos = unit @ unit.T
    return cos[np.triu_indices(w.shape[0], 1)] * math.sqrt(w.shape[1])


def reverse_forward_error(weights: np.ndarray, codes: np.ndarray, *, keep_prob: float, threshold: float,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Push codes down through W^T and back up; return measured errors and the random-weight prediction.

    The matrix is scaled to unit rms entries (the model's N(0, 1) scale). Generation:
    x = s * relu(alpha W^T h) with alpha = 2/(rho fan_in); inference h^ = relu(W x - tau ||x||).

    Args:
        weights: W of shape (units, fan_in): the units are the code coordinates.
        codes: non-negative codes h, shape (N, units) (e.g. a layer's activations on data).
        keep_prob: rho of the dropout on the generated layer.
        threshold: tau.
        rng: draws the dropout masks.

    Returns:
        (measured relative errors, predicted expected errors), one per code.
    """
    w = np.asarray(weights, float)
    w = w / math.sqrt(np.mean(w * w))
    h = np.asarray(codes, float)
    units, fan_in = w.shape
    alpha = 2.0 / (keep_prob * fan_in)
    x = np.maximum(alpha * h @ w, 0.0) * (rng.random((h.shape[0], fan_in)) < keep_prob)
    h_hat = np.maximum(x @ w.T - threshold * np.linalg.norm(x, axis=1, keepdims=True), 0.0)
    norm2 = np.sum(h * h, axis=1)
    keep = norm2 > 0
    measured = np.sum((h_hat - h) ** 2, axis=1)[keep] / norm2[keep]
    # The prediction needs only the non-zero values; pad every code to the largest support with zeros,
    # which the formula treats exactly as off-support coordinates.
    h = h[keep]
    width = max(1, int(np.max(np.count_nonzero(h, axis=1))))
    values = -np.sort(-h, axis=1)[:, :width]
    spec = NetSpec(widths=(fan_in, units), sparsity=width, keep_prob=keep_prob, threshold=threshold)
    predicted = theory.error_given_codes(values, spec)["relative_error"]
    return measured, predicted


def matrix_report(weights: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """All statistics of one matrix, and of an i.i.d. Gaussian matrix of the same shape (``random_*``)."""
    w = np.asarray(weights, float)
    reference = rng.standard_normal(w.shape)
    out: dict[str, float] = {"rows": w.shape[0], "cols": w.shape[1]}
    for prefix, matrix in (("", w), ("random_", reference)):
        out.update({prefix + k: v for k, v in entry_statistics(matrix).items() if k not in ("mean", "std")})
        out.update({prefix + k: v for k, v in spectrum_statistics(matrix).items() if k != "mp_ratio"})
        off = gram_offdiagonal(matrix)
        out[prefix + "offdiag_std"] = float(off.std())
        out[prefix + "offdiag_max"] = float(np.max(np.abs(off)))
    out["entry_mean_over_std"] = float(np.mean(w) / np.std(w))
    return out
