"""Loading real data sets: ours against plain baselines, measured in the same run, with the targets.

    python benchmarks/data_load.py [--data-dir ../shared/data] [--quick]

Figures (BLAS on one thread; JPEG decoding with 2 worker processes):
  * MNIST train images from the gz IDX file (target <= 1 s) vs a bare gzip + frombuffer;
  * MNIST train from the array cache (target <= 50 ms) vs np.load into memory;
  * CIFAR-10 from the 60,000-JPEG zip, first decode (target <= 20 s on 2 cores) vs one process;
    later loads from the cache (target <= 0.2 s);
  * covariance + full eigen-decomposition of CIFAR-10 grayscale train, D = 1024 (target <= 5 s)
    vs np.cov + np.linalg.eigh.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from aelab.data import load_dataset  # noqa: E402
from aelab.data.preprocess import flatten, grayscale, to_float  # noqa: E402
from aelab.data.readers import read_idx, read_image_folder  # noqa: E402
from aelab.data.spectra import covariance_spectrum  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def row(what: str, ours: float, baseline: float | None, base_name: str, target: float | None) -> None:
    ratio = f"{baseline / ours:6.2f}x" if baseline else "      "
    verdict = "" if target is None else ("  ok" if ours <= target else "  SLOWER THAN TARGET")
    tgt = f"target <= {target:g} s" if target is not None else ""
    base = f"{baseline:8.3f} s ({base_name})" if baseline is not None else ""
    print(f"{what:<46} {ours:8.3f} s  {tgt:<16} {ratio}  baseline {base}{verdict}")


def bare_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 28, 28)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("AELAB_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--quick", action="store_true", help="skip the serial CIFAR baseline (the slowest figure)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    cache = Path(tempfile.mkdtemp(prefix="aelab-bench-cache-"))
    load = os.getloadavg()[0]
    print(f"data: {data_dir}; fresh cache: {cache}; cores usable: {len(os.sched_getaffinity(0))}; "
          f"load average {load:.1f} (figures assume an otherwise idle machine)\n")

    mnist = data_dir / "mnist" / "train-images-idx3-ubyte.gz"
    t_ours, x = best_of(lambda: read_idx(mnist))
    t_base, y = best_of(lambda: bare_idx(mnist))
    assert np.array_equal(x, y)
    row("MNIST train images, gz IDX (read_idx)", t_ours, t_base, "gzip+frombuffer, no checks", 1.0)

    t_first, _ = best_of(lambda: load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache), repeat=1)
    row("MNIST train, first load_dataset (verify+decode+cache)", t_first, None, "", None)
    t_cache, d = best_of(lambda: load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache), repeat=5)
    images_npy = next((cache / "datasets").glob("mnist-train-*")) / "images.npy"
    t_np, _ = best_of(lambda: np.load(images_npy))
    row("MNIST train from the cache (memory map)", t_cache, t_np, "np.load into memory", 0.05)
    t_touch, _ = best_of(lambda: float(np.asarray(load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache)
                                                  .images).mean()))
    row("  ... and one pass over all pixels", t_touch, None, "", None)

    zip_path = data_dir / "cifar10-jpeg" / "cifar10-jpeg.zip"
    t = time.perf_counter()
    cifar = {s: load_dataset("cifar10", s, data_dir=data_dir, cache_dir=cache, workers=2) for s in ("train", "test")}
    t_decode = time.perf_counter() - t
    t_serial = None
    if not args.quick:
        t = time.perf_counter()
        serial = read_image_folder(zip_path, "test", workers=1), read_image_folder(zip_path, "train", workers=1)
        t_serial = time.perf_counter() - t
        assert np.array_equal(serial[1].images, cifar["train"].images)
    row("CIFAR-10 60,000 JPEGs, first load (2 workers)", t_decode, t_serial, "1 process, no cache", 20.0)
    t_cached, _ = best_of(lambda: [load_dataset("cifar10", s, data_dir=data_dir, cache_dir=cache)
                                   for s in ("train", "test")], repeat=5)
    row("CIFAR-10 train+test from the cache", t_cached, None, "", 0.2)

    X = flatten(to_float(grayscale(cifar["train"].images)))
    t_ours, (w, _) = best_of(lambda: covariance_spectrum(X), repeat=2)

    def baseline():
        return np.linalg.eigh(np.cov(X.T, bias=True))

    t_base, (w_np, _) = best_of(baseline, repeat=1)
    assert np.allclose(w, w_np[::-1], rtol=1e-6, atol=1e-10)
    row(f"CIFAR-10 grayscale covariance + eigh, N={len(X)}, D={X.shape[1]}", t_ours, t_base,
        "np.cov + np.linalg.eigh", 5.0)


if __name__ == "__main__":
    main()
