"""``aelab sweep plot``: mean and standard error over seeds, one line per other axis value."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sweep_testkinds  # noqa: F401
from PIL import Image
from sweep_testkinds import toy_value

from aelab.cli import main
from aelab.sweep import collect, load_grid, run_sweep
from aelab.sweep.plot import summarise

GRID = {"experiment": "sweep_testkinds:toy", "axes": {"model.K": [1, 2], "train.lr": [0.01, 0.1, 1.0]}, "seeds": 3}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(load_grid(GRID), out, executor="serial", quiet=True)
    return out


def test_summary_is_the_mean_and_standard_error_over_seeds(sweep):
    frame, _ = collect(sweep)
    series = summarise(frame, "train.lr", "y", ["model.K"])
    assert [key for key, *_ in series] == [(1,), (2,)]
    seeds = np.arange(3)
    for (k,), xs, means, sems in series:
        assert xs == [0.01, 0.1, 1.0]
        for lr, mean, sem in zip(xs, means, sems):
            values = [toy_value(lr, k, 1.0, s) for s in seeds]
            assert mean == pytest.approx(np.mean(values), rel=1e-12)
            assert sem == pytest.approx(np.std(values, ddof=1) / math.sqrt(3), rel=1e-9)
            assert sem == pytest.approx(0.01 * 1.0 / math.sqrt(3), rel=1e-9)  # seeds 0,1,2: std 1


def test_plot_command_writes_a_figure(sweep, capsys):
    assert main(["sweep", "plot", str(sweep), "--x", "train.lr", "--y", "y"]) == 0
    path = sweep / "y_vs_train.lr.png"
    assert f"wrote {path}" in capsys.readouterr().out
    with Image.open(path) as image:
        assert image.size[0] > 300 and image.size[1] > 200
    figure = sweep / "custom.pdf"
    assert main(["sweep", "plot", str(sweep), "--x", "model.K", "--y", "y", "--hue", "train.lr",
                 "--figure", str(figure), "--yscale", "log", "-q"]) == 0
    assert figure.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("args, message", [
    (["--x", "train.rate", "--y", "y"], "--x 'train.rate': not a field"),
    (["--x", "train.lr", "--y", "loss"], "--y 'loss': not an observable of this sweep (observables: y, K2, label)"),
    (["--x", "train.lr", "--y", "label"], "--y 'label': not a numeric observable"),
    (["--x", "train.lr", "--y", "y", "--hue", "nope"], "--hue 'nope'"),
    (["--x", "train.lr", "--y", "y", "--xscale", "symlog"], "--xscale 'symlog'"),
])
def test_plot_rejects_bad_options(sweep, capsys, args, message):
    assert main(["sweep", "plot", str(sweep), *args]) == 2
    assert message in capsys.readouterr().err
