"""Experiment kinds used by the sweep tests (a toy with two sections, a flat one), importable by
worker processes (``experiment = "sweep_testkinds:toy"``)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from aelab.config import StrictModel
from aelab.errors import DivergenceError
from aelab.kinds import register_kind
from aelab.record import RunRecord
from aelab.results import RunFolder


class ToyModel(StrictModel):
    K: int = 1
    activation: str = "erf"
    tied: bool = True


class ToyTrain(StrictModel):
    lr: float = 0.1
    time: float = 1.0
    seed: int = 0
    sleep: float = 0.0
    fail_above: float | None = None
    diverge_above: float | None = None


class ToyConfig(StrictModel):
    model: ToyModel = ToyModel()
    train: ToyTrain = ToyTrain()


def toy_value(lr: float, K: int, time: float, seed: int) -> float:
    """The toy's observable, known in closed form so aggregation can be checked."""
    return lr * K + 0.01 * seed + math.log1p(time)


def run_toy(config: ToyConfig, out_dir: Path, *, quiet: bool) -> dict:
    """Write config, a data file and meta like a real runner; fail or diverge on request."""
    folder = RunFolder.create(out_dir, RunRecord.start("toy", config, seeds=[config.train.seed]), config)
    tr = config.train
    if tr.sleep:
        time.sleep(tr.sleep)
    if tr.diverge_above is not None and tr.lr > tr.diverge_above:
        raise DivergenceError("toy diverged", time=0.5, cause="overflow")
    if tr.fail_above is not None and tr.lr > tr.fail_above:
        raise ValueError(f"toy failure at lr={tr.lr}")
    value = toy_value(tr.lr, config.model.K, tr.time, tr.seed)
    folder.write_table("data.csv", {"t": [0.0, tr.time], "y": [0.0, value]})
    folder.finish(timings_s={"run_s": 0.0}, pid=os.getpid())
    return {"y": value, "K2": config.model.K ** 2, "label": config.model.activation}


register_kind("toy", ToyConfig, run_toy, "a trivial run for the sweep tests")


class FlatConfig(StrictModel):
    x: float = 0.0
    fail_if_exists: str | None = None
    crash_at: float | None = None


def run_flat(config: FlatConfig, out_dir: Path, *, quiet: bool) -> dict:
    """Return x squared; fail while the file ``fail_if_exists`` exists (a fixable failure); kill
    the process at ``x == crash_at``."""
    if config.crash_at is not None and config.x == config.crash_at:
        os._exit(3)  # the worker process dies, as under the out-of-memory killer
    if config.fail_if_exists and Path(config.fail_if_exists).exists():
        raise RuntimeError(f"flat failure: {config.fail_if_exists} exists")
    (out_dir / "x.txt").write_text(f"{config.x!r}\n")
    return {"x2": config.x ** 2}


register_kind("flat", FlatConfig, run_flat, "one float, no seed, no run-folder files of its own")


class DeviceConfig(StrictModel):
    x: float = 0.0


def run_device(config: DeviceConfig, out_dir: Path, *, quiet: bool, device: str = "cpu") -> dict:
    """Report the runtime option ``device`` it was given."""
    return {"x": config.x, "device": device}


register_kind("toy-device", DeviceConfig, run_device, "a kind that takes the device option", options=("device",))
