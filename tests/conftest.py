"""Shared test fixtures: strict numerics, the real data folder, seeded generators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _strict_numerics():
    """Overflow and invalid operations raise inside tests (equinox-style strictness)."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets beside the checkout (../shared/data); skip where absent outside CI."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing in CI")
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
