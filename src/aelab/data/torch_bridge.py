"""Torch access to NumPy data: a map-style ``Dataset`` and a seeded ``DataLoader``.

Batches are gathered with one fancy-indexing operation per batch (not one call per sample),
so loading from a memory-mapped array costs little next to training. Shuffling draws from a
``torch.Generator`` seeded by the caller: the sequence of epochs is the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from aelab.errors import ConfigError

__all__ = ["ArrayDataset", "make_loader"]


class ArrayDataset(torch.utils.data.Dataset):
    """A torch Dataset over arrays X (N, ...) and optional labels y (N,).

    ``dataset[i]`` gives ``(x, y)`` (or ``x`` without labels) as tensors; ``dataset[indices]``
    with a list or array of indices gives a whole batch at once. Tensors own their memory
    (copied from the arrays, which may be read-only memory maps) and keep the arrays' dtypes:
    preprocess to float32 first for training.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray | None = None):
        if np.ndim(X) < 1:
            raise ConfigError(f"X: expected an array of samples (N, ...), got shape {np.shape(X)}")
        if y is not None and len(y) != len(X):
            raise ConfigError(f"y: {len(y)} labels for {len(X)} samples")
        self.X = X
        self.y = None if y is None else np.asarray(y)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int | Sequence[int] | np.ndarray | slice):
        if isinstance(index, (list, tuple)):
            index = np.asarray(index, dtype=np.int64)
        x = torch.from_numpy(np.array(self.X[index]))
        if self.y is None:
            return x
        return x, torch.from_numpy(np.array(self.y[index]))


def make_loader(
    X: np.ndarray,
    y: np.ndarray | None,
    batch_size: int,
    *,
    seed: int,
    shuffle: bool = True,
    drop_last: bool = False,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader of (x, y) batches (x alone when ``y`` is None) with seeded shuffling.

    Each pass over the loader (an epoch) draws a new permutation from one generator seeded
    with ``seed``, so epochs differ from each other and the whole sequence is reproducible.

    Args:
        X, y: samples (N, ...) and labels (N,) or None.
        batch_size: samples per batch (>= 1).
        seed: seed of the shuffling generator (required, even without shuffling, for clarity).
        shuffle: permute the samples each epoch; otherwise batches follow the array order.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        num_workers: DataLoader worker processes (0: load in the training process).
    """
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size: {batch_size}, expected >= 1")
    if num_workers < 0:
        raise ConfigError(f"num_workers: {num_workers}, expected >= 0")
    dataset = ArrayDataset(X, y)
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    sampler = BatchSampler(order, batch_size=int(batch_size), drop_last=drop_last)
    return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=num_workers)
