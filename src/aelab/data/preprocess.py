"""Small composable preprocessing steps on image arrays, and named pipelines of them.

Each step is a pure function of arrays: images (N, H, W[, C]) in, arrays out; nothing is
modified in place. Statistics (means, standard deviations, whitening matrices) are computed
in float64 and can be passed in, so a test split can be transformed with the statistics of
the training split.

Pipelines are lists of step names, e.g. ``["grayscale", "to_float", "flatten",
"scale_global:0.5"]`` (:data:`REFINETTI_GOLDT`), used by the spectrum cache and the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from aelab.errors import ConfigError

__all__ = [
    "LUMA_601",
    "REFINETTI_GOLDT",
    "to_float",
    "grayscale",
    "flatten",
    "center",
    "standardize",
    "scale_global",
    "whitening_matrix",
    "whiten",
    "subset",
    "split",
    "parse_steps",
    "steps_key",
    "apply_steps",
]

#: ITU-R BT.601 luma weights (R, G, B), as used by Pillow's ``convert("L")`` and torchvision's Grayscale.
LUMA_601 = (0.299, 0.587, 0.114)
# Pillow's fixed-point form of the same weights: (R*19595 + G*38470 + B*7471 + 2^15) >> 16.
_LUMA_601_FIXED = (19595, 38470, 7471)

#: Refinetti & Goldt (2022), code ``utils.preprocessData``: grayscale, [0, 1], flatten, then
#: subtract the global scalar mean and divide by twice the global scalar std (entries of std 0.5).
REFINETTI_GOLDT = ("grayscale", "to_float", "flatten", "scale_global:0.5")


def _require_float(X: np.ndarray, step: str) -> np.ndarray:
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        raise ConfigError(f"{step}: expects floating-point data, got {X.dtype} (apply to_float first)")
    return X


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1] (division by 255)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ConfigError(f"to_float: expects uint8 pixels, got {images.dtype}")
    return np.divide(images, np.float32(255.0), dtype=np.float32)


def grayscale(images: np.ndarray) -> np.ndarray:
    """RGB to luma with the ITU-R BT.601 weights L = 0.299 R + 0.587 G + 0.114 B.

    uint8 input gives uint8 output identical to Pillow's ``Image.convert("L")`` (the
    fixed-point weights 19595, 38470, 7471 / 2^16, rounded), which is what torchvision's
    ``Grayscale`` applies to PIL images; float input gives the weighted sum in its dtype.
    Grayscale input (N, H, W) is returned unchanged; (N, H, W, 1) is squeezed.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        return images
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ConfigError(f"grayscale: expects images (N, H, W) or (N, H, W, 1|3), got shape {images.shape}")
    if images.shape[-1] == 1:
        return images[..., 0]
    if images.dtype == np.uint8:
        r, g, b = _LUMA_601_FIXED
        out = np.empty(images.shape[:-1], dtype=np.uint8)
        for start in range(0, len(images), 4096):  # bounded uint32 temporaries
            block = images[start:start + 4096].astype(np.uint32)
            out[start:start + 4096] = (block[..., 0] * r + block[..., 1] * g + block[..., 2] * b + 0x8000) >> 16
        return out
    images = _require_float(images, "grayscale")
    weights = np.asarray(LUMA_601, dtype=images.dtype)
    return images @ weights


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) to (N, D) with D = H W C, row-major (a view when possible)."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ConfigError(f"flatten: expects at least 2 dimensions (N, ...), got shape {images.shape}")
    return images.reshape(len(images), -1)


_ROWS = 4096  # rows per chunk of the float64 statistics


def _moments(X: np.ndarray, per_pixel: bool) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per feature or of all entries, in float64, in two passes over row chunks."""
    axis = 0 if per_pixel else None
    n = X.shape[0] if per_pixel else X.size
    chunks = [X[i:i + _ROWS] for i in range(0, len(X), _ROWS)]
    if n == 0:
        raise ConfigError("preprocess: empty data")
    mean = sum(np.sum(c, axis=axis, dtype=np.float64) for c in chunks) / n
    var = sum(np.sum(np.square(c - mean), axis=axis, dtype=np.float64) for c in chunks) / n
    return np.asarray(mean), np.sqrt(np.asarray(var))


def _mean(X: np.ndarray, per_pixel: bool) -> np.ndarray:
    axis = 0 if per_pixel else None
    n = X.shape[0] if per_pixel else X.size
    return np.asarray(sum(np.sum(X[i:i + _ROWS], axis=axis, dtype=np.float64) for i in range(0, len(X), _ROWS)) / n)


def center(X: np.ndarray, per_pixel: bool = True, *, mean: np.ndarray | float | None = None) -> np.ndarray:
    """Subtract the mean of each pixel over samples (``per_pixel``) or one global scalar mean.

    Args:
        X: float data (N, ...).
        per_pixel: per-feature means (axis 0) or the mean of all entries.
        mean: use this mean (e.g. the training split's) instead of computing it from ``X``.
    """
    X = _require_float(X, "center")
    m = _mean(X, per_pixel) if mean is None else np.asarray(mean, dtype=np.float64)
    return X - m.astype(X.dtype)


def standardize(X: np.ndarray, per_pixel: bool = True, *, mean: np.ndarray | float | None = None,
                std: np.ndarray | float | None = None, eps: float = 1e-8) -> np.ndarray:
    """Subtract the mean and divide by the standard deviation, per pixel or globally.

    Pixels whose standard deviation is below ``eps`` (e.g. MNIST's always-black border) are
    only centred, not divided.

    Args:
        X: float data (N, ...).
        per_pixel: per-feature statistics (axis 0) or global scalars.
        mean, std: use these statistics instead of computing them from ``X``.
        eps: threshold below which a standard deviation counts as zero.
    """
    X = _require_float(X, "standardize")
    m_x, s_x = _moments(X, per_pixel) if mean is None or std is None else (None, None)
    m = m_x if mean is None else np.asarray(mean, dtype=np.float64)
    s = s_x if std is None else np.asarray(std, dtype=np.float64)
    s = np.where(s < eps, 1.0, s)
    return (X - m.astype(X.dtype)) * (1.0 / s).astype(X.dtype)


def scale_global(X: np.ndarray, std: float = 0.5, *, stats: tuple[float, float] | None = None) -> np.ndarray:
    """Subtract the global scalar mean and rescale so that all entries together have std ``std``.

    Refinetti & Goldt (2022), code ``utils.preprocessData``: X -> (X - mean) / (2 std_X), so
    entries have mean 0 and standard deviation 0.5; no per-pixel centring.

    Args:
        X: float data.
        std: target standard deviation of all entries.
        stats: (mean, std) to use instead of those of ``X``.
    """
    X = _require_float(X, "scale_global")
    if not std > 0:
        raise ConfigError(f"scale_global: std must be > 0, got {std}")
    if stats is None:
        m, s = (float(v) for v in _moments(X, per_pixel=False))
    else:
        m, s = map(float, stats)
    if not s > 0:
        raise ConfigError("scale_global: the data are constant (standard deviation 0)")
    return (X - X.dtype.type(m)) * X.dtype.type(std / s)


def whitening_matrix(X: np.ndarray, eps: float = 1e-5, *, method: str = "zca") -> tuple[np.ndarray, np.ndarray]:
    """The per-pixel mean and whitening matrix W of data X (N, D): (X - mean) @ W is white.

    With the covariance C = U diag(lam) U^T: ``pca`` gives W = U diag(lam + eps)^(-1/2) (PCA
    coordinates, descending variance), ``zca`` gives W = U diag(lam + eps)^(-1/2) U^T (Bell &
    Sejnowski 1997), which stays closest to the original pixels. ``eps`` regularises
    directions of (near) zero variance.
    """
    from aelab.data.spectra import covariance_spectrum

    X = _require_float(X, "whiten")
    if X.ndim != 2:
        raise ConfigError(f"whiten: expects flattened data (N, D), got shape {X.shape}")
    if not eps >= 0:
        raise ConfigError(f"whiten: eps must be >= 0, got {eps}")
    if method not in ("zca", "pca"):
        raise ConfigError(f"whiten: method {method!r}, expected zca or pca")
    mean = X.mean(axis=0, dtype=np.float64)
    lam, U = covariance_spectrum(X, centered=True)
    scale = 1.0 / np.sqrt(np.clip(lam, 0.0, None) + eps)
    if not np.all(np.isfinite(scale)):
        raise ConfigError("whiten: zero-variance directions; use eps > 0")
    W = U * scale
    if method == "zca":
        W = W @ U.T
    return mean, W


def whiten(X: np.ndarray, eps: float = 1e-5, *, method: str = "zca",
           fit: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Whitened data (X - mean) @ W, see :func:`whitening_matrix`; ``fit`` = (mean, W) reuses statistics."""
    X = _require_float(X, "whiten")
    mean, W = whitening_matrix(X, eps, method=method) if fit is None else fit
    return ((X - mean) @ W).astype(X.dtype, copy=False)


def _check_labels(X: np.ndarray, y: np.ndarray | None, step: str) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y)
    if len(y) != len(X):
        raise ConfigError(f"{step}: {len(X)} samples but {len(y)} labels")
    return y


def _stratified_counts(y: np.ndarray, n: int, step: str) -> dict[int, int]:
    classes, counts = np.unique(y, return_counts=True)
    base, extra = divmod(n, len(classes))
    want = {int(c): base + (i < extra) for i, c in enumerate(classes)}
    short = [int(c) for c, k in zip(classes, counts) if want[int(c)] > k]
    if short:
        raise ConfigError(f"{step}: classes {short} have too few samples for {n} stratified samples")
    return want


def _choose(n_total: int, n: int, y: np.ndarray | None, rng: np.random.Generator, stratified: bool,
            step: str) -> np.ndarray:
    if stratified:
        if y is None:
            raise ConfigError(f"{step}: stratified sampling needs labels")
        want = _stratified_counts(y, n, step)
        picks = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c, k in want.items()]
        return np.sort(np.concatenate(picks))
    return np.sort(rng.choice(n_total, size=n, replace=False))


def subset(X: np.ndarray, y: np.ndarray | None, n: int, rng: np.random.Generator, *,
           stratified: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` samples drawn without replacement, in their original order; deterministic given ``rng``.

    Args:
        X, y: data (N, ...) and labels (N,) or None.
        n: number of samples, 1 <= n <= N.
        rng: the random generator.
        stratified: the same number of samples from each class (the remainder to the first classes).
    """
    y = _check_labels(X, y, "subset")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("subset: rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    if not 1 <= n <= len(X):
        raise ConfigError(f"subset: n = {n}, expected 1 <= n <= {len(X)}")
    idx = _choose(len(X), int(n), y, rng, stratified, "subset")
    return X[idx], None if y is None else y[idx]


def split(X: np.ndarray, y: np.ndarray | None, fraction: float, rng: np.random.Generator, *,
          stratified: bool = False) -> tuple[tuple[np.ndarray, np.ndarray | None],
                                             tuple[np.ndarray, np.ndarray | None]]:
    """Split into two disjoint parts, the second holding ``round(fraction N)`` samples.

    Deterministic given ``rng``; both parts keep the original order.

    Returns:
        ((X_rest, y_rest), (X_part, y_part)), e.g. (training, validation).
    """
    y = _check_labels(X, y, "split")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("split: rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split: fraction = {fraction}, expected 0 < fraction < 1")
    n = int(round(fraction * len(X)))
    if not 1 <= n < len(X):
        raise ConfigError(f"split: fraction {fraction} of {len(X)} samples leaves an empty part")
    part = _choose(len(X), n, y, rng, stratified, "split")
    rest = np.setdiff1d(np.arange(len(X)), part, assume_unique=True)
    pick = (lambda a, i: None if a is None else a[i])
    return (X[rest], pick(y, rest)), (X[part], pick(y, part))


# --------------------------------------------------------------------------------------------
# Pipelines of named steps

def _no_arg(func: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, str | None], np.ndarray]:
    def step(X: np.ndarray, arg: str | None) -> np.ndarray:
        return func(X)
    return step


def _mode(arg: str | None, name: str) -> bool:
    if arg in (None, "pixel"):
        return True
    if arg == "global":
        return False
    raise ConfigError(f"--steps {name}:{arg}: expected {name}:pixel or {name}:global")


def _number(arg: str | None, name: str, default: float) -> float:
    if arg is None:
        return default
    try:
        value = float(arg)
    except ValueError:
        raise ConfigError(f"--steps {name}:{arg}: expected a number after ':'") from None
    if not np.isfinite(value):
        raise ConfigError(f"--steps {name}:{arg}: expected a finite number")
    return value


_STEPS: dict[str, tuple[Callable[[np.ndarray, str | None], np.ndarray], str]] = {
    "grayscale": (_no_arg(grayscale), "RGB to BT.601 luma"),
    "to_float": (_no_arg(to_float), "uint8 to float32 in [0, 1]"),
    "flatten": (_no_arg(flatten), "(N, H, W[, C]) to (N, D)"),
    "center": (lambda X, a: center(X, _mode(a, "center")),
               "subtract the mean; center:pixel (default) or center:global"),
    "standardize": (lambda X, a: standardize(X, _mode(a, "standardize")),
                    "zero mean, unit std; standardize:pixel (default) or standardize:global"),
    "scale_global": (lambda X, a: scale_global(X, _number(a, "scale_global", 0.5)),
                     "global scalar mean 0, std 0.5 (scale_global:S for std S)"),
    "whiten": (lambda X, a: whiten(X, _number(a, "whiten", 1e-5)), "ZCA whitening (whiten:EPS, default 1e-5)"),
}


def parse_steps(steps: str | Sequence[str]) -> list[tuple[str, str | None]]:
    """``"grayscale,to_float,scale_global:0.5"`` or a list of such names -> [(name, arg or None)]."""
    if isinstance(steps, str):
        steps = [s for s in steps.split(",")]
    out = []
    for item in steps:
        item = item.strip()
        if not item:
            continue
        name, sep, arg = item.partition(":")
        if name not in _STEPS:
            known = ", ".join(_STEPS)
            raise ConfigError(f"--steps: unknown step {name!r} (known: {known})")
        out.append((name, arg if sep else None))
    return out


def steps_key(steps: str | Sequence[str]) -> str:
    """Canonical text of a pipeline (for cache keys and file metadata)."""
    return ",".join(name if arg is None else f"{name}:{arg}" for name, arg in parse_steps(steps))


def apply_steps(images: np.ndarray, steps: str | Sequence[str]) -> np.ndarray:
    """Apply a pipeline of named steps in order (see :data:`STEP_HELP`)."""
    parsed = parse_steps(steps)
    X = images
    for name, arg in parsed:
        X = _STEPS[name][0](X, arg)
    return np.asarray(X)


#: One line of help per pipeline step.
STEP_HELP = {name: text for name, (_f, text) in _STEPS.items()}
