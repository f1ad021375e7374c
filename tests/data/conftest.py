"""Fixtures of the data tests: isolated data/cache folders, a toy registered data set, a loopback HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aelab.data import registry


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One array cache for the whole session: real data sets are decoded at most once."""
    return tmp_path_factory.mktemp("aelab-cache")


@pytest.fixture(scope="session")
def cifar(shared_data, session_cache) -> dict:
    """CIFAR-10 from the shared JPEG zip, decoded once for the whole session: {split: Dataset}."""
    from aelab.data import load_dataset

    return {s: load_dataset("cifar10", s, data_dir=shared_data, cache_dir=session_cache) for s in ("train", "test")}


@pytest.fixture(autouse=True)
def _isolated_dirs(monkeypatch, tmp_path, session_cache):
    """Never touch the user's folders: an empty data directory, the session's cache."""
    empty = tmp_path / "empty-data-dir"
    monkeypatch.setenv("AELAB_DATA", str(empty))
    monkeypatch.setenv("AELAB_CACHE", str(session_cache))
    yield


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file (big-endian, magic 00 00 type ndim) holding ``array``."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = codes[big.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + big.tobytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Toy:
    """A small IDX data set registered as ``toy`` for the duration of a test."""

    def __init__(self, seed: int = 0, n_train: int = 60, n_test: int = 20):
        rng = np.random.default_rng(seed)
        self.images = {"train": rng.integers(0, 256, (n_train, 5, 4), dtype=np.uint8),
                       "test": rng.integers(0, 256, (n_test, 5, 4), dtype=np.uint8)}
        self.labels = {s: rng.integers(0, 3, len(x)).astype(np.uint8) for s, x in self.images.items()}
        self.files = {
            "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(self.images["train"]), mtime=0),
            "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(self.labels["train"]), mtime=0),
            "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(self.images["test"]), mtime=0),
            "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(self.labels["test"]), mtime=0),
        }

    def spec(self, urls: tuple[str, ...] = ()) -> registry.DatasetSpec:
        mnist = registry.REGISTRY["mnist"]
        form = mnist.forms[0]
        files = tuple(registry.FileSpec(name, (sha(data),), len(data), tuple(u + name for u in urls))
                      for name, data in self.files.items())
        return replace(mnist, name="toy", description="toy data", classes=("a", "b", "c"),
                       shapes={s: x.shape for s, x in self.images.items()},
                       forms=(replace(form, folder="toy", files=files),))

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        return folder


@pytest.fixture
def toy(monkeypatch) -> Toy:
    """The ``toy`` data set in the registry (no addresses); its files are in ``toy.files``."""
    t = Toy()
    monkeypatch.setitem(registry.REGISTRY, "toy", t.spec())
    return t


class LoopbackServer:
    """An HTTP server on 127.0.0.1 with scripted routes, run in a thread by the test.

    A route maps a path to a list of behaviours, used in turn (the last one repeats):
    ("ok", body), ("truncate", body, n_bytes_sent), ("status", code), ("stall", body) (headers and
    10 bytes, then silence), ("hang",) (no answer at all).
    """

    def __init__(self):
        self.routes: dict[str, list[tuple]] = {}
        self.hits: dict[str, int] = {}
        self.stop = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                behaviours = outer.routes.get(self.path)
                count = outer.hits.get(self.path, 0)
                outer.hits[self.path] = count + 1
                if not behaviours:
                    self.send_error(404)
                    return
                kind, *args = behaviours[min(count, len(behaviours) - 1)]
                if kind == "status":
                    self.send_error(args[0])
                    return
                if kind == "hang":  # accept the connection, never answer (bounded: released at teardown)
                    outer.stop.wait(10.0)
                    return
                body = args[0]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if kind == "ok":
                    self.wfile.write(body)
                elif kind == "truncate":
                    self.wfile.write(body[: args[1]])
                    self.wfile.flush()
                    self.close_connection = True
                elif kind == "stall":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    outer.stop.wait(10.0)  # bounded: released at teardown

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = LoopbackServer()
    try:
        yield s
    finally:
        s.close()
