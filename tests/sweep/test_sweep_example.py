"""The documented example grid: it validates against the shallow config, and (slow) it runs and
respects the PCA bound: K hidden units reconstruct inside a K-dimensional subspace, so the
final pmse is never below the rank-K PCA error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aelab.errors import ConfigError
from aelab.kinds import get_kind

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep_shallow_lr_K.toml"


def shallow_available() -> bool:
    try:
        get_kind("shallow")
    except ConfigError:
        return False
    return True


pytestmark = pytest.mark.skipif(not shallow_available(), reason="the shallow kind is not part of this build")


def test_example_grid_validates():
    from aelab.sweep import load_grid

    grid = load_grid(EXAMPLE)
    assert grid.kind.name == "shallow" and grid.shape == (3, 7)
    assert [g.dim for g in grid.groups] == ["model.K", "train.lr"]


@pytest.mark.slow
def test_example_sweep_runs_and_respects_the_pca_bound(tmp_path):
    from aelab.cli import main
    from aelab.sweep import load_grid

    out = tmp_path / "lr_K"
    assert main(["sweep", "run", str(EXAMPLE), "--out", str(out), "-q"]) == 0
    assert main(["sweep", "plot", str(out), "--x", "train.lr", "--y", "pmse", "-q"]) == 0
    assert (out / "pmse_vs_train.lr.png").stat().st_size > 10_000
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 21 and set(table["status"]) == {"complete"}
    covariance = load_grid(EXAMPLE).points[0].config.data.covariance()
    for _, row in table.iterrows():
        bound = covariance.pca_error(int(row["model.K"]))
        assert row["pmse"] >= bound * (1 - 1e-6)
        assert row["simulation_pmse"] >= bound * (1 - 1e-6)
    best = table[table["train.lr"] == table["train.lr"].max()].sort_values("model.K")
    assert best["pmse"].is_monotonic_decreasing  # more units, lower error
