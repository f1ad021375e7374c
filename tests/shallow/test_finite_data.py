"""Finite training sets: SGD cycling over N samples against the online theory."""

import numpy as np
import pytest

from aelab.config import load_config
from aelab.data.synthetic import spiked_covariance
from aelab.errors import ConfigError
from aelab.shallow.config import ShallowConfig
from aelab.shallow.finite_data import finite_data_sgd, finite_sample_excess, parting_time, training_set
from aelab.shallow.theory import run_theory


def cfg(D, seeds=(0, 1, 2, 3), act="linear"):
    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": [1.0, 0.5], "bulk": 0.5},
        "model": {"K": 2, "activation": act, "init_std": 0.1},
        "train": {"lr": 1.0, "time": 30.0, "seeds": list(seeds)},
        "output": {"points": 7, "spacing": "linear"},
    })


def test_predicted_excess_is_k_bulk_over_n():
    for D in (200, 2000):
        cov = spiked_covariance(D, [1.0, 0.5], 0.5)
        assert finite_sample_excess(cov, 2, 100) == pytest.approx(2 * 0.5 / 100, rel=0.02)
    assert finite_sample_excess(cov, 2, 400) == pytest.approx(finite_sample_excess(cov, 2, 100) / 4)


def test_the_gap_to_the_online_theory_follows_k_bulk_over_n_at_any_d():
    """Population error above, training error below the online ODE by ~ K bulk / N, for two D."""
    for D in (100, 400):
        c = cfg(D)
        times = c.time_grid()
        online, _ = run_theory(c, times)
        frames = [finite_data_sgd(c, 64, s, times) for s in c.train.seeds]
        pop = np.mean([f["pmse"].iloc[-1] for f in frames])
        train = np.mean([f["train_pmse"].iloc[-1] for f in frames])
        delta = finite_sample_excess(c.data.covariance(), 2, 64)
        assert pop - online["pmse"].iloc[-1] == pytest.approx(delta, rel=0.3)
        assert online["pmse"].iloc[-1] - train == pytest.approx(delta, rel=0.4)
        assert frames[0]["passes"].iloc[-1] == pytest.approx(30.0 * D / 64)


def test_fixed_alpha_approaches_the_online_theory_as_d_grows():
    """alpha = N/D = 0.16: the relative gap shrinks roughly like 1/D (it is set by N)."""
    gaps = {}
    for D in (100, 400):
        c = cfg(D)
        times = c.time_grid()
        online, _ = run_theory(c, times)
        frames = [finite_data_sgd(c, int(0.16 * D), s, times) for s in c.train.seeds]
        pop = np.mean([f["pmse"] for f in frames], axis=0)
        gaps[D] = parting_time(times, pop, online["pmse"].to_numpy(), 0.16).final_gap
    assert gaps[400] < 0.5 * gaps[100]


def test_training_set_is_deterministic_and_checked():
    c = cfg(50)
    np.testing.assert_array_equal(training_set(c, 10, 3), training_set(c, 10, 3))
    assert not np.array_equal(training_set(c, 10, 3), training_set(c, 10, 4))
    with pytest.raises(ConfigError, match="N"):
        training_set(c, 0, 0)
