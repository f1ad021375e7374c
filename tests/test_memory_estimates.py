"""The memory estimates of the deep and reversible commands: small for the defaults (a default
run is never refused), and growing as the arrays they count."""

from __future__ import annotations

import pytest

from aelab.config import validate_config
from aelab.deep.cli import evolve_bytes, phase_diagram_bytes, simulate_bytes
from aelab.deep.config import DeepConfig
from aelab.reversible.cli import error_bytes
from aelab.reversible.config import ErrorConfig

GiB = 2**30


def test_defaults_need_little():
    assert evolve_bytes(DeepConfig().depth) < 2**20
    assert simulate_bytes(DeepConfig(), 1000, 20, "float64") < 3 * GiB  # the simulation's own 2 GiB budget
    assert phase_diagram_bytes(100, 100) < GiB
    assert error_bytes(ErrorConfig()) < 2 * GiB


def test_simulate_grows_as_width_squared_times_depth():
    small = simulate_bytes(DeepConfig(depth=10), 100_000, 1, "float64")
    assert small == pytest.approx(100_000**2 * 8, rel=0.01)  # weights not stored: one layer at a time
    stored = simulate_bytes(DeepConfig(depth=10), 1000, 1, "float64")
    assert stored == pytest.approx(10 * 1000**2 * 8, rel=0.05)  # every layer's weights of one draw
    assert simulate_bytes(DeepConfig(depth=10), 1000, 1, "float32") == pytest.approx(stored / 2, rel=0.05)
    narrowing = simulate_bytes(DeepConfig(depth=3, alpha=[0.5, 0.5, 0.5]), 1000, 1, "float64")
    assert narrowing == pytest.approx((1000 * 500 + 500 * 250 + 250 * 125) * 8, rel=0.05)


def test_phase_diagram_grows_as_points_squared():
    assert phase_diagram_bytes(2000, 100) == pytest.approx(400 * phase_diagram_bytes(100, 100))


def test_reversible_error_counts_the_weights():
    config = validate_config(ErrorConfig, {"hidden": 100_000, "visible": 200_000, "sparsity": 10, "trials": 10})
    assert error_bytes(config) >= 100_000 * 200_000 * 4
    double = validate_config(ErrorConfig, {**config.model_dump(), "precision": "double"})
    assert error_bytes(double) == pytest.approx(2 * error_bytes(config), rel=0.01)
