"""Sequential learning of principal components: plateau levels are the PCA errors, in theory and SGD,
and escape times follow the linear-regime law."""

import numpy as np
import pytest

from aelab.config import load_config
from aelab.errors import ConfigError
from aelab.shallow.config import ShallowConfig
from aelab.shallow.plateaus import crossing_times, detect_plateaus, escape_times, fit_log_slope, match_ranks
from aelab.shallow.simulation import simulate
from aelab.shallow.theory import run_theory

SPIKES = [2.0, 0.6, 0.18]


def cfg(act="linear", init=1e-3, D=500, time=60.0, points=121, seeds=(0,), lr=1.0, spikes=SPIKES):
    return load_config(ShallowConfig, {
        "data": {"D": D, "spikes": list(spikes), "bulk": 0.05},
        "model": {"K": len(spikes), "activation": act, "init_std": init},
        "train": {"lr": lr, "time": time, "seeds": list(seeds)},
        "output": {"points": points, "spacing": "linear"},
    })


def pca_levels(c):
    cov = c.data.covariance()
    return [cov.pca_error(r) for r in range(c.model.K + 1)]


def test_detection_on_a_staircase():
    """Known levels and switch times of a smooth staircase are recovered without the reference levels."""
    t = np.linspace(0, 100, 2001)
    levels = np.array([1.0, 0.3, 0.05])
    switch = np.array([20.0, 60.0])
    y = levels[0] * np.ones_like(t)
    for lv_hi, lv_lo, ts in zip(levels, levels[1:], switch):
        y *= np.exp(np.log(lv_lo / lv_hi) / (1 + np.exp(-(t - ts) / 0.8)))
    found = detect_plateaus(t, y)
    assert [round(p.level, 4) for p in found] == [1.0, 0.3, 0.05]
    esc = escape_times(t, y, found)
    np.testing.assert_allclose([e.time for e in esc], switch, atol=0.05)
    np.testing.assert_allclose(crossing_times(t, y, levels), switch, atol=0.05)
    ranked = match_ranks(found, [1.0, 0.3, 0.05])
    assert [p.rank for p in ranked] == [0, 1, 2]


def test_linear_theory_plateaus_are_the_pca_errors():
    c = cfg()
    times = c.time_grid()
    th, _ = run_theory(c, times)
    found = match_ranks(detect_plateaus(times, th["pmse"].to_numpy(), min_duration=0.02), pca_levels(c))
    assert [p.rank for p in found] == [0, 1, 2, 3]
    for p in found:
        assert abs(p.relative_gap) < 1e-3, p
    # a larger initial weight scale shortens the plateaus and moves their levels off the saddles
    c2 = cfg(init=3e-2)
    th2, _ = run_theory(c2, times)
    found2 = match_ranks(detect_plateaus(times, th2["pmse"].to_numpy(), min_duration=0.02), pca_levels(c2))
    gap = {p.rank: abs(p.relative_gap) for p in found2}
    assert gap.get(1, 1.0) > 10 * abs(found[1].relative_gap)


def test_erf_plateaus_follow_the_ranks_above_the_pca_errors():
    """erf: the same sequence of ranks; each plateau sits above its PCA error (finite encoder norm)."""
    c = cfg(act="erf", time=100.0, points=201)
    times = c.time_grid()
    th, _ = run_theory(c, times)
    found = match_ranks(detect_plateaus(times, th["pmse"].to_numpy(), min_duration=0.02), pca_levels(c))
    assert [p.rank for p in found][-3:] == [1, 2, 3]
    assert all(0 < p.relative_gap < 0.5 for p in found if p.rank > 0)


def test_sgd_plateaus_and_escapes_match_the_theory():
    c = cfg(seeds=(0, 1))
    times = c.time_grid()
    th, _ = run_theory(c, times)
    sim, _, _ = simulate(c, times)
    levels = pca_levels(c)
    found_th = match_ranks(detect_plateaus(times, th["pmse"].to_numpy(), min_duration=0.02), levels)
    found_sgd = match_ranks(detect_plateaus(times, sim["pmse"].to_numpy(), min_duration=0.02, smooth=3), levels)
    assert [p.rank for p in found_sgd][-3:] == [1, 2, 3]
    for p in found_sgd[-3:]:
        assert abs(p.relative_gap) < 0.01, p
    esc_th = escape_times(times, th["pmse"].to_numpy(), found_th)
    esc_sgd = escape_times(times, sim["pmse"].to_numpy(), found_sgd, smooth=3)
    np.testing.assert_allclose([e.time for e in esc_sgd][-2:], [e.time for e in esc_th][-2:], rtol=0.1)


def test_escape_times_follow_the_linear_regime_law():
    """t_m = C_m + ln(1/init) / (eta g'(0) rho_m / D): slope in ln(1/init) exact for linear networks,
    1/eta scaling exact for every activation (eta only rescales time)."""
    inits = np.geomspace(1e-4, 1e-2, 3)
    esc = []
    for i0 in inits:
        c = cfg(init=float(i0), time=70.0, points=1401)
        th, _ = run_theory(c, c.time_grid())
        esc.append(crossing_times(c.time_grid(), th["pmse"].to_numpy(), pca_levels(c)))
    esc = np.array(esc)
    rho = np.array(SPIKES) + 0.05 / 500
    for m in range(3):
        slope, _ = fit_log_slope(1 / inits, esc[:, m])
        assert slope == pytest.approx(1 / rho[m], rel=0.02)
    for act in ("linear", "erf"):
        times_at = {}
        for lr in (0.5, 2.0):
            c = cfg(act=act, lr=lr, init=1e-3, time=150.0 / lr, points=1501)
            th, _ = run_theory(c, c.time_grid())
            times_at[lr] = crossing_times(c.time_grid(), th["pmse"].to_numpy(), pca_levels(c))
        np.testing.assert_allclose(times_at[0.5] * 0.5, times_at[2.0] * 2.0, rtol=0.01)


def test_bad_curves_and_time_grids_are_config_errors():
    with pytest.raises(ConfigError, match="strictly increasing"):
        detect_plateaus(np.array([0, 1, 1, 2, 3.0]), np.ones(5))
    with pytest.raises(ConfigError, match="positive"):
        detect_plateaus(np.arange(6.0), np.array([1, 1, 0, 1, 1, 1.0]))
    with pytest.raises(ConfigError, match="output.times"):
        load_config(ShallowConfig, {"output": {"times": [0.0, 2.0, 1.0]}})
