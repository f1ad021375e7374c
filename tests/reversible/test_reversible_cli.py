"""``aelab reversible error`` and ``aelab reversible scan``; bad input exits with 2 before any work."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from aelab.cli import main
from aelab.kinds import get_kind
from aelab.reversible.config import ErrorConfig

SMALL = ["--hidden", "60", "--sparsity", "3", "--visible", "400", "--trials", "300", "--matrices", "30"]


def test_error_json(capsys):
    assert main(["reversible", "error", *SMALL, "--threshold", "1.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("relative_error", "relative_error_sem", "theory", "paper_scale", "exact_support_rate"):
        assert key in out
    assert out["threshold"] == 1.5 and out["trials"] == 300 and out["matrices"] == 30
    assert abs(out["relative_error"] - out["theory"]) < 4.5 * out["relative_error_sem"]
    assert out["paper_scale"] == pytest.approx(3 / 400)


def test_error_text_opt_threshold_and_layers(capsys):
    assert main(["reversible", "error", *SMALL, "--layers", "2", "--keep-prob", "0.8", "--nonzero", "constant",
                 "--precision", "double"]) == 0
    out = capsys.readouterr().out
    assert "measured" in out and "theory (state evolution" in out and "(optimal)" in out
    assert "layer 1:" in out and "layer 2:" in out


def test_error_linear_and_fixed_bias(capsys):
    assert main(["reversible", "error", *SMALL, "--no-relu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["theory"] == pytest.approx((2 * 60 + 4 - 1) / 400, rel=1e-6)  # (2m + 4 - rho)/(rho n)
    assert out["exact_support_rate"] is None
    assert main(["reversible", "error", *SMALL, "--bias", "-0.02", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["threshold_source"] == "fixed bias" and out["bias"] == -0.02
    assert abs(out["relative_error"] - out["theory"]) < 4.5 * out["relative_error_sem"]


@pytest.mark.parametrize("args,option", [
    (["--sparsity", "20", "--hidden", "10"], "--sparsity"),
    (["--keep-prob", "0"], "--keep-prob"),
    (["--keep-prob", "1.5"], "--keep-prob"),
    (["--keep-prob", "nan"], "--keep-prob"),
    (["--hidden", "0"], "--hidden"),
    (["--visible", "-5"], "--visible"),
    (["--sparsity", "0"], "--sparsity"),
    (["--layers", "0"], "--layers"),
    (["--trials", "0"], "--trials"),
    (["--threshold", "inf"], "--threshold"),
    (["--threshold", "nan"], "--threshold"),
    (["--threshold", "abc"], "--threshold"),
    (["--bias", "inf"], "--bias"),
    (["--threshold", "1", "--bias", "-1"], "--bias"),
    (["--nonzero", "gaussian"], "--nonzero"),
    (["--layers", "3", "--widths", "100"], "--widths"),
    (["--matrices", "0"], "--matrices"),
    (["--precision", "half"], "--precision"),
])
@pytest.mark.parametrize("command", ["error", "scan"])
def test_bad_input_exit_2_naming_the_option(command, args, option, capsys, tmp_path, monkeypatch):
    def boom(*a, **k):  # no work may start before the input is validated
        raise AssertionError("work started")

    for target in ("aelab.reversible.results.simulate", "aelab.reversible.scans.simulate_rules",
                   "aelab.reversible.scans.scan_tables", "aelab.reversible.results.measure"):
        monkeypatch.setattr(target, boom)
    if command == "scan" and option in ("--widths",):
        pytest.skip("scan has no --widths")
    extra = ["--out", str(tmp_path / "scan")] if command == "scan" else []
    assert main(["reversible", command, *args, *extra]) == 2
    err = capsys.readouterr().err
    assert option in err and err.startswith("error:")
    assert not (tmp_path / "scan").exists()


def test_scan_writes_run_folder(tmp_path, capsys):
    out = tmp_path / "scan"
    assert main(["reversible", "scan", "--hidden", "40", "--sparsity", "2", "--visible", "150", "--trials", "40",
                 "--matrices", "8", "--points", "2", "--theory-points", "6", "--layers", "2", "--out", str(out),
                 "--quiet"]) == 0
    for name in ("config.json", "meta.json", "scan.csv", "theory.csv", "scan.png"):
        assert (out / name).is_file(), name
    sims = pd.read_csv(out / "scan.csv")
    curves = pd.read_csv(out / "theory.csv")
    assert set(sims.panel) == {"rho_n", "sparsity", "threshold", "depth"}
    assert set(sims.case) >= {"linear", "relu", "threshold", "support"}
    assert {"relative_error", "relative_error_sem", "theory", "exact_support"} <= set(sims.columns)
    assert len(curves) > len(sims)
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"
    z = (sims.relative_error - sims.theory) / sims.relative_error_sem
    assert (z.abs() < 6).mean() > 0.9  # a few points at tiny sizes may sit beyond 4.5 sem


def test_error_kind_runs_into_a_folder(tmp_path):
    kind = get_kind("reversible-error")
    config = ErrorConfig(hidden=40, sparsity=2, visible=200, trials=100, matrices=10, threshold=1.0)
    result = kind.run(config, tmp_path / "run", quiet=True)
    assert set(result) == {"relative_error", "relative_error_sem", "theory"}
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["relative_error"] == pytest.approx(result["relative_error"])


def test_error_config_validates_fields():
    from aelab.config import load_config
    from aelab.errors import ConfigError

    with pytest.raises(ConfigError, match="sparsity"):
        load_config(ErrorConfig, {"hidden": 5, "sparsity": 6})
    with pytest.raises(ConfigError, match="keep_prob"):
        load_config(ErrorConfig, {"keep_prob": 2.0})
    assert load_config(ErrorConfig, None, ["threshold=2.5"]).threshold == 2.5


def test_reproduce_entry_is_registered():
    from aelab.experiments import get_reproduction

    assert get_reproduction("reversible-error-scan").paper.startswith("Arora")
