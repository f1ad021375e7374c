"""The deep area's functions return result objects: tables with the command line's columns, a
record, a Dataset, a Figure, and a run folder that reads back equal."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from aelab.results import load
import aelab.deep as deep
from aelab.cli import main
from aelab.config import load_config
from aelab.errors import ConfigError

COLUMNS = ["layer", "gamma", "rho", "tau_bar_sq", "S", "V"]
NETWORK = {"encoder": "tanh", "decoder": "relu", "depth": 4, "sigma_w_sq": 2.0, "sigma_b_sq": 0.1}


def assert_round_trip(result, tmp_path):
    folder = result.save(tmp_path / "run")
    back = load(folder)
    assert type(back) is type(result) and back.config == result.config and back.record == result.record
    assert set(back.tables) == set(result.tables)
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], table)
    assert json.loads((folder / "meta.json").read_text())["status"] == "complete"
    return back


def test_facade_names_are_the_result_functions():
    import aelab.deep.diagram  # noqa: F401  (the grids' module: importing it leaves the function in place)

    for name in ("evolve", "simulate", "phase_diagram", "advise"):
        assert name in deep.__all__ and getattr(deep, name).__module__ == "aelab.deep.results"


def test_evolve(tmp_path):
    result = deep.evolve({"network": NETWORK})
    assert isinstance(result, deep.EvolveResult) and list(result.table.columns) == COLUMNS
    assert list(result.table.layer) == [1, 2, 3, 4]
    assert result.observables["S"] == pytest.approx(result.table.S[0])
    assert result.summary["phase"] == "noise" and result.summary["classification"] == "trainable"
    ds = result.to_xarray()
    assert ds.sizes == {"layer": 4} and set(ds.data_vars) == set(COLUMNS[1:])
    assert isinstance(result.plot(), Figure)
    back = assert_round_trip(result, tmp_path)
    assert back.summary == result.summary
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.json", "meta.json", "evolution.csv",
                                                             "figure.png"}


def test_evolve_takes_a_config_file(tmp_path):
    path = tmp_path / "evolve.toml"
    path.write_text('[network]\nencoder = "relu"\ndecoder = "relu"\ndepth = 3\nsigma_w_sq = 2\n'
                    'input_variance = 1.3\n')
    result = deep.evolve(path)
    assert result.table.S[0] == pytest.approx(0.484266122, abs=1e-8)  # the arcsine closed form
    assert result.config == load_config(deep.EvolveConfig, path)


def test_simulate(tmp_path):
    result = deep.simulate({"network": {**NETWORK, "depth": 2}, "monte_carlo": {"width": 150, "samples": 3}})
    assert isinstance(result, deep.SimulateResult) and result.table is result.simulation
    assert list(result.simulation.columns) == COLUMNS + [f"{c}_se" for c in COLUMNS[1:]]
    assert list(result.samples.columns) == ["sample", "layer", *COLUMNS[1:]] and len(result.samples) == 6
    assert list(result.theory.columns) == COLUMNS and result.record.seeds == [0]
    ds = result.to_xarray()
    assert ds["S"].dims == ("side", "layer") and ds["samples_S"].shape == (3, 2)
    np.testing.assert_allclose(ds["samples_S"].mean("sample"), result.simulation.S)
    assert isinstance(result.plot(), Figure)
    assert_round_trip(result, tmp_path)


def test_phase_diagram(tmp_path):
    config = deep.PhaseDiagramConfig(encoder="relu", decoder="relu", depth=5, points=5)
    assert config.x_range == (0.1, 4.0) and config.y_range == (0.0, 1.0)  # the plane's defaults
    result = deep.phase_diagram(config)
    assert isinstance(result, deep.PhaseDiagramResult) and len(result.table) == 25
    assert {"sigma_w_sq", "sigma_b_sq", "phase", "phase_code", "phase_at_depth", "s_sig", "s_var",
            "tau_bar_sq"} == set(result.table.columns)
    ds = result.to_xarray()
    assert ds["phase"].dims == ("sigma_b_sq", "sigma_w_sq") and ds["s_sig"].shape == (5, 5)
    assert sum(v for k, v in result.observables.items() if k.startswith("fraction_")) == pytest.approx(1.0)
    assert isinstance(result.plot(), Figure)
    back = assert_round_trip(result, tmp_path)
    assert (tmp_path / "run" / "phase_diagram.png").is_file() and not (tmp_path / "run" / "figure.png").exists()
    np.testing.assert_array_equal(back.diagram.phase, result.diagram.phase)
    np.testing.assert_array_equal(back.diagram.s_var, result.diagram.s_var)


def test_phase_diagram_beta_tau_axes():
    result = deep.phase_diagram({"axes": "beta-tau", "depth": 20, "points": 4})
    assert result.to_xarray()["phase"].dims == ("tau_bar_sq", "beta")


def test_advise(tmp_path):
    result = deep.advise({"encoder": "relu", "decoder": "relu", "depth": 20, "sigma_w_sq": 2.5})
    assert isinstance(result, deep.AdviceResult)
    assert result.advice.classification == result.observables["classification"] == "infinities"
    assert result.advice.sigma_b_sq == 0.0 and result.advice.reasons
    assert list(result.table.columns) == COLUMNS and len(result.table) == 20
    assert result.to_xarray().attrs["classification"] == "infinities"
    assert isinstance(result.plot(), Figure)
    back = assert_round_trip(result, tmp_path)
    assert back.advice == result.advice  # infinities read back as inf


@pytest.mark.parametrize("model, data, path", [
    (deep.EvolveConfig, {"network": {"sigma_w_sq": 0}}, "network.sigma_w_sq"),
    (deep.EvolveConfig, {"network": {"depth": 3, "sigma_w_sq": [1, 2]}}, "network.sigma_w_sq"),
    (deep.EvolveConfig, {"network": {"depth": 3, "encoder": ["tanh"]}}, "network.encoder"),
    (deep.SimulateConfig, {"monte_carlo": {"width": 1}}, "monte_carlo.width"),
    (deep.PhaseDiagramConfig, {"x_range": [3, 1]}, "x_range"),
    (deep.PhaseDiagramConfig, {"axes": "beta-tau", "y_range": [0, 1]}, "y_range"),
    (deep.AdviseConfig, {"encoder": "tanh", "decoder": "nope", "depth": 3}, "decoder"),
])
def test_errors_name_the_field_path(model, data, path):
    with pytest.raises(ConfigError, match=rf"invalid configuration: {path}: ") as info:
        load_config(model, data)
    assert "--" not in str(info.value)


@pytest.mark.parametrize("args, option", [
    (["evolve", "--depth", "3", "--encoder", "tanh,tanh,tanh"], "--encoder:"),
    (["evolve", "--method", "fast"], "--method:"),
    (["simulate", "--input", "uniform"], "--input:"),
    (["phase-diagram", "--y-range", "0:1", "--axes", "beta-tau"], "--y-range:"),
    (["phase-diagram", "--points", "1"], "--points:"),
    (["advise", "--encoder", "tanh", "--decoder", "relu", "--depth", "5", "--alpha", "0"], "--alpha:"),
])
def test_command_line_errors_name_the_option(capsys, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert main(["deep", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}") and "invalid configuration" not in err
    assert not (tmp_path / "runs").exists()


def test_phase_diagram_command_refuses_a_run_folder_without_overwrite(capsys, tmp_path):
    args = ["-q", "deep", "phase-diagram", "--depth", "3", "--points", "3", "--out", str(tmp_path / "pd")]
    assert main(args) == 0
    first = load(tmp_path / "pd")
    assert isinstance(first, deep.PhaseDiagramResult) and first.record.kind == "deep-phase-diagram"
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_kinds_write_result_folders(tmp_path):
    from aelab.kinds import get_kind

    out = get_kind("deep-evolve").run(deep.EvolveConfig(network=NETWORK), tmp_path / "ev", quiet=True)
    back = load(tmp_path / "ev")
    assert isinstance(back, deep.EvolveResult) and out == back.observables
    assert set(out) == {"S", "V", "reconstruction_error", "infinite_layer"}


def test_a_failed_kind_run_is_recorded_as_failed(tmp_path):
    from aelab.kinds import get_kind
    from aelab.results import RunFolder

    config = deep.SimulateConfig(network={"depth": 2, "input_activation": "tanh", "input_variance": 2.0},
                                 monte_carlo={"width": 50, "samples": 1})
    with pytest.raises(ConfigError, match="input-variance"):  # not reachable through tanh
        get_kind("deep-simulate").run(config, tmp_path / "sim", quiet=True)
    record = RunFolder.open(tmp_path / "sim").record
    assert record.status == "failed" and record.failure.kind == "error" and record.kind == "deep-simulate"
