"""The training loop's cost per step against a bare torch loop over the same model, and steps/s.

    python benchmarks/train_step.py [--quick] [--device cpu|cuda] [--threads N]

Figures (torch on one thread unless --threads):
  * overhead of :class:`aelab.train.loop.Trainer` (batch addressing, gradient norm, finiteness
    checks, loss bookkeeping, progress bar; not the test-loss evaluations of the history rows,
    a forward pass over the test subset every ``log_every`` steps) over a bare loop (index a batch, forward, loss,
    backward, step) on the same model, data and optimiser, measured in the same run with the two
    loops interleaved, in process CPU time on a CPU (steadier than wall time on a shared
    machine; wall time is printed beside it) and wall time on a GPU; target <= 5 %. Two models: a small one (where fixed costs show most) and
    the paper's (encoder depth 100, width 400, batch 250);
  * steps/s of the paper's model (weight-tied, tanh/ReLU, SGD) with the loop, per CPU time
    (what the machine does when it is not shared) and per wall time.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from aelab.progress import progress_bar  # noqa: E402
from aelab.train.init import initialise  # noqa: E402
from aelab.train.loop import EpochSampler, Trainer, make_optimizer, normalised_loss  # noqa: E402
from aelab.train.models import DeepAutoencoder  # noqa: E402


def make(depth: int, width: int, device: torch.device, seed: int = 0):
    model = DeepAutoencoder([784] + [width] * depth, encoder="tanh", decoder="tanh", bottleneck="relu")
    initialise(model, "gaussian", sigma_w_sq=1.05, sigma_b_sq=2e-5, generator=torch.Generator().manual_seed(seed))
    return model.to(device)


def bare_loop(model, opt, x, sampler: EpochSampler, start: int, steps: int) -> None:
    """The baseline: what any torch training loop does, nothing more."""
    for step in range(start, start + steps):
        xb = x.index_select(0, sampler.indices(step))
        loss = normalised_loss(model(xb), xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def compare(depth: int, width: int, batch: int, steps: int, reps: int, device: torch.device) -> dict[str, float]:
    """Seconds per step of the bare loop and of ours, interleaved ``reps`` times (medians).

    Both wall time and process CPU time are measured: on a shared machine the CPU time is the
    steadier figure (other processes' load inflates wall time at random).
    """
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((4 * batch, 784), dtype=np.float32)).to(device)
    x_test = x[:1]  # each run() ends with a history row; its test evaluation is not step overhead
    m_bare, m_loop = make(depth, width, device), make(depth, width, device)
    o_bare = make_optimizer(m_bare.parameters(), "sgd", 1e-3, 0.9)
    o_loop = make_optimizer(m_loop.parameters(), "sgd", 1e-3, 0.9)
    sampler = EpochSampler(len(x), batch, (0, 0), device=device)
    trainer = Trainer(m_loop, o_loop, x, x_test, batch_size=batch, seed=(0, 0), log_every=10**9)
    times: dict[str, list[float]] = {"bare_wall": [], "loop_wall": [], "bare_cpu": [], "loop_cpu": []}

    def timed(name: str, fn) -> None:
        sync(device)
        w, c = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        times[f"{name}_wall"].append((time.perf_counter() - w) / steps)
        times[f"{name}_cpu"].append((time.process_time() - c) / steps)

    bare_loop(m_bare, o_bare, x, sampler, 0, 2)  # warm-up both
    with progress_bar("benchmark", total=(reps * steps + 2), quiet=False) as bar:
        trainer.run(2, progress=bar)
        done = 2
        for _ in range(reps):
            timed("bare", lambda: bare_loop(m_bare, o_bare, x, sampler, done, steps))
            timed("loop", lambda: trainer.run(done + steps, progress=bar))
            done += steps
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a rough figure)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: 1 on CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads or 1)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    small = (10, 256, 128, 20 if args.quick else 100, 3 if args.quick else 7)
    paper = (100, 400, 250, 2 if args.quick else 5, 2 if args.quick else 3)
    if device.type == "cuda":
        paper = (100, 400, 250, 20 if args.quick else 100, 3 if args.quick else 5)
    results = []
    for name, (depth, width, batch, steps, reps) in (("small", small), ("paper", paper)):
        results.append((name, depth, width, batch, compare(depth, width, batch, steps, reps, device)))
    clock = "wall" if device.type == "cuda" else "cpu"
    print(f"{'model':<7}{'depth':>6}{'width':>6}{'batch':>6}{'bare s/step':>13}{'loop s/step':>13}"
          f"{'overhead':>10}{'(wall)':>9}{'steps/s':>9}{'(wall)':>8}  target overhead <= 5 % ({clock} time)")
    for name, depth, width, batch, t in results:
        overhead = t[f"loop_{clock}"] / t[f"bare_{clock}"] - 1.0
        wall = t["loop_wall"] / t["bare_wall"] - 1.0
        verdict = "ok" if overhead <= 0.05 else "ABOVE TARGET"
        print(f"{name:<7}{depth:>6}{width:>6}{batch:>6}{t[f'bare_{clock}']:>13.4f}{t[f'loop_{clock}']:>13.4f}"
              f"{100 * overhead:>9.1f}%{100 * wall:>8.1f}%{1 / t[f'loop_{clock}']:>9.2f}{1 / t['loop_wall']:>8.2f}  {verdict}")


if __name__ == "__main__":
    main()
