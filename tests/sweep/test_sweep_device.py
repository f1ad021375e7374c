"""`--device` is a runtime option: a sweep hands it to the kinds that take one, and it changes no
point's configuration or hash (so changing it re-runs nothing)."""

from __future__ import annotations

import json

import pandas as pd

from aelab.sweep import run_sweep

DEVICE_KIND = "sweep_testkinds:toy-device"
TOY = "sweep_testkinds:toy"


def test_the_device_reaches_the_runner_and_not_the_hash(tmp_path):
    grid = {"experiment": DEVICE_KIND, "axes": {"x": [0.0, 1.0]}}
    plain = run_sweep(grid, tmp_path / "plain", executor="serial", quiet=True)
    gpu = run_sweep(grid, tmp_path / "gpu", executor="serial", quiet=True, device="cuda:3")
    ids = lambda r: sorted(o.point_id for o in r.outcomes)  # noqa: E731
    assert ids(plain) == ids(gpu)
    assert {o.observables["device"] for o in plain.outcomes} == {"cpu"}
    assert {o.observables["device"] for o in gpu.outcomes} == {"cuda:3"}
    for o in gpu.outcomes:
        config = json.loads((tmp_path / "gpu" / "points" / o.point_id / "config.json").read_text())
        assert "device" not in json.dumps(config)
    again = run_sweep(grid, tmp_path / "gpu", executor="serial", quiet=True, device="cpu")
    assert again.ran == 0  # a new device is no new point


def test_kinds_without_the_option_do_not_get_it(tmp_path):
    grid = {"experiment": TOY, "axes": {"train.lr": [0.1]}}
    report = run_sweep(grid, tmp_path / "s", executor="serial", quiet=True, device="cuda")
    assert report.ok and not report.failed
    assert len(pd.read_csv(tmp_path / "s" / "results.csv")) == 1
