"""The two studies in quick mode (as CI runs them): tables, figures, and the theory's ordering."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from aelab.experiments import run_reproduction

pytestmark = pytest.mark.data


def test_li_nguyen_quick(mnist_env, tmp_path):
    out = run_reproduction("li-nguyen-training", tmp_path / "ln", quick=True, quiet=True)
    table = pd.read_csv(out / "schemes.csv")
    assert len(table) == 28 and sorted(table["scheme"].unique()) == list(range(1, 15))
    assert {"paper_class", "theory", "final_test_loss", "steps_to_threshold", "diverged_at"} <= set(table.columns)
    assert (out / "loss_curves.png").stat().st_size > 10_000
    agreement = json.loads((out / "agreement.json").read_text())
    assert set(agreement) == {"1", "2"}
    # Li & Nguyen's classes: every trainable scheme ends below every slowed one (gamma = rho = 0 at
    # initialisation: the decoder forgets its input), in both settings, already at depth 10
    for setting, rows in table.groupby("setting"):
        trainable = rows.loc[rows["theory"] == "trainable", "final_test_loss"]
        slowed = rows.loc[rows["theory"] == "slowed", "final_test_loss"]
        assert trainable.max() < slowed.min(), (setting, trainable.tolist(), slowed.tolist())
    # rerunning (--resume) reuses the finished runs
    again = run_reproduction("li-nguyen-training", tmp_path / "ln", quick=True, quiet=True, resume=True)
    pd.testing.assert_frame_equal(pd.read_csv(again / "schemes.csv").drop(columns="seconds"),
                                  table.drop(columns="seconds"))


def test_pretraining_question_quick(mnist_env, tmp_path):
    out = run_reproduction("pretraining-question", tmp_path / "pq", quick=True, quiet=True)
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 1 * 4 * 7 * 2 * 1
    assert set(results["method"]) == {"xavier", "he", "orthogonal", "advisor", "pretrain", "batchnorm", "residual"}
    assert set(results["status"]) <= {"complete", "diverged", "not applicable"}
    assert (results.loc[results["method"] != "advisor", "status"] != "not applicable").all()
    finished = results[results["status"] == "complete"]
    assert np.isfinite(finished["final_test_loss"]).all() and (finished["seconds"] > 0).all()
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == len(results)  # one seed in quick mode
    answer = json.loads((out / "answer.json").read_text())
    assert answer["cells"] and " of " in answer["pretrain_wins"]
    for name in ("final_loss.png", "loss_vs_time.png", "config.json", "meta.json"):
        assert (out / name).is_file()
    tables = (out / "tables.md").read_text()
    assert tables.count("| optimiser | activation |") == 2  # one table per data set at the one depth
    best = summary.loc[(summary["dataset"] == "mnist") & (summary["optimizer"] == "adam")
                       & (summary["activation"] == "tanh"), "final_test_loss"].min()
    assert f"**{best:.3f}**" in tables


@pytest.mark.slow
def test_li_nguyen_cpu_preset_orders_trainable_slowed_infinities(mnist_env, tmp_path):
    """At the CPU preset (L = 20): ReLU/ReLU with sigma_w_sq = 2 (trainable) beats 1 (slowed); 2.5 diverges."""
    from dataclasses import replace

    from aelab.train.li_nguyen import PRESETS, ordering_agreement, run_study

    preset = replace(PRESETS["cpu"], settings=(2,), schemes=(1, 2, 3))
    table = run_study(preset, tmp_path / "ln", quiet=True).set_index("scheme")
    assert np.isnan(table.loc[1, "diverged_at"]) and np.isnan(table.loc[2, "diverged_at"])
    assert table.loc[3, "diverged_at"] <= 10
    assert table.loc[1, "final_test_loss"] < 0.8 * table.loc[2, "final_test_loss"]
    assert ordering_agreement(table.reset_index())[2]["agreement"] == 1.0
