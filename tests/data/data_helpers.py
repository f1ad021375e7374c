"""Helpers of the data tests: IDX and CIFAR writers, a toy registered data set, a loopback HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from aelab.data import registry


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


def write_cifar_archive(path: Path, rng, *, variant: str = "cifar10", n_per_batch: int = 7) -> dict:
    """Write an archive in exactly the official layout: pickled dicts with bytes keys (Python 2 style)."""
    out = {"train": [], "test": []}
    with tarfile.open(path, "w:gz") as tar:
        def add(name, obj):
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        if variant == "cifar10":
            top = "cifar-10-batches-py"
            add(f"{top}/batches.meta", {b"label_names": [n.encode() for n in "abcdefghij"],
                                        b"num_cases_per_batch": n_per_batch, b"num_vis": 3072})
            batches = [(f"data_batch_{i}", "train") for i in range(1, 6)] + [("test_batch", "test")]
            key, n_classes = b"labels", 10
        else:
            top = "cifar-100-python"
            add(f"{top}/meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                                b"coarse_label_names": [f"c{i}".encode() for i in range(20)]})
            batches = [("train", "train"), ("test", "test")]
            key, n_classes = b"fine_labels", 100
        for name, split in batches:
            images = rng.integers(0, 256, (n_per_batch, 32, 32, 3), dtype=np.uint8)
            labels = rng.integers(0, n_classes, n_per_batch).tolist()
            data = images.transpose(0, 3, 1, 2).reshape(n_per_batch, 3072)  # R plane, G plane, B plane
            batch = {b"batch_label": name.encode(), key: labels, b"data": data,
                     b"filenames": [f"{i}.png".encode() for i in range(n_per_batch)]}
            if variant == "cifar100":
                batch[b"coarse_labels"] = [y // 5 for y in labels]
            add(f"{top}/{name}", batch)
            out[split].append((images, np.array(labels)))
    return {s: (np.concatenate([b[0] for b in v]), np.concatenate([b[1] for b in v])) for s, v in out.items()}


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
