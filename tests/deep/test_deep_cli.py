"""``aelab deep``: the columns and formats of the issue, bad input refused with exit code 2."""

import io
import json

import pandas as pd
import pytest

from aelab.cli import main

COLUMNS = ["layer", "gamma", "rho", "tau_bar_sq", "S", "V"]


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evolve_text_csv_json(capsys):
    code, out, _ = run(capsys, "deep", "evolve", "--encoder", "tanh", "--decoder", "relu", "--depth", "4",
                       "--sigma-w-sq", "2", "--sigma-b-sq", "0.1")
    assert code == 0 and "phase = noise" in out and "classification = trainable" in out
    assert out.splitlines()[2].split() == COLUMNS
    code, out, _ = run(capsys, "deep", "evolve", "--encoder", "relu", "--decoder", "relu", "--depth", "3",
                       "--sigma-w-sq", "2", "--input-variance", "1.3", "--csv")
    df = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(df.columns) == COLUMNS and list(df.layer) == [1, 2, 3]
    assert df.S[0] == pytest.approx(0.484266122, abs=1e-8)  # the arcsine closed form
    code, out, _ = run(capsys, "deep", "evolve", "--depth", "3", "--sigma-w-sq", "1,1.5,2", "--json")
    data = json.loads(out)
    assert code == 0 and [r["layer"] for r in data["layers"]] == [1, 2, 3]
    assert set(data["layers"][0]) == set(COLUMNS) and data["setting"]["sigma_w_sq"] == [1.0, 1.5, 2.0]


def test_simulate_columns_with_standard_errors(capsys):
    code, out, _ = run(capsys, "deep", "simulate", "--depth", "2", "--width", "200", "--samples", "3", "--seed", "4",
                       "--csv")
    df = pd.read_csv(io.StringIO(out))
    assert code == 0
    assert list(df.columns) == COLUMNS + [f"{c}_se" for c in ("gamma", "rho", "tau_bar_sq", "S", "V")]
    code2, out2, _ = run(capsys, "deep", "simulate", "--depth", "2", "--width", "200", "--samples", "3", "--seed",
                         "4", "--csv")
    assert out2 == out  # deterministic given the seed


def test_advise_and_phase_diagram(capsys, tmp_path):
    code, out, _ = run(capsys, "deep", "advise", "--encoder", "tanh", "--decoder", "relu", "--depth", "100")
    assert code == 0 and "classification: trainable" in out and "sigma_W^2 = 2" in out
    code, out, _ = run(capsys, "deep", "advise", "--encoder", "relu", "--decoder", "relu", "--depth", "20",
                       "--sigma-w-sq", "2.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["classification"] == "infinities" and data["reasons"]
    folder = tmp_path / "pd"
    code, out, _ = run(capsys, "-q", "deep", "phase-diagram", "--encoder", "relu", "--decoder", "relu", "--depth",
                       "5", "--points", "6", "--out", str(folder))
    assert code == 0
    assert {p.name for p in folder.iterdir()} == {"config.json", "meta.json", "phase_diagram.csv",
                                                   "phase_diagram.png"}
    df = pd.read_csv(folder / "phase_diagram.csv")
    assert len(df) == 36 and {"sigma_w_sq", "sigma_b_sq", "phase", "s_sig", "s_var"} <= set(df.columns)


@pytest.mark.parametrize("args, option", [
    (["deep", "evolve", "--encoder", "nope"], "--encoder"),
    (["deep", "evolve", "--sigma-w-sq", "0"], "--sigma-w-sq"),
    (["deep", "evolve", "--sigma-w-sq", "1,-2"], "--sigma-w-sq"),
    (["deep", "evolve", "--sigma-b-sq", "-1"], "--sigma-b-sq"),
    (["deep", "evolve", "--sigma-v-sq", "-1"], "--sigma-v-sq"),
    (["deep", "evolve", "--depth", "0"], "--depth"),
    (["deep", "evolve", "--input-variance", "0"], "--input-variance"),
    (["deep", "evolve", "--input-variance", "inf"], "--input-variance"),
    (["deep", "evolve", "--depth", "3", "--sigma-w-sq", "1,2"], "--sigma-w-sq"),
    (["deep", "evolve", "--csv", "--json"], "--csv"),
    (["deep", "simulate", "--width", "1"], "--width"),
    (["deep", "simulate", "--samples", "0"], "--samples"),
    (["deep", "simulate", "--weights", "cauchy"], "--weights"),
    (["deep", "advise", "--encoder", "tanh", "--decoder", "relu", "--depth", "5", "--sigma-w-sq", "-1"],
     "--sigma-w-sq"),
    (["deep", "phase-diagram", "--axes", "w-x"], "--axes"),
    (["deep", "phase-diagram", "--x-range", "3:1"], "--x-range"),
    (["deep", "phase-diagram", "--decoder", "nope"], "--decoder"),
])
def test_bad_input_exit_code_two(capsys, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *args)
    assert code == 2 and err.startswith("error: ") and option in err
    assert not (tmp_path / "runs").exists()  # nothing half-written
