"""The torch bridge: batches equal the arrays, seeded shuffling is reproducible and covers every sample."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from aelab.data.torch_bridge import ArrayDataset, make_loader  # noqa: E402
from aelab.errors import ConfigError  # noqa: E402


def _arrays(n=23):
    X = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)
    return X, np.arange(n) * 10


def test_array_dataset_items_and_batches():
    X, y = _arrays()
    ds = ArrayDataset(X, y)
    assert len(ds) == 23
    x3, y3 = ds[3]
    assert torch.equal(x3, torch.from_numpy(X[3])) and int(y3) == 30
    xb, yb = ds[[5, 1, 7]]
    assert xb.shape == (3, 2, 3) and xb.dtype == torch.float32 and yb.tolist() == [50, 10, 70]
    assert torch.equal(ArrayDataset(X)[np.array([2])], torch.from_numpy(X[[2]]))
    with pytest.raises(ConfigError, match="y: 3 labels for 23 samples"):
        ArrayDataset(X, y[:3])


def _epoch(loader):
    return [(xb.numpy(), yb.numpy()) for xb, yb in loader]


def test_loader_seeded_reproducible_and_complete(tmp_path):
    X, y = _arrays()
    np.save(tmp_path / "x.npy", X)
    Xm = np.load(tmp_path / "x.npy", mmap_mode="r")  # a read-only memory map works too
    a = make_loader(Xm, y, 5, seed=3)
    b = make_loader(X, y, 5, seed=3)
    first_a, second_a = _epoch(a), _epoch(a)
    first_b = _epoch(b)
    for (xa, ya), (xb, yb) in zip(first_a, first_b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    order1 = np.concatenate([yb for _, yb in first_a]) // 10
    order2 = np.concatenate([yb for _, yb in second_a]) // 10
    assert sorted(order1.tolist()) == list(range(23))  # each sample exactly once per epoch
    assert not np.array_equal(order1, order2)  # a new permutation each epoch
    assert [len(yb) for _, yb in first_a] == [5, 5, 5, 5, 3]
    for xb, yb in first_a:
        np.testing.assert_array_equal(xb, X[yb // 10])  # inputs and labels stay paired
    other = np.concatenate([yb for _, yb in _epoch(make_loader(X, y, 5, seed=4))]) // 10
    assert not np.array_equal(order1, other)


def test_loader_options():
    X, y = _arrays()
    plain = make_loader(X, y, 5, seed=0, shuffle=False, drop_last=True)
    assert [yb.tolist() for _, yb in plain][0] == [0, 10, 20, 30, 40]
    assert len(list(plain)) == 4
    unlabeled = make_loader(X, None, 8, seed=0)
    assert [xb.shape[0] for xb in unlabeled] == [8, 8, 7]
    with pytest.raises(ConfigError, match="batch_size: 0"):
        make_loader(X, y, 0, seed=0)
