"""``aelab data``: help, list, info, fetch, verify, spectrum, where, clean; exit codes and messages."""

from __future__ import annotations

import json

import pytest

from aelab.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["data", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_shows_how_to_get_data(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for word in ("list", "fetch", "verify", "spectrum", "where", "--source", "AELAB_DATA"):
        assert word in out
    code, out, _ = run(capsys, "fetch", "--help")
    assert code == 0 and "--source" in out and "--data-dir" in out


def test_fetch_list_verify_info(capsys, toy, tmp_path):
    mirror = toy.write(tmp_path / "mirror")
    data = tmp_path / "data"
    code, out, _ = run(capsys, "fetch", "toy", "--source", mirror, "--data-dir", data, "--quiet")
    assert code == 0 and sorted(p.name for p in (data / "toy").iterdir()) == sorted(toy.files)
    code, out, err = run(capsys, "fetch", "toy", "--source", mirror, "--data-dir", tmp_path / "loud")
    assert code == 0 and "4 file(s) verified" in out and "train-images-idx3-ubyte.gz" in err  # progress bars
    code, out, _ = run(capsys, "list", "--data-dir", data)
    assert code == 0 and "verified (idx)" in out and "mnist" in out
    code, out, _ = run(capsys, "verify", "toy", "--data-dir", data)
    assert code == 0 and out.count("ok") == 4
    code, out, _ = run(capsys, "info", "toy", "--data-dir", data)
    assert code == 0 and toy.spec().forms[0].files[0].sha256[0] in out
    (data / "toy" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"oops")
    code, out, err = run(capsys, "verify", "--data-dir", data)
    assert code == 2 and "MISMATCH" in out and "t10k-labels-idx1-ubyte.gz" in err and err.startswith("error:")


def test_errors_have_exit_codes(capsys, toy, tmp_path, server):
    code, _, err = run(capsys, "fetch", "imagenet")
    assert code == 2 and "unknown data set 'imagenet'" in err
    code, _, err = run(capsys, "verify", "toy", "--data-dir", tmp_path)
    assert code == 2 and "aelab data fetch toy" in err
    code, _, err = run(capsys, "fetch", "toy", "--source", tmp_path / "nothing")
    assert code == 2 and "--source" in err
    # a network failure is not bad input: exit code 1
    code, _, err = run(capsys, "fetch", "toy", "--source", server.url + "/", "--data-dir", tmp_path,
                       "--retries", "0", "--timeout", "1", "--quiet")
    assert code == 1 and "HTTP 404" in err
    assert not any(tmp_path.rglob("*.part"))


def test_spectrum_command(capsys, toy, tmp_path):
    toy.write(tmp_path / "data" / "toy")
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "spectrum", "toy", "--split", "test", "--steps", "to_float,flatten", "--out",
                       out_dir, "--data-dir", tmp_path / "data")
    assert code == 0 and "D = 20" in out
    assert {p.name for p in out_dir.iterdir()} >= {"eigenvalues.csv", "spectrum.png", "config.json", "meta.json"}
    assert json.loads((out_dir / "config.json").read_text())["steps"] == "to_float,flatten"
    lines = (out_dir / "eigenvalues.csv").read_text().splitlines()
    assert lines[0] == "rank,eigenvalue" and len(lines) == 21
    code, _, err = run(capsys, "spectrum", "toy", "--steps", "blur", "--out", out_dir, "--data-dir", tmp_path / "data")
    assert code == 2 and "unknown step 'blur'" in err


def test_where_and_clean(capsys, toy, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AELAB_DATA", str(tmp_path / "data"))
    code, out, _ = run(capsys, "where")
    assert code == 0 and str(tmp_path / "data") in out and str(tmp_path / "cache") in out
    toy.write(tmp_path / "data" / "toy")
    from aelab.data import load_dataset

    load_dataset("toy", "test")
    assert (tmp_path / "cache" / "datasets").is_dir()
    code, out, _ = run(capsys, "clean")
    assert code == 0 and "removed" in out and not (tmp_path / "cache" / "datasets").exists()


@pytest.mark.data
def test_list_the_shared_folder(capsys, shared_data):
    code, out, _ = run(capsys, "list", "--data-dir", shared_data)
    assert code == 0
    assert out.count("verified (idx)") == 2 and "verified (jpeg-zip)" in out
