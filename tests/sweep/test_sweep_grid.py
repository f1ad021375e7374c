"""The grid language: axis specs, products, zips, seeds, validation errors naming the axis."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sweep_testkinds  # noqa: F401  (registers the toy kinds)

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.sweep.grid import config_hash, expand_axis, load_grid

TOY = "sweep_testkinds:toy"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- axis values -----------------------------------------------------------------------------
def test_axis_specs_match_numpy():
    assert expand_axis("a", [3, 1, 2]) == [3, 1, 2]
    assert expand_axis("a", {"values": ["erf", "relu"]}) == ["erf", "relu"]
    assert expand_axis("a", {"range": [1, 7, 2]}) == [1, 3, 5]
    assert expand_axis("a", {"range": [0, 3]}) == [0, 1, 2]
    for key, fn in (("linspace", np.linspace), ("logspace", np.logspace), ("geomspace", np.geomspace)):
        args = [0.5, 2.0, 7] if key != "logspace" else [-2, 1, 7]
        got = np.array(expand_axis("a", {key: args}))
        np.testing.assert_allclose(got, fn(*args), rtol=5e-12, atol=0)  # 12 significant digits
        assert len(set(got)) == 7
    # rounding to 12 digits makes decades exact: hashes agree across platforms
    assert expand_axis("a", {"logspace": [-2, 0, 3]}) == [0.01, 0.1, 1.0]


@pytest.mark.parametrize("spec, message", [
    ([], "empty axis"),
    ({"range": [3, 3]}, "empty axis"),
    ({"linspace": [0, 1, 0]}, "whole number"),
    ({"linspace": [0, 1, 2.5]}, "whole number"),
    ({"linspace": [0, 1]}, "3 numbers"),
    ({"logspace": [0, True, 3]}, "finite numbers"),
    ({"geomspace": [0, 1, 3]}, "positive"),
    ({"range": [0.5, 3]}, "integers"),
    ({"range": [0, 3, 0]}, "step"),
    ({"lin": [0, 1, 3]}, "expected a list"),
    ({"values": [1], "range": [0, 2]}, "expected a list"),
    (0.1, "expected a list"),
    ([1, 2, 1], "repeated"),
])
def test_bad_axis_specs_name_the_axis(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        expand_axis("train.lr", spec)
    assert "axis train.lr" in str(info.value)


# ---- products, zips, seeds ------------------------------------------------------------------
def test_cartesian_product_zip_and_seeds_in_order():
    grid = load_grid({
        "experiment": TOY,
        "axes": {"model.K": [1, 2, 4], "train.lr": [0.1, 1.0]},
        "zip": [{"model.activation": ["erf", "relu"], "model.tied": [True, False]}],
        "seeds": 2,
    })
    assert grid.shape == (3, 2, 2, 2)
    assert grid.seed_field == "train.seed"  # found in the model: the only field called seed
    points = grid.points
    assert len(points) == 24 == len({p.id for p in points})
    expected = itertools.product([1, 2, 4], [0.1, 1.0], [("erf", True), ("relu", False)], [0, 1])
    for point, (k, lr, (act, tied), seed) in zip(points, expected):
        assert point.coords == {"model.K": k, "train.lr": lr, "model.activation": act, "model.tied": tied,
                                "train.seed": seed}
        cfg = point.config
        assert (cfg.model.K, cfg.train.lr, cfg.model.activation, cfg.model.tied, cfg.train.seed) == \
            (k, lr, act, tied, seed)
        assert point.id == config_hash("toy", cfg)


def test_nested_toml_axes_equal_quoted_ones_and_yaml(tmp_path):
    quoted = load_grid(write(tmp_path / "a.toml", f'experiment = "{TOY}"\n[axes]\n"model.K" = [1, 2]\n'
                                                  '"train.lr" = {linspace = [0.1, 0.3, 3]}\n'))
    nested = load_grid(write(tmp_path / "b.toml", f'experiment = "{TOY}"\n[axes]\nmodel.K = [1, 2]\n'
                                                  'train.lr = {linspace = [0.1, 0.3, 3]}\n'))
    yaml_grid = load_grid(write(tmp_path / "c.yaml", f"experiment: '{TOY}'\naxes:\n  model.K: [1, 2]\n"
                                                     "  train.lr: {linspace: [0.1, 0.3, 3]}\n"))
    ids = [p.id for p in quoted.points]
    assert ids == [p.id for p in nested.points] == [p.id for p in yaml_grid.points]
    assert len(ids) == 6


def test_base_from_a_path_relative_to_the_grid(tmp_path):
    (tmp_path / "configs").mkdir()
    write(tmp_path / "configs" / "base.toml", "[train]\ntime = 5.0\n[model]\nactivation = 'relu'\n")
    grid = load_grid(write(tmp_path / "g.toml", f'experiment = "{TOY}"\nbase = "configs/base.toml"\n'
                                                '[axes]\n"model.K" = [1, 3]\n'))
    assert [(p.config.train.time, p.config.model.activation, p.config.model.K) for p in grid.points] == \
        [(5.0, "relu", 1), (5.0, "relu", 3)]


def test_no_axes_is_one_point_and_seeds_list():
    assert load_grid({"experiment": TOY}).size == 1
    grid = load_grid({"experiment": TOY, "seeds": [3, 7], "seed_field": "train.seed"})
    assert [p.config.train.seed for p in grid.points] == [3, 7]


def test_hash_is_stable_across_processes_and_sensitive_to_every_field():
    grid = load_grid({"experiment": TOY, "axes": {"train.lr": [0.1, 0.2]}})
    ids = [p.id for p in grid.points]
    code = ("import sweep_testkinds; from aelab.sweep.grid import load_grid;"
            "print(' '.join(p.id for p in load_grid({'experiment': 'toy', 'axes': {'train.lr': [0.1, 0.2]}}).points))")
    env_path = str(Path(sweep_testkinds.__file__).parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": env_path, "PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ids
    base = grid.points[0].config.model_dump(mode="json")
    seen = {config_hash("toy", base)}
    for section, values in base.items():
        for key, value in values.items():
            changed = json.loads(json.dumps(base))
            changed[section][key] = (not value) if isinstance(value, bool) else \
                (value + 1 if isinstance(value, (int, float)) else f"{value}x")
            seen.add(config_hash("toy", changed))
    assert len(seen) == 1 + sum(len(v) for v in base.values())
    assert config_hash("flat", base) not in seen  # the kind is part of the hash


# ---- validation errors ----------------------------------------------------------------------
@pytest.mark.parametrize("grid, message", [
    ({"experiment": TOY, "axes": {"model.width": [1, 2]}}, "axis model.width = 1: .*model.width: unknown key"),
    ({"experiment": TOY, "axes": {"model.K": [1, "two"]}}, "axis model.K = 'two': .*model.K"),
    ({"experiment": TOY, "axes": {"train.lr": [0.1, [0.2]]}}, r"axis train.lr = \[0.2\]"),
    ({"experiment": TOY, "axes": {"model.K": []}}, "axis model.K: empty axis"),
    ({"experiment": TOY, "axes": {"model.K.x": [1]}}, "axis model.K.x = 1: .*model.K"),
    ({"experiment": TOY, "axes": {"model.activation": ["erf", " erf"]}}, "resolve to the same configuration"),
    ({"experiment": TOY, "axes": {"model.K": [1, 2.0]}}, "axis model.K = 2.0: .*model.K: Input should be a valid integer"),
    ({"experiment": TOY, "axes": {"model": [{}], "model.K": [1]}}, "axis model.K: overlaps axis model"),
    ({"experiment": TOY, "axes": {"model.K": [1]}, "zip": [{"model.K": [2]}]}, "axis model.K: given twice"),
    ({"experiment": TOY, "zip": [{"model.K": [1, 2], "train.lr": [0.1]}]},
     r"zip\[0\]: zipped axes need equal lengths, got model.K \(2\), train.lr \(1\)"),
    ({"experiment": TOY, "base": {"train": {"lr": "fast"}}}, "base: .*train.lr"),
    ({"experiment": TOY, "seeds": 0}, "seeds: the count must be >= 1"),
    ({"experiment": TOY, "seeds": [0, -1]}, "seeds: expected non-negative integers"),
    ({"experiment": "sweep_testkinds:flat", "seeds": 2}, "seed_field: the 'flat' config has no field called seed"),
    ({"experiment": TOY, "seed_field": "train.seed"}, "seed_field: given without a seeds axis"),
    ({"experiment": TOY, "axis": {}}, "grid: unknown key 'axis'"),
    ({"axes": {}}, "grid: missing 'experiment'"),
    ({"experiment": "no-such-kind"}, "experiment: unknown kind 'no-such-kind'"),
    ({"experiment": "no_such_module:toy"}, "cannot import module 'no_such_module'"),
])
def test_invalid_grids_fail_naming_the_axis(grid, message):
    with pytest.raises(ConfigError, match=message):
        load_grid(grid)


def test_cli_rejects_bad_grid_with_exit_2_and_writes_nothing(tmp_path, capsys):
    grid = write(tmp_path / "g.toml", f'experiment = "{TOY}"\n[axes]\n"model.K" = [1, 2]\n"model.KK" = [3]\n')
    out = tmp_path / "out"
    assert main(["sweep", "run", str(grid), "--out", str(out), "-e", "serial", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: axis model.KK = 3:") and "unknown key" in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["-e", "threads"], "--executor 'threads'"),
    (["-e", "serial", "--max-workers", "2"], "--max-workers"),
    (["--max-workers", "0"], "--max-workers 0"),
    (["-e", "processes", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
])
def test_cli_rejects_bad_options(tmp_path, capsys, args, message):
    grid = write(tmp_path / "g.toml", f'experiment = "{TOY}"\n')
    assert main(["sweep", "run", str(grid), "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_dry_run_lists_points_and_runs_nothing(tmp_path, capsys):
    grid = write(tmp_path / "g.toml", f'experiment = "{TOY}"\nseeds = 2\n[axes]\n"model.K" = [1, 2, 3]\n')
    assert main(["sweep", "run", str(grid), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7 and "6 points" in lines[-1]
    assert all("pending" in line for line in lines[:-1])
    assert not (tmp_path / "o").exists()
