"""The reversible area's functions return result objects: ``error`` (the values of ``result.json``
as observables and details, a per-layer table) and ``scan``; the folder reads back equal."""

import json

import pandas as pd
import pytest
from matplotlib.figure import Figure

from aelab.results import load
import aelab.reversible as rev
from aelab.cli import main
from aelab.config import load_config
from aelab.errors import ConfigError

SMALL = {"hidden": 40, "sparsity": 2, "visible": 200, "trials": 60, "matrices": 6}


def assert_round_trip(result, tmp_path):
    folder = result.save(tmp_path / "run")
    back = load(folder)
    assert type(back) is type(result) and back.config == result.config and back.record == result.record
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], table)
    return back


def test_facade_names_are_the_result_functions():
    import aelab.reversible.results  # noqa: F401
    import aelab.reversible.scans  # noqa: F401

    assert rev.scan.__module__ == rev.error.__module__ == "aelab.reversible.results"
    assert {"error", "scan", "ErrorResult", "ScanResult", "ScanConfig"} <= set(rev.__all__)


def test_error(tmp_path):
    result = rev.error({**SMALL, "layers": 2, "threshold": 1.0})
    assert isinstance(result, rev.ErrorResult)
    assert set(result.observables) == {"relative_error", "relative_error_sem", "theory"}
    m = result.measurement
    assert list(m)[:3] == ["relative_error", "relative_error_sem", "theory"]
    assert m["threshold"] == 1.0 and m["threshold_source"] == "given" and m["widths"] == [200, 89, 40]
    assert list(result.table.columns) == ["layer", "width", "relative_error", "relative_error_sem", "theory"]
    assert list(result.table.layer) == [1, 2] and result.table.relative_error.iloc[-1] == pytest.approx(
        result.observables["relative_error"])
    assert result.record.seeds == [0] and set(result.record.timings_s) == {"simulation", "theory"}
    assert result.to_xarray().sizes == {"layer": 2}
    assert isinstance(result.plot(), Figure)
    back = assert_round_trip(result, tmp_path)
    assert back.measurement == m == json.loads((tmp_path / "run" / "result.json").read_text())


def test_error_command_json_is_the_measurement(capsys):
    args = ["--hidden", "40", "--sparsity", "2", "--visible", "200", "--trials", "60", "--matrices", "6"]
    assert main(["reversible", "error", *args, "--threshold", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = rev.error({**SMALL, "threshold": 1.0}).measurement
    timing = ("seconds_simulation", "seconds_theory")
    assert {k: v for k, v in printed.items() if k not in timing} == {k: v for k, v in expected.items()
                                                                     if k not in timing}


def test_scan(tmp_path):
    config = rev.ScanConfig(base=rev.ErrorConfig(**SMALL), points=2, theory_points=4, max_layers=2,
                            panels=("rho_n", "depth"))
    result = rev.scan(config)
    assert isinstance(result, rev.ScanResult) and result.table is result.scan
    assert set(result.scan.panel) == {"rho_n", "depth"} and len(result.theory) > len(result.scan)
    assert {"relative_error", "relative_error_sem", "theory", "exact_support"} <= set(result.scan.columns)
    assert result.observables["points"] == len(result.scan)
    assert set(result.to_xarray().dims) == {"panel", "case", "x"}
    assert isinstance(result.plot(), Figure)
    assert_round_trip(result, tmp_path)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.json", "meta.json", "scan.csv", "theory.csv",
                                                             "scan.png"}


def test_bias_and_threshold_exclude_each_other_in_python():
    with pytest.raises(ConfigError, match="threshold") as info:
        load_config(rev.ErrorConfig, {"threshold": 1.0, "bias": -0.1})
    assert str(info.value).startswith("invalid configuration: bias: ") and "--" not in str(info.value)
    with pytest.raises(ConfigError, match=r"base\.bias: .*threshold"):
        load_config(rev.ScanConfig, {"base": {"threshold": 2.0, "bias": 0.0}})
    with pytest.raises(ConfigError, match="bias"):  # through a function, not silently dropped
        rev.error({"threshold": 1.0, "bias": -0.1})
    assert rev.ErrorConfig(bias=-0.1).net().bias == -0.1  # the default threshold ('opt') gives way


@pytest.mark.parametrize("data, path", [
    ({"hidden": 10, "sparsity": 11}, "sparsity"),
    ({"layers": 3, "widths": [100]}, "widths"),
    ({"layers": 2, "widths": [0]}, "widths"),
    ({"keep_prob": 0.0}, "keep_prob"),
])
def test_errors_name_the_field(data, path):
    with pytest.raises(ConfigError, match=rf"invalid configuration: {path}: "):
        load_config(rev.ErrorConfig, data)


@pytest.mark.parametrize("args, option", [
    (["error", "--threshold", "1", "--bias", "-1"], "--bias:"),
    (["error", "--sparsity", "20", "--hidden", "10"], "--sparsity:"),
    (["scan", "--layers", "0"], "--layers:"),
    (["scan", "--theory-points", "1"], "--theory-points:"),
    (["scan", "--keep-prob", "2"], "--keep-prob:"),
])
def test_command_line_errors_name_the_option(capsys, tmp_path, args, option):
    extra = ["--out", str(tmp_path / "scan")] if args[0] == "scan" else []
    assert main(["reversible", *args, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}") and "invalid configuration" not in err
    assert not (tmp_path / "scan").exists()


def test_scan_command_refuses_a_run_folder_without_overwrite(capsys, tmp_path):
    args = ["reversible", "scan", "--hidden", "30", "--sparsity", "2", "--visible", "100", "--trials", "20",
            "--matrices", "4", "--points", "2", "--theory-points", "3", "--layers", "1", "--out", str(tmp_path / "s"),
            "--quiet"]
    assert main(args) == 0
    assert isinstance(load(tmp_path / "s"), rev.ScanResult)
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_kinds_write_result_folders(tmp_path):
    from aelab.kinds import get_kind

    out = get_kind("reversible-error").run(rev.ErrorConfig(**SMALL), tmp_path / "err", quiet=True)
    back = load(tmp_path / "err")
    assert isinstance(back, rev.ErrorResult) and out == back.observables
    assert (tmp_path / "err" / "layers.csv").is_file() and (tmp_path / "err" / "result.json").is_file()
