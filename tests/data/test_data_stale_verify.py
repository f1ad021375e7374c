"""A failed verification is not forgotten: a file changed with its size and modification time
kept loses its "verified" mark and the arrays decoded from it, in the library and the CLI."""

from __future__ import annotations

import os

import numpy as np
import pytest

from aelab.cli import main
from aelab.data import load_dataset
from aelab.data.checksums import ChecksumError
from aelab.data.download import dataset_state, status, verify


def tamper_keeping_size_and_mtime(path):
    """Change bytes in the middle of ``path`` with its size and modification time unchanged."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_failed_verification_drops_the_mark_and_the_cached_arrays(toy, tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    folder = toy.write(data / "toy")
    first = load_dataset("toy", "train", data_dir=data, cache_dir=cache)
    np.testing.assert_array_equal(first.images, toy.images["train"])
    load_dataset("toy", "test", data_dir=data, cache_dir=cache)
    assert dataset_state(status("toy", data_dir=data, cache_dir=cache)) == "verified (idx)"
    del first

    bad = folder / "train-images-idx3-ubyte.gz"
    tamper_keeping_size_and_mtime(bad)
    # the cheap record cannot see such a change; this is what `verify` is for
    assert dataset_state(status("toy", data_dir=data, cache_dir=cache)) == "verified (idx)"

    states = {s.file: s.state for s in verify("toy", data_dir=data, cache_dir=cache)}
    assert states[bad.name] == "mismatch" and list(states.values()).count("ok") == 3
    assert dataset_state(status("toy", data_dir=data, cache_dir=cache)) == "corrupt"  # not "verified" any more
    cached = sorted(p.name.split("-")[1] for p in (cache / "datasets").iterdir())
    assert cached == ["test"]  # the train arrays came from the old bytes: gone; test is untouched
    with pytest.raises(ChecksumError, match=bad.name):
        load_dataset("toy", "train", data_dir=data, cache_dir=cache)  # no old cache served
    assert len(load_dataset("toy", "test", data_dir=data, cache_dir=cache)) == 20


def test_cli_verify_then_list_and_load(capsys, toy, tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("AELAB_CACHE", str(cache))
    folder = toy.write(data / "toy")
    load_dataset("toy", "test", data_dir=data)
    assert main(["data", "list", "--data-dir", str(data)]) == 0
    assert "verified (idx)" in capsys.readouterr().out
    tamper_keeping_size_and_mtime(folder / "t10k-labels-idx1-ubyte.gz")

    assert main(["data", "verify", "toy", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and "t10k-labels-idx1-ubyte.gz" in err
    assert main(["data", "list", "--data-dir", str(data)]) == 0
    listing = capsys.readouterr().out
    rows = [line.replace("│", " ").replace("┃", " ").split() for line in listing.splitlines()]
    toy_line = " ".join(next(row for row in rows if row and row[0] == "toy"))
    assert "corrupt" in toy_line and "verified" not in toy_line
    with pytest.raises(ChecksumError):
        load_dataset("toy", "test", data_dir=data)
