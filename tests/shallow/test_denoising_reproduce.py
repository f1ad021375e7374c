"""`aelab reproduce denoising-*` in quick mode: each entry runs end to end and its headline numbers
hold (the linear denoiser on the Wiener filter, SGD on the theory, the gap shrinking with D)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from aelab.experiments import all_reproductions, run_reproduction


def _details(folder):
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "complete" and (folder / "figure.png").stat().st_size > 10_000
    return meta["details"]


def test_the_entries_are_listed():
    assert {"denoising-dynamics", "denoising-skip", "denoising-real-data"} <= {r.name for r in all_reproductions()}


def test_dynamics_quick(tmp_path):
    run_reproduction("denoising-dynamics", tmp_path, quick=True, quiet=True)
    _details(tmp_path)
    final = pd.read_csv(tmp_path / "final.csv")
    assert len(final) == 2 * 2 * 3
    assert np.all(np.abs(final["theory"] - final["simulation"]) < 5 * final["simulation_sem"] + 0.01)
    gaps = pd.read_csv(tmp_path / "gaps.csv").set_index("D")
    assert gaps.loc[1000, "rms_gap"] < gaps.loc[250, "rms_gap"]
    # noise costs error; the skip lowers it
    untied = final[~final.tied]
    assert untied[untied.skip].set_index("noise")["theory"].is_monotonic_increasing


def test_skip_quick(tmp_path):
    run_reproduction("denoising-skip", tmp_path, quick=True, quiet=True)
    details = _details(tmp_path)
    assert details["linear_max_relative_gap"] < 1e-3
    summary = pd.read_csv(tmp_path / "summary.csv")
    with_skip = summary[summary.skip]
    assert np.all(with_skip.s.to_numpy() == pytest.approx(with_skip.s_optimal.to_numpy(), rel=0.02))
    erf = summary[summary.activation == "erf"]
    assert np.all(erf.pmse >= erf.wiener - 1e-9)  # no denoiser of rank K beats the linear optimum here


@pytest.mark.data
def test_real_data_quick(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(shared_data))
    monkeypatch.setenv("AELAB_CACHE", str(tmp_path / "cache"))
    run_reproduction("denoising-real-data", tmp_path / "run", quick=True, quiet=True)
    _details(tmp_path / "run")
    gaps = pd.read_csv(tmp_path / "run" / "gaps.csv")
    assert gaps["theory_vs_gaussian_max_rel"].max() < 0.02
    assert gaps["theory_vs_images_max_rel"].max() < 0.05
