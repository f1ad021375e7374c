"""``aelab train`` end to end on real MNIST, and its refusals of bad input (exit 2, nothing overwritten)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from aelab.cli import main

pytestmark = pytest.mark.data

CONFIG = {
    "data": {"name": "mnist", "n_train": 2000, "n_test": 500},
    "model": {"depth": 3, "width": 64, "encoder": "tanh", "decoder": "tanh", "bottleneck": "relu",
              "output": "linear", "tied": True},
    "init": {"scheme": "gaussian", "sigma_w_sq": 1.05, "sigma_b_sq": 2.01e-5},
    "train": {"optimizer": "adam", "lr": 1e-3, "batch_size": 50, "steps": 150, "loss": "normalised", "seed": 0,
              "log_every": 50, "checkpoint_every": 50},
}


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_short_mnist_training_lowers_the_test_loss(mnist_env, config_file, tmp_path):
    out = tmp_path / "run"
    assert main(["--quiet", "train", str(config_file), "--out", str(out)]) == 0
    history = pd.read_csv(out / "history.csv")
    assert history["step"].tolist() == [0, 50, 100, 150]
    assert history["test_loss"].iloc[0] > 0.9  # an untrained tied net outputs about nothing useful
    assert history["test_loss"].iloc[-1] < 0.6 * history["test_loss"].iloc[0]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["options"]["device"] == "cpu"
    assert json.loads((out / "config.json").read_text())["model"]["depth"] == 3
    assert (out / "reconstructions.png").stat().st_size > 1000 and (out / "loss_curve.png").is_file()
    # resume with more steps continues from the last checkpoint
    assert main(["--quiet", "train", str(config_file), "--out", str(out), "--resume", "--set", "train.steps=200"]) == 0
    assert pd.read_csv(out / "history.csv")["step"].tolist() == [0, 50, 100, 150, 200]


@pytest.mark.parametrize("override, message", [
    ("init.scheme=glorot", "unknown initialiser 'glorot'"),
    ("model.encoder=swishy", "unknown activation 'swishy'"),
    ("model.depth=0", "depth L must be at least 1"),
    ("model.width=[700, 64, 64, 64]", "n_0 = 700 does not match the data (mnist images have 28x28 = 784"),
    ("train.batch_size=3000", "train.batch_size: 3000 is larger than the data set"),
    ("data.n_train=null", None),
])
def test_bad_input_exits_2_and_writes_nothing(mnist_env, config_file, tmp_path, capsys, override, message):
    out = tmp_path / "run"
    args = ["--quiet", "train", str(config_file), "--out", str(out), "--set", override]
    if message is None:  # batch larger than the whole training set, found after loading the data
        args += ["--set", "train.batch_size=60001"]
        message = "train.batch_size: 60001 is larger than the data set (60000 training images)"
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_no_overwrite_and_no_resume_from_another_config(mnist_env, config_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--quiet", "train", str(config_file), "--out", str(out), "--set", "train.steps=50"]) == 0
    before = _digest(out)
    assert main(["--quiet", "train", str(config_file), "--out", str(out)]) == 2
    assert "holds a run already" in capsys.readouterr().err
    assert main(["--quiet", "train", str(config_file), "--out", str(out), "--resume", "--set", "model.width=32"]) == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "model.width: 64 -> 32" in err
    if not torch.cuda.is_available():
        assert main(["--quiet", "train", str(config_file), "--out", str(out), "--resume", "--device", "cuda"]) == 2
    assert _digest(out) == before
