"""`aelab.train.run` as a library call: the result object, its folder read back, and a run killed
before its first checkpoint (only its record and config on disk) resumed from the start."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

import aelab
from aelab.errors import ConfigError
from aelab.train import TrainConfig, TrainResult

BASE = {
    "data": {"name": "lowrank"},
    "model": {"depth": 3, "width": [24, 16, 8, 4], "encoder": "tanh", "decoder": "tanh", "bottleneck": "relu"},
    "init": {"scheme": "gaussian", "sigma_w_sq": 1.05, "sigma_b_sq": 2e-5},
    "train": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 32, "steps": 30, "log_every": 10,
              "checkpoint_every": 10, "seed": 3},
}


def test_run_returns_a_result_and_load_reads_it_back(tmp_path, low_rank_arrays):
    result = aelab.train.run(BASE, out=tmp_path / "run", arrays=low_rank_arrays)
    assert isinstance(result, TrainResult) and result.model is not None
    assert result.record.status == "complete" and result.observables["steps"] == 30
    assert result.record.options == {"device": "cpu"} and result.record.seeds == [3]
    loaded = aelab.load(tmp_path / "run")
    assert isinstance(loaded, TrainResult) and loaded.model is None
    assert loaded.record == result.record and loaded.config == result.config
    pd.testing.assert_frame_equal(loaded.history, result.history, check_exact=True)
    assert loaded.to_xarray()["test_loss"].dims == ("step",)
    assert loaded.plot().axes
    memory = aelab.train.run(TrainConfig.model_validate(BASE), arrays=low_rank_arrays)  # no folder
    pd.testing.assert_frame_equal(memory.history.drop(columns="seconds"), result.history.drop(columns="seconds"))


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path, low_rank_arrays):
    straight = aelab.train.run(BASE, out=tmp_path / "straight", arrays=low_rank_arrays)
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("meta.json", "config.json"):  # what a kill right after the start leaves
        shutil.copy(tmp_path / "straight" / name, killed / name)
    record = json.loads((killed / "meta.json").read_text())
    (killed / "meta.json").write_text(json.dumps({**record, "status": "running"}))
    with pytest.raises(ConfigError, match="holds a run already"):
        aelab.train.run(BASE, out=killed, arrays=low_rank_arrays)
    resumed = aelab.train.run(BASE, out=killed, resume=True, arrays=low_rank_arrays)
    pd.testing.assert_frame_equal(resumed.history.drop(columns="seconds"), straight.history.drop(columns="seconds"))
    assert json.loads((killed / "meta.json").read_text())["status"] == "complete"
    again = aelab.train.run(BASE, out=killed, overwrite=True, arrays=low_rank_arrays)
    assert again.record.status == "complete"


def test_a_model_that_cannot_fit_is_refused_before_it_is_built(tmp_path, low_rank_arrays):
    huge = {**BASE, "model": {**BASE["model"], "width": 1_000_000}}
    with pytest.raises(ConfigError, match=r"needs about .* free; lower model.width"):
        aelab.train.run(huge, out=tmp_path / "run", arrays=low_rank_arrays)
    assert not (tmp_path / "run").exists()
