"""Fixtures of the training tests: one torch thread (the CI machines are small), small data."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def low_rank_arrays():
    """Synthetic 'images': 600 + 200 rows of 24 entries on a 4-dimensional subspace plus noise, in [0, 1]."""
    from aelab.train.data import arrays_from

    rng = np.random.default_rng(7)
    basis = rng.standard_normal((4, 24)) / 2.0
    codes = rng.standard_normal((800, 4))
    x = 1.0 / (1.0 + np.exp(-(codes @ basis + 0.05 * rng.standard_normal((800, 24)))))
    return arrays_from(x[:600], x[600:], image_shape=(4, 6), name="lowrank")


@pytest.fixture(scope="session")
def mnist_env(shared_data, tmp_path_factory):
    """AELAB_DATA at the real data sets, decoded-array cache in a temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AELAB_DATA", str(shared_data))
    mp.setenv("AELAB_CACHE", str(tmp_path_factory.mktemp("aelab-cache")))
    yield shared_data
    mp.undo()
