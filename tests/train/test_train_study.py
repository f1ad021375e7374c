"""Studies on aelab.sweep: a labelled product of training configurations, divergence as a result,
partial runs resumed from their checkpoints, failures reported."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from aelab.errors import AelabError, ConfigError
from aelab.sweep import run_sweep, sweep_status
from aelab.train.config import TrainConfig
from aelab.train.study import KIND, StudyRun, run_study_grid, study_grid


def _config(lr=0.01, depth=2, steps=30, activation="tanh", name="mnist"):
    return TrainConfig.model_validate({
        "data": {"name": name, "n_train": 200, "n_test": 50},
        "model": {"depth": depth, "width": 16, "encoder": activation, "decoder": activation, "tied": False},
        "init": {"scheme": "xavier"},
        "train": {"optimizer": "sgd", "lr": lr, "batch_size": 20, "steps": steps, "log_every": 5,
                  "checkpoint_every": 10},
    })


def test_a_study_grid_is_the_product_of_its_labelled_dimensions():
    study = study_grid("t", [[{"lr": 0.01}, {"lr": 0.1}], [{"depth": d} for d in (1, 2, 3)]],
                       lambda lr, depth: _config(lr=lr, depth=depth))
    grid = study.grid
    assert grid.kind.name == KIND and grid.shape == (2, 3)
    assert [g.fields for g in grid.groups] == [("train.lr",), ("model.depth",)]
    cells = [study.labels[p.id] for p in grid.points]
    assert cells == [{"lr": lr, "depth": d} for lr in (0.01, 0.1) for d in (1, 2, 3)]  # first dimension slowest
    for point, cell in zip(grid.points, cells):
        assert isinstance(point.config, StudyRun)
        assert point.config.model_dump(exclude={"device"}) == _config(**cell).model_dump()
    # labels that vary together share a dimension; a single position adds none
    joint = study_grid("t", [[{"lr": 0.01, "depth": 1}, {"lr": 0.1, "depth": 3}], [{"activation": "relu"}]],
                       lambda lr, depth, activation: _config(lr=lr, depth=depth, activation=activation))
    assert joint.grid.shape == (2,) and joint.grid.groups[0].fields == ("model.depth", "train.lr")


def test_a_study_that_is_not_a_product_is_refused():
    def make(lr, depth):  # the depth changes with the learning rate
        return _config(lr=lr, depth=depth + (lr > 0.05))

    with pytest.raises(ConfigError, match="not the product"):
        study_grid("t", [[{"lr": 0.01}, {"lr": 0.1}], [{"depth": 1}, {"depth": 2}]], make)


@pytest.mark.data
def test_divergence_is_a_result_and_finished_runs_are_reused(mnist_env, tmp_path):
    study = study_grid("t", [[{"lr": 0.01}, {"lr": 1e6}]], lambda lr: _config(lr=lr))
    table = run_study_grid(study, tmp_path / "runs", quiet=True)
    assert list(table["lr"]) == [0.01, 1e6]
    ok, bad = table.to_dict("records")
    assert ok["outcome"] == "complete" and 0 < ok["final_test_loss"] < ok["initial_test_loss"]
    assert bad["outcome"] == "diverged" and bad["final_test_loss"] == float("inf") and bad["diverged_at"] <= 30
    meta = json.loads((tmp_path / "runs" / "points" / bad["point"] / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["details"]["outcome"] == "diverged"
    assert meta["details"]["divergence"]["where"]["step"] >= 1
    assert (tmp_path / "runs" / "points" / bad["point"] / "history.csv").is_file()
    again = run_sweep(study.grid, tmp_path / "runs", quiet=True)
    assert again.ran == 0 and again.skipped == 2
    status = sweep_status(tmp_path / "runs")  # what `aelab sweep status` reports on a study's runs
    assert (status.total, status.complete, status.failed) == (2, 2, 0)


@pytest.mark.data
def test_an_interrupted_run_resumes_from_its_checkpoints(mnist_env, tmp_path):
    from aelab.sweep.grid import config_hash
    from aelab.train.training import run_training

    study = study_grid("t", [[{"steps": 30}]], lambda steps: _config(steps=steps))
    (point,) = study.grid.points
    partial = tmp_path / "runs" / "partial" / point.id
    assert point.id == config_hash(KIND, point.config)
    run_training(_config(steps=20), partial, quiet=True, figures=False)  # as if stopped after step 20
    assert (partial / "checkpoints" / "step_00000020.pt").is_file()
    resumed = run_study_grid(study, tmp_path / "runs", quiet=True)
    assert not (tmp_path / "runs" / "partial").exists()
    straight = run_study_grid(study, tmp_path / "straight", quiet=True)
    history = {name: pd.read_csv(tmp_path / name / "points" / point.id / "history.csv")
               for name in ("runs", "straight")}
    assert history["runs"]["step"].iloc[-1] == 30
    pd.testing.assert_frame_equal(history["runs"].drop(columns="seconds"), history["straight"].drop(columns="seconds"))
    assert resumed["final_test_loss"].iloc[0] == straight["final_test_loss"].iloc[0]


@pytest.mark.data
def test_a_failed_run_stops_the_study_and_names_its_folder(mnist_env, tmp_path):
    study = study_grid("t", [[{"name": "mnist"}, {"name": "no-such-data"}]], lambda name: _config(name=name))
    with pytest.raises(AelabError, match=r"1 of 2 runs failed: .*no-such-data.*points"):
        run_study_grid(study, tmp_path / "runs", quiet=True)
