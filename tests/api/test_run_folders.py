"""Run folders: one record per run, written before any data; save and load round trips; a run killed
with SIGKILL never looks complete and a folder never mixes two runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aelab
from aelab.config import validate_config
from aelab.errors import ConfigError
from aelab.record import RunRecord
from aelab.results import RunFolder
from aelab.shallow import ShallowConfig, ShallowResult

SMALL = {"data": {"D": 60}, "train": {"time": 4.0, "seeds": 2}, "output": {"points": 12}}


def _assert_same(a, b):
    assert type(a) is type(b)
    assert a.config == b.config
    assert a.record == b.record
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)


def test_shallow_round_trip(tmp_path):
    result = aelab.shallow.run(SMALL)
    assert isinstance(result, ShallowResult) and result.record.status == "complete"
    assert list(result.per_seed["seed"].unique()) == [0, 1]
    assert list(result.per_seed.columns[1:]) == list(result.theory.columns)  # the CSV columns, seed first
    result.save(tmp_path / "run")
    loaded = aelab.load(tmp_path / "run")
    _assert_same(result, loaded)
    ds = loaded.to_xarray()
    assert ds["pmse"].dims == ("side", "t") and list(ds["side"].values) == ["theory", "simulation"]
    assert ds["per_seed_pmse"].shape == (2, len(result.theory))
    fig = loaded.plot()
    assert fig.axes
    with pytest.raises(ConfigError, match="holds a run already"):
        result.save(tmp_path / "run")
    result.save(tmp_path / "run", overwrite=True)


def test_config_in_python_means_the_same_as_set():
    base = ShallowConfig.model_validate(SMALL)
    a = base.with_overrides({"model.K": 3, "train.lr": 0.5})
    b = base.with_overrides(["model.K=3", "train.lr=0.5"])
    assert a == b and a.model.K == 3 and base.model.K == 2
    with pytest.raises(ConfigError, match="model.nope"):
        base.with_overrides({"model.nope": 1})


def test_every_covariance_in_the_config(tmp_path):
    """A power-law spectrum as a list and as a .npy file: the same run; all D directions are tracked."""
    D = 40
    spectrum = (np.arange(1, D + 1) ** -1.0) * D / 4
    listed = aelab.shallow.run({**SMALL, "data": {"eigenvalues": spectrum.tolist()}}, simulation=False)
    np.save(tmp_path / "spec.npy", spectrum)
    filed = aelab.shallow.run({**SMALL, "data": {"eigenvalues": str(tmp_path / "spec.npy")}}, simulation=False)
    assert listed.config.data.D == D
    pd.testing.assert_frame_equal(listed.theory, filed.theory)
    assert listed.pca_errors[1] == pytest.approx((spectrum.sum() - spectrum[0]) / D)
    with pytest.raises(ConfigError, match="data.eigenvalues"):
        validate_config(ShallowConfig, {"data": {"eigenvalues": [1.0, -1.0]}})
    with pytest.raises(ConfigError, match="data.eigenvalues.*data.spikes|excludes"):
        validate_config(ShallowConfig, {"data": {"eigenvalues": [1.0, 2.0], "spikes": [0.5]}})
    with pytest.raises(ConfigError, match=r"data\.D = 5"):
        validate_config(ShallowConfig, {"data": {"eigenvalues": [1.0, 2.0], "D": 5}})


def test_a_finite_training_set_is_a_sample_source():
    cfg = ShallowConfig.model_validate({**SMALL, "data": {"D": 60, "samples": 120}})
    result = aelab.shallow.run(cfg, theory=False)
    sim = result.simulation
    assert {"train_pmse", "passes"} <= set(sim.columns)
    assert sim["passes"].iloc[-1] == pytest.approx(cfg.train.time * cfg.data.D / 120)
    assert sim["train_pmse"].iloc[-1] < sim["pmse"].iloc[-1]  # it fits its training set better


def test_record_is_written_first_and_replaced_at_the_end(tmp_path):
    cfg = ShallowConfig.model_validate(SMALL)
    folder = RunFolder.create(tmp_path / "run", RunRecord.start("shallow", cfg, seeds=[0, 1]), cfg)
    assert sorted(p.name for p in folder.path.iterdir()) == ["config.json", "meta.json"]
    assert json.loads((folder.path / "meta.json").read_text())["status"] == "running"
    with pytest.raises(ConfigError, match="holds a run already"):
        RunFolder.create(tmp_path / "run", RunRecord.start("shallow", cfg), cfg)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="other files"):
        RunFolder.create(tmp_path / "other", RunRecord.start("shallow", cfg), cfg, overwrite=True)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_runtime_options_are_not_part_of_the_hash():
    cfg = ShallowConfig.model_validate(SMALL)
    one = aelab.shallow.run(cfg, simulation=False, workers=1).record
    two = aelab.shallow.run(cfg, simulation=False, workers=2).record
    assert one.config_hash == two.config_hash and one.options != two.options


def _start(args, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "aelab", "--quiet", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, **kw)


def _status(folder: Path) -> str | None:
    try:
        return json.loads((folder / "meta.json").read_text())["status"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


LONG = ["shallow", "run", "--set", "data.D=300", "--set", "train.time=400", "--set", "train.seeds=4",
        "--set", "output.points=200"]


def _kill_while_running(folder: Path, args, rng, *, overwrite=False):
    proc = _start([*LONG, "--out", str(folder), *(["--overwrite"] if overwrite else []), *args])
    deadline = time.monotonic() + 60
    while _status(folder) != "running" or not (folder / "config.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


def test_sigkill_never_leaves_a_complete_record_and_never_mixes_runs(tmp_path):
    rng = np.random.default_rng(7)
    fresh = tmp_path / "fresh"
    _kill_while_running(fresh, [], rng)
    assert _status(fresh) == "running"  # never "complete"
    # a folder that holds a run is refused, then replaced whole with --overwrite
    done = subprocess.run([sys.executable, "-m", "aelab", "--quiet", "shallow", "run", "--out", str(fresh),
                           "--set", "data.D=40", "--set", "train.time=1"], capture_output=True, text=True)
    assert done.returncode == 2 and "holds a run already" in done.stderr and len(done.stderr.splitlines()) == 1
    # a reused folder: a complete small run, then a long one killed mid-way after --overwrite
    reused = tmp_path / "reused"
    ok = subprocess.run([sys.executable, "-m", "aelab", "--quiet", "shallow", "run", "--out", str(reused),
                         "--set", "data.D=40", "--set", "train.time=1", "--theory-only"], capture_output=True)
    assert ok.returncode == 0 and _status(reused) == "complete"
    _kill_while_running(reused, ["--simulation-only"], rng, overwrite=True)
    assert _status(reused) == "running"
    assert not (reused / "theory.csv").exists()  # nothing of the first run is left beside the second
    record = json.loads((reused / "meta.json").read_text())
    assert json.loads((reused / "config.json").read_text())["data"]["D"] == 300 and record["kind"] == "shallow"


def test_seeds_in_parallel_are_bit_identical_to_serial():
    cfg = ShallowConfig.model_validate({**SMALL, "train": {"time": 3.0, "seeds": 3}})
    serial = aelab.shallow.run(cfg, theory=False, workers=1)
    parallel = aelab.shallow.run(cfg, theory=False, workers=2)
    pd.testing.assert_frame_equal(serial.per_seed, parallel.per_seed, check_exact=True)
    pd.testing.assert_frame_equal(serial.simulation, parallel.simulation, check_exact=True)


def test_sweep_round_trip(tmp_path):
    grid = {"experiment": "shallow", "base": {**SMALL, "train": {"time": 2.0, "seeds": 1}},
            "axes": {"train.lr": [0.5, 1.0]}}
    result = aelab.sweep.run(grid, tmp_path / "sweep")
    loaded = aelab.load(tmp_path / "sweep")
    assert type(loaded) is type(result) and loaded.manifest == result.manifest
    pd.testing.assert_frame_equal(loaded.to_dataframe(), result.to_dataframe())
    assert loaded.to_xarray()["pmse"].dims == ("train.lr",)
    point = loaded.point({"train.lr": 1.0})
    assert isinstance(point, ShallowResult) and point.config.train.lr == 1.0
