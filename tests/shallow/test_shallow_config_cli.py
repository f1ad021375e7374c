"""Configuration validation, the command line and run folders."""

import json
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aelab.cli import main
from aelab.config import load_config
from aelab.errors import ConfigError
from aelab.shallow.config import ShallowConfig

BAD = [
    ("model.K=0", "model.K"),
    ("data.D=1", "data"),
    ("train.lr=-0.1", "train.lr"),
    ("train.lr=.inf", "train.lr"),
    ("train.lr=.nan", "train.lr"),
    ("model.activation=swish", "model.activation"),
    ("model.colour=red", "model.colour"),
    ("data.spikes=[-1.0]", "data.spikes"),
    ("nosuch.key=1", "nosuch"),
    ("output.times=[0, 2, 1]", "output.times"),
    ("train.seeds=[]", "train.seeds"),
]


@pytest.mark.parametrize("override,field", BAD)
def test_bad_configs_name_the_field(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(ShallowConfig, None, [override])


def test_K_larger_than_D():
    with pytest.raises(ConfigError, match="model.K"):
        load_config(ShallowConfig, {"data": {"D": 3, "spikes": [1.0]}, "model": {"K": 4}})


@pytest.mark.parametrize("override,field", BAD[:4])
def test_cli_exit_code_2_for_bad_config(override, field, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["shallow", "run", "--set", override, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
    assert not out.exists()


def test_config_files_in_three_formats(tmp_path):
    (tmp_path / "c.toml").write_text('[model]\nK = 3\nactivation = "relu"\n')
    (tmp_path / "c.yaml").write_text("model:\n  K: 3\n  activation: relu\n")
    (tmp_path / "c.json").write_text(json.dumps({"model": {"K": 3, "activation": "relu"}}))
    configs = [load_config(ShallowConfig, tmp_path / f"c.{ext}") for ext in ("toml", "yaml", "json")]
    assert configs[0] == configs[1] == configs[2]
    assert configs[0].model.K == 3
    with pytest.raises(ConfigError, match="cannot parse"):
        (tmp_path / "bad.toml").write_text("[model\nK=")
        load_config(ShallowConfig, tmp_path / "bad.toml")


_values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8), st.lists(st.floats(allow_nan=True), max_size=3))
_keys = st.sampled_from(["D", "K", "spikes", "bulk", "lr", "time", "seeds", "activation", "tied", "bias",
                         "init_std", "points", "method", "rtol", "zzz", "times", "rule", "workers"])
_sections = st.sampled_from(["data", "model", "train", "ode", "output", "extra"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_sections, st.one_of(_values, st.dictionaries(_keys, _values, max_size=4)), max_size=4))
def test_malformed_configs_never_crash(data):
    """Random malformed configurations give a ConfigError (or a valid config), never another exception."""
    try:
        cfg = load_config(ShallowConfig, data)
    except ConfigError as exc:
        assert str(exc)
    else:
        assert cfg.model.K <= cfg.data.D and cfg.train.lr > 0 and math.isfinite(cfg.train.lr)


def test_run_folder(tmp_path):
    out = tmp_path / "run"
    code = main(["--quiet", "shallow", "run", "--set", "data.D=100", "--set", "train.time=4", "--set", "train.seeds=2",
                 "--set", "output.points=6", "--out", str(out)])
    assert code == 0
    for name in ("config.json", "meta.json", "theory.csv", "simulation.csv", "figure.png"):
        assert (out / name).is_file(), name
    theory, sim = pd.read_csv(out / "theory.csv"), pd.read_csv(out / "simulation.csv")
    assert list(theory["t"]) == list(sim["t"])
    assert set(theory.columns) <= set(sim.columns)
    assert {"pmse_sem", "Q_1_1_sem", "overlap_w1_pc1_sem"} <= set(sim.columns)
    assert {"t", "pmse", "Q_1_2", "R_2_1", "T_1_1", "T0_1_1", "overlap_v2_pc1"} <= set(theory.columns)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["seeds"] == [0, 1]
    assert {"numpy", "python", "aelab"} <= set(meta["versions"])
    assert json.loads((out / "config.json").read_text())["data"]["D"] == 100
    # no temporary files left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_theory_only_and_simulation_only(tmp_path):
    base = ["--quiet", "shallow", "run", "--set", "data.D=80", "--set", "train.time=2", "--set", "train.seeds=1"]
    assert main([*base, "--theory-only", "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a/theory.csv").exists() and not (tmp_path / "a/simulation.csv").exists()
    assert main([*base, "--simulation-only", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b/simulation.csv").exists() and not (tmp_path / "b/theory.csv").exists()
    assert main([*base, "--simulation-only", "--theory-only", "--out", str(tmp_path / "c")]) == 2


def test_divergence_is_reported_with_time_and_cause(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["--quiet", "shallow", "run", "--simulation-only", "--set", "data.D=50", "--set", "train.lr=200",
                 "--set", "model.activation=linear", "--set", "train.seeds=1", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "t =" in err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["failure"]["kind"] == "divergence"
    assert meta["failure"]["where"]["time"] > 0 and meta["failure"]["cause"]
    assert (out / "simulation.partial.csv").exists()


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert "aelab" in capsys.readouterr().out
    assert main(["shallow", "--help"]) == 0
    assert main(["nosuchcommand"]) == 2
