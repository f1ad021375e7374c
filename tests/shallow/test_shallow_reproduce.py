"""`aelab reproduce` entries of the shallow results: listed, and each one runs in quick mode end to end
(about 10-25 s each on two cores; they are part of the default suite, so CI runs every entry)."""

import json

import pandas as pd
import pytest

from aelab.cli import main
from aelab.experiments import all_reproductions, run_reproduction

ENTRIES = ["shallow-sequential-pcs", "shallow-long-time", "shallow-relu-bias", "shallow-exact-pcs",
           "shallow-real-data", "shallow-finite-data"]


def test_entries_are_listed(capsys):
    names = {r.name for r in all_reproductions()}
    assert set(ENTRIES) <= names
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ENTRIES)


def _meta(folder):
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "complete"
    assert (folder / "config.json").is_file() and (folder / "figure.png").stat().st_size > 10_000
    return meta["details"]


def test_sequential_pcs_quick(tmp_path):
    run_reproduction("shallow-sequential-pcs", tmp_path, quick=True, quiet=True)
    meta = _meta(tmp_path)
    plateaus = pd.read_csv(tmp_path / "plateaus.csv")
    linear = plateaus[plateaus.activation == "linear"]
    assert set(linear["rank"]) >= {1, 2, 3}
    assert linear["relative_gap"].abs().max() < 0.01
    for key, slope in meta["escape_slopes"].items():
        assert slope["fitted"] == pytest.approx(slope["predicted"], rel=0.02 if key.startswith("linear") else 0.2)


def test_long_time_quick(tmp_path):
    run_reproduction("shallow-long-time", tmp_path, quick=True, quiet=True)
    meta = _meta(tmp_path)
    fps = pd.read_csv(tmp_path / "fixed_points.csv").set_index("network")
    assert fps.loc["tied erf", "converged"] and fps.loc["tied erf", "excess"] > 0.05
    assert not fps.loc["untied erf", "converged"]
    assert meta["untied_erf_exponents"]["excess"] == pytest.approx(-2 / 3, abs=0.06)


def test_relu_bias_quick(tmp_path):
    run_reproduction("shallow-relu-bias", tmp_path, quick=True, quiet=True)
    _meta(tmp_path)
    s = pd.read_csv(tmp_path / "summary.csv").set_index("network")
    lone = s.loc["1 unit, 1 spike, no bias"]
    assert lone["ode_final"] == pytest.approx(lone["floor"], rel=1e-3)
    assert s.loc["3 units, 2 spikes, no bias", "escape_directions_with_bias"] >= 1
    assert s.loc["3 units, 2 spikes, bias", "ode_final"] < 1.1 * s.loc["3 units, 2 spikes, bias", "pca_error"]


def test_exact_pcs_quick(tmp_path):
    run_reproduction("shallow-exact-pcs", tmp_path, quick=True, quiet=True)
    _meta(tmp_path)
    s = pd.read_csv(tmp_path / "summary.csv").set_index("rule")
    for rule in ("linear truncated", "linear tied, Sanger", "erf truncated"):
        assert s.loc[rule, "identity_distance_sgd"] < 0.1
    for rule in ("linear vanilla", "erf vanilla"):
        assert s.loc[rule, "identity_distance_sgd"] > 0.3


@pytest.mark.data
def test_real_data_quick(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(shared_data))
    monkeypatch.setenv("AELAB_CACHE", str(tmp_path / "cache"))
    run_reproduction("shallow-real-data", tmp_path / "run", quick=True, quiet=True)
    _meta(tmp_path / "run")
    gaps = pd.read_csv(tmp_path / "run" / "gaps.csv")
    assert gaps["theory_vs_gaussian_max_rel"].max() < 0.02
    assert gaps["theory_vs_images_max_rel"].max() < 0.05


def test_finite_data_quick(tmp_path):
    run_reproduction("shallow-finite-data", tmp_path, quick=True, quiet=True)
    _meta(tmp_path)
    final = pd.read_csv(tmp_path / "final.csv")
    big = final[final.N >= 16]
    assert ((big["population_gap"] / big["predicted"]).between(0.6, 1.6)).all()
