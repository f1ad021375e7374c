"""Verified fetching: a real HTTP server on the loopback interface, local mirrors, no half-written files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from data_helpers import Toy, sha

from aelab.data import registry
from aelab.data.checksums import ChecksumError
from aelab.data.download import DownloadError, dataset_state, fetch, status, verify
from aelab.errors import ConfigError

FAST = {"retries": 1, "timeout": 0.4, "backoff": 0.01, "quiet": True}


def _serve_toy(server, toy: Toy, monkeypatch, *, behaviours=None, mirrors=("/a/",)) -> None:
    """Register ``toy`` with the server's addresses; every file served correctly unless overridden."""
    monkeypatch.setitem(registry.REGISTRY, "toy", toy.spec(urls=tuple(server.url + m for m in mirrors)))
    for name, data in toy.files.items():
        server.routes[f"{mirrors[0]}{name}"] = [("ok", data)]
    for path, route in (behaviours or {}).items():
        server.routes[path] = route


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_good_files(server, toy, monkeypatch, tmp_path):
    _serve_toy(server, toy, monkeypatch)
    files = fetch("toy", data_dir=tmp_path, **FAST)
    assert [f.name for f in files] == list(toy.files)
    for f in files:
        assert f.read_bytes() == toy.files[f.name]
    assert _listing(tmp_path / "toy") == sorted(toy.files)  # no .part files left
    assert dataset_state(status("toy", data_dir=tmp_path)) == "verified (idx)"
    hits = dict(server.hits)
    fetch("toy", data_dir=tmp_path, **FAST)  # present and verified: nothing downloaded
    assert server.hits == hits
    fetch("toy", data_dir=tmp_path, force=True, **FAST)
    assert sum(server.hits.values()) == 2 * sum(hits.values())


@pytest.mark.parametrize("behaviour, error, fragment", [
    ([("truncate", None, 20)], DownloadError, "truncated: 20 of"),
    ([("ok", b"x" * 5000)], ChecksumError, "expected " + "{sha}"),
    ([("status", 404)], DownloadError, "HTTP 404"),
    ([("stall", None)], DownloadError, "stalled: no data for 0.4 s"),
    ([("hang",)], DownloadError, "timed out after 0.4 s"),
    ([("status", 503)], DownloadError, "HTTP 503"),
])
def test_download_failures_leave_nothing(server, toy, monkeypatch, tmp_path, behaviour, error, fragment):
    name = "train-labels-idx1-ubyte.gz"
    body = toy.files[name]
    route = [tuple(body if v is None else v for v in b) for b in behaviour]
    _serve_toy(server, toy, monkeypatch, behaviours={f"/a/{name}": route})
    start = time.monotonic()
    with pytest.raises(error) as err:
        fetch("toy", data_dir=tmp_path, **FAST)
    assert time.monotonic() - start < 8.0
    message = str(err.value)
    assert name in message and fragment.format(sha=sha(body)) in message
    # the good file fetched before the failure is complete and verified; nothing else is there
    assert _listing(tmp_path / "toy") == ["train-images-idx3-ubyte.gz"]
    assert not list(tmp_path.rglob("*.part"))


def test_transient_failures_are_retried(server, toy, monkeypatch, tmp_path):
    name = "t10k-images-idx3-ubyte.gz"
    body = toy.files[name]
    _serve_toy(server, toy, monkeypatch, behaviours={
        f"/a/{name}": [("status", 500), ("truncate", body, 10), ("ok", body)]})
    fetch("toy", data_dir=tmp_path, retries=2, timeout=2.0, backoff=0.01, quiet=True)
    assert server.hits[f"/a/{name}"] == 3
    assert (tmp_path / "toy" / name).read_bytes() == body


def test_next_mirror_after_404_or_wrong_bytes(server, toy, monkeypatch, tmp_path):
    _serve_toy(server, toy, monkeypatch, mirrors=("/a/", "/b/"))
    first, second = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
    server.routes[f"/a/{first}"] = [("status", 404)]
    server.routes[f"/b/{first}"] = [("ok", toy.files[first])]
    server.routes[f"/a/{second}"] = [("ok", b"not the labels")]
    server.routes[f"/b/{second}"] = [("ok", toy.files[second])]
    fetch("toy", data_dir=tmp_path, **FAST)
    assert server.hits[f"/a/{first}"] == 1  # 404 and a wrong checksum are not retried on the same mirror
    assert server.hits[f"/a/{second}"] == 1
    assert (tmp_path / "toy" / first).read_bytes() == toy.files[first]


def test_connection_refused_is_a_download_error(toy, monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(registry.REGISTRY, "toy", toy.spec(urls=(f"http://127.0.0.1:{port}/",)))
    with pytest.raises(DownloadError, match="(2 attempts)"):
        fetch("toy", data_dir=tmp_path, **FAST)
    assert not (tmp_path / "toy").exists()  # the folder created for the fetch is removed again


def test_source_url_base_and_file_address(server, toy, monkeypatch, tmp_path):
    _serve_toy(server, toy, monkeypatch, mirrors=("/mirror/",))
    monkeypatch.setitem(registry.REGISTRY, "toy", toy.spec())  # no registered addresses
    with pytest.raises(ConfigError, match="no public address; use --source"):
        fetch("toy", data_dir=tmp_path, **FAST)
    fetch("toy", source=server.url + "/mirror/", data_dir=tmp_path / "one", **FAST)
    fetch("toy", source=server.url + "/mirror/train-images-idx3-ubyte.gz", data_dir=tmp_path / "two", **FAST)
    for d in ("one", "two"):
        assert _listing(tmp_path / d / "toy") == sorted(toy.files)


def test_local_mirror_folder_file_and_parent(toy, tmp_path):
    mirror = toy.write(tmp_path / "mirror" / "toy")
    fetch("toy", source=mirror, data_dir=tmp_path / "a", quiet=True)
    fetch("toy", source=mirror.parent, data_dir=tmp_path / "b", quiet=True)  # holds toy/
    fetch("toy", source=mirror / "t10k-images-idx3-ubyte.gz", data_dir=tmp_path / "c", quiet=True)
    for d in "abc":
        assert _listing(tmp_path / d / "toy") == sorted(toy.files)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="does not hold the files of toy"):
        fetch("toy", source=tmp_path / "empty", data_dir=tmp_path / "d", quiet=True)
    with pytest.raises(ConfigError, match="no such folder or file, and not a URL"):
        fetch("toy", source=tmp_path / "nowhere", data_dir=tmp_path / "d", quiet=True)
    stray = tmp_path / "stray.bin"
    stray.write_bytes(b"")
    with pytest.raises(ConfigError, match="not a file of toy"):
        fetch("toy", source=stray, data_dir=tmp_path / "d", quiet=True)


def test_corrupted_mirror_file_is_rejected_and_bad_local_file_replaced(toy, tmp_path):
    mirror = toy.write(tmp_path / "mirror")
    name = "t10k-labels-idx1-ubyte.gz"
    good = toy.files[name]
    (mirror / name).write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ChecksumError, match=f"{name}: could not fetch: .*expected {sha(good)}"):
        fetch("toy", source=mirror, data_dir=tmp_path / "d", quiet=True)
    assert not (tmp_path / "d" / "toy" / name).exists()
    (mirror / name).write_bytes(good)
    fetch("toy", source=mirror, data_dir=tmp_path / "d", quiet=True)
    target = tmp_path / "d" / "toy" / name
    target.write_bytes(b"damaged")
    assert [s.state for s in verify("toy", data_dir=tmp_path / "d") if s.file == name] == ["mismatch"]
    assert dataset_state(verify("toy", data_dir=tmp_path / "d")) == "corrupt"
    fetch("toy", source=mirror, data_dir=tmp_path / "d", quiet=True)  # replaces the damaged file
    assert target.read_bytes() == good


def test_status_notices_a_changed_file(toy, tmp_path):
    toy.write(tmp_path / "toy")
    assert dataset_state(status("toy", data_dir=tmp_path)) == "verified (idx)"
    path = tmp_path / "toy" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes() + b"\x00")  # size changes: hashed again
    assert dataset_state(status("toy", data_dir=tmp_path)) == "corrupt"
    path.unlink()
    assert dataset_state(status("toy", data_dir=tmp_path)) == "incomplete"


def test_fetch_bad_arguments(toy, tmp_path):
    with pytest.raises(ConfigError, match="unknown data set 'nope'"):
        fetch("nope", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="--retries"):
        fetch("toy", retries=-1, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="--timeout"):
        fetch("toy", timeout=0, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="--form: toy has no form 'png'"):
        fetch("toy", form="png", source=tmp_path, data_dir=tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="--data-dir .*cannot create"):
        fetch("toy", source=toy.write(tmp_path / "m"), data_dir=blocker, quiet=True)


@pytest.mark.data
def test_fetch_from_the_shared_mirror(shared_data, tmp_path):
    files = fetch("mnist", source=shared_data / "mnist", data_dir=tmp_path, quiet=True)
    assert len(files) == 4
    assert dataset_state(verify("mnist", data_dir=tmp_path)) == "verified (idx)"
    files = fetch("cifar10", source=shared_data, data_dir=tmp_path, quiet=True)  # finds cifar10-jpeg/
    assert files == [tmp_path / "cifar10-jpeg" / "cifar10-jpeg.zip"]


def test_interrupted_transfer_leaves_nothing(toy, tmp_path, monkeypatch):
    """Ctrl-C in the middle of a file: the exception propagates, no .part file, no new folder."""
    import io

    import aelab.data.download as fetch_module

    class Interrupting(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise KeyboardInterrupt
            return super().read(8)

    monkeypatch.setattr(fetch_module, "_open", lambda source, timeout: (Interrupting(b"x" * 100), 100))
    with pytest.raises(KeyboardInterrupt):
        fetch("toy", source=toy.write(tmp_path / "mirror"), data_dir=tmp_path / "d", quiet=True)
    assert not (tmp_path / "d" / "toy").exists()
