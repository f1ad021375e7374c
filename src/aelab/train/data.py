"""Images for training: a named data set, flattened to float32 vectors in [0, 1] or [-1, 1]."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from aelab.errors import ConfigError

__all__ = ["ImageArrays", "load_arrays", "arrays_from"]


@dataclass(frozen=True, eq=False)
class ImageArrays:
    """Training and test images as rows of float32 matrices.

    Attributes:
        name: the data set's name.
        train, test: (N, D) float32 arrays, read-only.
        image_shape: shape of one image (for reconstruction grids), prod = D.
        scale: ``unit`` ([0, 1]) or ``symmetric`` ([-1, 1]).
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    image_shape: tuple[int, ...]
    scale: str = "unit"

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])


def _scaled(images: np.ndarray, scale: str) -> np.ndarray:
    from aelab.data.preprocess import flatten, to_float

    x = np.ascontiguousarray(flatten(to_float(images)), dtype=np.float32)
    if scale == "symmetric":
        x = 2.0 * x - 1.0
    x.flags.writeable = False
    return x


@functools.lru_cache(maxsize=4)
def _load(name: str, data_dir: str | None, n_train: int | None, n_test: int | None, scale: str) -> ImageArrays:
    from aelab.data import load_dataset

    train = load_dataset(name, "train", data_dir=data_dir)
    test = load_dataset(name, "test", data_dir=data_dir)
    for n, split, key in ((n_train, train, "data.n_train"), (n_test, test, "data.n_test")):
        if n is not None and n > len(split):
            raise ConfigError(f"{key}: {n} is more than the {len(split)} {split.split} images of {name}")
    return ImageArrays(
        name=name,
        train=_scaled(train.images[:n_train], scale),
        test=_scaled(test.images[:n_test], scale),
        image_shape=tuple(int(s) for s in train.images.shape[1:]),
        scale=scale,
    )


def load_arrays(section) -> ImageArrays:
    """The images a :class:`~aelab.train.config.DataSection` describes (cached in the process).

    The first ``n_train`` training and ``n_test`` test images of the data set, scaled to the
    configured range.
    """
    return _load(section.name, section.data_dir, section.n_train, section.n_test, section.scale)


def arrays_from(train: np.ndarray, test: np.ndarray, *, image_shape: tuple[int, ...] | None = None,
                name: str = "arrays", scale: str = "unit") -> ImageArrays:
    """Wrap in-memory data (rows are samples) as :class:`ImageArrays`."""
    train = np.ascontiguousarray(train, dtype=np.float32).reshape(len(train), -1)
    test = np.ascontiguousarray(test, dtype=np.float32).reshape(len(test), -1)
    if train.shape[1] != test.shape[1]:
        raise ConfigError(f"data: training rows have {train.shape[1]} entries, test rows {test.shape[1]}")
    return ImageArrays(name, train, test, image_shape or (train.shape[1],), scale)
