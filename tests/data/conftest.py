"""Fixtures of the data tests: isolated data/cache folders, the toy data set, a loopback HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import LoopbackServer, Toy

from aelab.data import registry


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One array cache for the whole session: real data sets are decoded at most once."""
    return tmp_path_factory.mktemp("aelab-cache")


@pytest.fixture(scope="session")
def cifar(shared_data, session_cache) -> dict:
    """CIFAR-10 from the shared JPEG zip, decoded once for the whole session: {split: Dataset}."""
    from aelab.data import load_dataset

    return {s: load_dataset("cifar10", s, data_dir=shared_data, cache_dir=session_cache) for s in ("train", "test")}


@pytest.fixture(autouse=True)
def _isolated_dirs(monkeypatch, tmp_path, session_cache):
    """Never touch the user's folders: an empty data directory, the session's cache."""
    empty = tmp_path / "empty-data-dir"
    monkeypatch.setenv("AELAB_DATA", str(empty))
    monkeypatch.setenv("AELAB_CACHE", str(session_cache))
    yield


@pytest.fixture
def toy(monkeypatch) -> Toy:
    """The ``toy`` data set in the registry (no addresses); its files are in ``toy.files``."""
    t = Toy()
    monkeypatch.setitem(registry.REGISTRY, "toy", t.spec())
    return t


@pytest.fixture
def server():
    s = LoopbackServer()
    try:
        yield s
    finally:
        s.close()
