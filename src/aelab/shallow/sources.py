"""Where the SGD samples come from: fresh Gaussian inputs, a finite training set, rows of real images.

A sample source hands the simulator blocks of inputs as ``(Z, std)`` with x = std * Z, in the
basis its weights live in (:attr:`SampleSource.basis`: the eigenbasis of the covariance, or pixel
space for real images); :meth:`SampleSource.to_eigen` rotates weights into the eigenbasis, where
the order parameters and the theory live. Each source may add observables of its own (the error
on held-out images, on the training set).

Random streams (:func:`stream`) are named here, once: ``init`` (initial weights), ``samples``
(fresh inputs, or the order in which a finite set is visited), ``dataset`` (the draw of a
finite Gaussian training set), ``noise`` (the input noise of a denoising autoencoder) and
``held_out_noise`` (the one noise draw of the images or samples an error is measured on). Stream ``name`` of seed ``s`` is child :data:`STREAMS` [name] of
``numpy.random.SeedSequence(s)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from aelab.activations import Activation
from aelab.data.synthetic import Covariance
from aelab.errors import ConfigError

__all__ = ["STREAMS", "stream", "SAMPLE_DTYPE", "CHUNK", "SampleSource", "GaussianSource", "FiniteSource",
           "ImageSource", "image_error", "rotate"]

#: the random streams of one seed, by name (children of ``SeedSequence(seed)``)
STREAMS = {"init": 0, "samples": 1, "dataset": 2, "noise": 3, "held_out_noise": 4}
#: fresh samples are drawn as float32 and scaled in float64; weights and arithmetic are float64
SAMPLE_DTYPE = np.float32
#: SGD steps per block of samples (a block stays in cache)
CHUNK = 256


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` (see :data:`STREAMS`) of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS[name]])


def image_error(W: np.ndarray, V: np.ndarray, bias: np.ndarray, X: np.ndarray, act: Activation, *,
                tied: bool, sq_norms: np.ndarray | None = None, inputs: np.ndarray | None = None,
                skip: float = 0.0) -> float:
    """Mean of |x - x_hat|^2 / D over the rows of X (weights in the basis of X).

    Uses |y - g V|^2 = |y|^2 - 2 sum_k g_k (v_k . y) + g^T (V V^T) g with y = x - s x_tilde, so the
    cost is two (n, D) x (D, K) products in the precision of X (float32 images: sgemm) and, without a
    skip, nothing of size (n, D) is allocated. ``sq_norms`` are the |y|^2 of the rows (computed when
    not given). A denoising autoencoder sees ``inputs`` (the noisy rows x_tilde; default X) and has
    the skip ``skip``.
    """
    D = X.shape[1]
    K = V.shape[0]
    Xin = X if inputs is None else inputs
    Y = X if skip == 0.0 else X - X.dtype.type(skip) * Xin
    if sq_norms is None or skip != 0.0:
        sq_norms = np.einsum("ij,ij->i", Y, Y, dtype=np.float64)
    E = V if tied else W
    lam = (Xin @ E.T.astype(X.dtype)).astype(np.float64) * (1.0 / D if tied else 1.0 / np.sqrt(D)) + bias
    g = act.f(lam)
    proj = (Y @ V.T.astype(X.dtype)).astype(np.float64)
    err = sq_norms - 2.0 * np.einsum("nk,nk->n", g, proj) + np.einsum("nk,kl,nl->n", g, V @ V.T, g)
    return float(np.mean(err) / D)


def rotate(M: np.ndarray, E: np.ndarray) -> np.ndarray:
    """M @ E for a few rows M: a plain loop (einsum) costs a few ms for D = 1024 and, unlike a
    threaded BLAS call on a busy machine, never more."""
    return np.einsum("kd,dm->km", M, E)


class Batches(ABC):
    """The samples one seed sees, block after block, and the observables that depend on them."""

    @abstractmethod
    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` (at least one) next samples as ``(Z, std)``, x = std * Z, Z of shape (m, D)."""

    def observe(self, W: np.ndarray, V: np.ndarray, bias: np.ndarray, act: Activation, *, tied: bool,
                steps: int, skip: float = 0.0) -> dict[str, float]:
        """Observables beyond the population ones, of weights in the source's basis after ``steps`` steps."""
        return {}


def _noisy(X: np.ndarray, noise: float, seed: int) -> np.ndarray | None:
    """X plus one fixed draw of N(0, noise) per entry (stream ``held_out_noise``), or None without noise."""
    if noise <= 0.0:
        return None
    xi = stream(seed, "held_out_noise").standard_normal(X.shape, dtype=np.float32)
    return X + np.float32(np.sqrt(noise)) * xi


def _error_on(X: np.ndarray, noise: float, seed: int):
    """``(W, V, bias, act, tied, skip) -> error`` on the rows X (their noisy copies as inputs with noise)."""
    noisy = _noisy(X, noise, seed)
    sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)

    def error(W, V, bias, act, tied, skip):
        return image_error(W, V, bias, X, act, tied=tied, sq_norms=sq, inputs=noisy, skip=skip)

    return error


def _held_out(test: np.ndarray | None, to_pixels: np.ndarray | None, noise: float = 0.0, seed: int = 0):
    """``observe`` that records ``pmse_images`` on ``test`` (weights rotated by ``to_pixels``^T first)."""
    if test is None:
        return lambda W, V, bias, act, *, tied, steps, skip=0.0: {}
    error = _error_on(test, noise, seed)

    def observe(W, V, bias, act, *, tied, steps, skip=0.0):
        if to_pixels is not None:
            W, V = rotate(W, to_pixels.T), rotate(V, to_pixels.T)
        return {"pmse_images": error(W, V, bias, act, tied, skip)}

    return observe


class _Fresh(Batches):
    """Fresh standard normals from the compiled sampler, scaled by ``std``."""

    def __init__(self, rng: np.random.Generator, std: np.ndarray, D: int, observe=None):
        from aelab.normal_draws import NormalStream

        self._normals = NormalStream(rng)
        self._std = std
        self._buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
        if observe is not None:
            self.observe = observe

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self._normals.fill(self._buf[:min(n, CHUNK)]), self._std


class _Cycled(Batches):
    """The rows of X visited in a fresh random order each pass."""

    def __init__(self, X: np.ndarray, rng: np.random.Generator, observe=None):
        self._X, self._rng = X, rng
        self._ones = np.ones(X.shape[1])
        self._order, self._pos = rng.permutation(len(X)), 0
        if observe is not None:
            self.observe = observe

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._pos == len(self._order):
            self._order, self._pos = self._rng.permutation(len(self._X)), 0
        m = int(min(n, CHUNK, len(self._order) - self._pos))
        rows = self._order[self._pos:self._pos + m]
        self._pos += m
        return self._X[rows], self._ones


@dataclass(frozen=True, eq=False)
class SampleSource(ABC):
    """Inputs for online SGD, and the covariance the theory of those inputs uses.

    Attributes:
        cov: the population covariance (its eigenbasis is the theory's).
    """

    cov: Covariance

    @property
    def D(self) -> int:
        return self.cov.D

    @property
    def rotation(self) -> np.ndarray | None:
        """(D, D) eigenvectors E when the samples come in another basis (real images in pixel space:
        eigenbasis coordinates are x @ E), else None."""
        return None

    @abstractmethod
    def batches(self, seed: int, noise: float = 0.0) -> Batches:
        """The samples that ``seed`` sees (``noise``: the input noise whose errors the observables measure)."""

    def to_eigen(self, M: np.ndarray) -> np.ndarray:
        """Weights (rows) of the source's basis in the eigenbasis."""
        E = self.rotation
        return M if E is None else rotate(M, E)

    def from_eigen(self, M: np.ndarray) -> np.ndarray:
        """Weights (rows) of the eigenbasis in the source's basis."""
        E = self.rotation
        return M if E is None else rotate(M, E.T)


@dataclass(frozen=True, eq=False)
class GaussianSource(SampleSource):
    """Fresh samples x ~ N(0, Omega) every step, drawn in the eigenbasis (exact in distribution:
    SGD is equivariant under rotations of the input space). Stream ``samples``.

    Attributes:
        test: optional held-out images (pixel space, rows) on which ``pmse_images`` is recorded,
            with ``pixel_basis`` the eigenvectors E (pixel-space weights are W @ E^T).
    """

    test: np.ndarray | None = None
    pixel_basis: np.ndarray | None = None

    def batches(self, seed: int, noise: float = 0.0) -> Batches:
        return _Fresh(stream(seed, "samples"), self.cov.eigenbasis_std(), self.D,
                      None if self.test is None else _held_out(self.test, self.pixel_basis, noise, seed))


@dataclass(frozen=True, eq=False)
class FiniteSource(SampleSource):
    """A training set of N samples of N(0, Omega), drawn once per seed (stream ``dataset``, in the
    eigenbasis) and visited in a fresh random order each pass (stream ``samples``).

    Records ``train_pmse`` (the error on the training set) and ``passes`` (samples seen / N).
    """

    N: int = 1

    def __post_init__(self):
        if self.N < 1:
            raise ConfigError(f"data.samples: the training set needs at least one sample, got {self.N}")

    def training_set(self, seed: int) -> np.ndarray:
        """The N inputs of ``seed`` in the eigenbasis, (N, D) float32."""
        Z = stream(seed, "dataset").standard_normal((self.N, self.D), dtype=SAMPLE_DTYPE)
        Z *= self.cov.eigenbasis_std().astype(SAMPLE_DTYPE)
        return Z

    def batches(self, seed: int, noise: float = 0.0) -> Batches:
        X = self.training_set(seed)
        error = _error_on(X, noise, seed)

        def observe(W, V, bias, act, *, tied, steps, skip=0.0):
            return {"train_pmse": error(W, V, bias, act, tied, skip), "passes": steps / self.N}

        return _Cycled(X, stream(seed, "samples"), observe)


@dataclass(frozen=True, eq=False)
class ImageSource(SampleSource):
    """Rows of real images (pixel space), visited in a fresh random order each epoch (stream
    ``samples``); records ``pmse_images``, the error on held-out ``test`` images.

    Attributes:
        train: (N, D) float32 training images.
        test: (n, D) float32 evaluation images.
        eigenvectors: (D, D) eigenvectors of the training second moment (the theory's basis).
    """

    train: np.ndarray | None = None
    test: np.ndarray | None = None
    eigenvectors: np.ndarray | None = None

    @property
    def rotation(self) -> np.ndarray | None:
        return self.eigenvectors

    def batches(self, seed: int, noise: float = 0.0) -> Batches:
        return _Cycled(self.train, stream(seed, "samples"), _held_out(self.test, None, noise, seed))
