"""Loading real data sets: ours against plain baselines, measured in the same run, with the targets.

    python benchmarks/data_load.py [--data-dir ../shared/data] [--quick]

Figures are wall seconds (CPU seconds of this process and its workers in brackets; on a
machine shared with other work the wall times grow, the CPU times much less), BLAS on one
thread, JPEG decoding in 2 worker processes:
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
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from aelab.data import load_dataset  # noqa: E402
from aelab.data.preprocess import flatten, grayscale, to_float  # noqa: E402
from aelab.data.readers import read_idx, read_image_folder  # noqa: E402
from aelab.data.spectra import covariance_spectrum  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (decoding workers), user + system."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(fn, repeat: int = 3) -> tuple[float, float, object]:
    """Smallest wall time of ``repeat`` calls, the CPU time of that call, and the last result."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        c, t = cpu_seconds(), time.perf_counter()
        out = fn()
        wall, used = time.perf_counter() - t, cpu_seconds() - c
        if wall < best:
            best, cpu = wall, used
    return best, cpu, out


def row(what: str, ours: tuple[float, float], baseline: tuple[float, float] | None, base_name: str,
        target: float | None) -> None:
    """One line: wall (CPU) seconds of ours and of the baseline, their ratio, the target."""
    wall, cpu = ours
    ratio = f"{baseline[0] / wall:6.2f}x" if baseline else " " * 7
    verdict = "" if target is None else ("  ok" if wall <= target else "  SLOWER THAN TARGET")
    tgt = f"<= {target:g} s" if target is not None else ""
    base = f"{_t(baseline[0])} ({baseline[1]:.2f} cpu)  {base_name}" if baseline else ""
    print(f"{what:<52} {_t(wall)} ({cpu:6.2f} cpu)  {tgt:<10} {ratio}  {base}{verdict}")


def _t(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms" if seconds < 0.1 else f"{seconds:7.3f} s "


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
    *ours, x = best_of(lambda: read_idx(mnist))
    *base, y = best_of(lambda: bare_idx(mnist))
    assert np.array_equal(x, y)
    row("MNIST train images, gz IDX (read_idx)", ours, base, "gzip + frombuffer, no checks", 1.0)

    *first, _ = best_of(lambda: load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache), repeat=1)
    row("MNIST train, first load (verify, decode, cache)", first, None, "", None)
    *ours, _ = best_of(lambda: load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache), repeat=5)
    images_npy = next((cache / "datasets").glob("mnist-train-*")) / "images.npy"
    *base, _ = best_of(lambda: np.load(images_npy))
    row("MNIST train from the cache (memory map)", ours, base, "np.load into memory", 0.05)
    *touch, _ = best_of(lambda: float(np.asarray(
        load_dataset("mnist", "train", data_dir=data_dir, cache_dir=cache).images).mean()))
    row("  ... and one pass over all pixels", touch, None, "", None)

    zip_path = data_dir / "cifar10-jpeg" / "cifar10-jpeg.zip"
    *ours, cifar = best_of(lambda: {s: load_dataset("cifar10", s, data_dir=data_dir, cache_dir=cache, workers=2)
                                    for s in ("train", "test")}, repeat=1)
    base = None
    if not args.quick:
        *base, serial = best_of(lambda: [read_image_folder(zip_path, s, workers=1) for s in ("train", "test")],
                                repeat=1)
        assert np.array_equal(serial[0].images, cifar["train"].images)
    row("CIFAR-10 60,000 JPEGs, first load (2 workers)", ours, base, "1 process, no cache", 20.0)
    *ours, _ = best_of(lambda: [load_dataset("cifar10", s, data_dir=data_dir, cache_dir=cache)
                                for s in ("train", "test")], repeat=5)
    row("CIFAR-10 train + test from the cache", ours, None, "", 0.2)

    X = flatten(to_float(grayscale(cifar["train"].images)))
    *ours, (w, _) = best_of(lambda: covariance_spectrum(X), repeat=2)
    *base, (w_np, _) = best_of(lambda: np.linalg.eigh(np.cov(X.T, bias=True)), repeat=1)
    assert np.allclose(w, w_np[::-1], rtol=1e-6, atol=1e-10)
    row(f"CIFAR-10 gray covariance + eigh (N={len(X)}, D={X.shape[1]})", ours, base,
        "np.cov + np.linalg.eigh", 5.0)

if __name__ == "__main__":
    main()
