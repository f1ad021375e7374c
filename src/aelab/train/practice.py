"""The practitioners' comparison: do deep autoencoders still need layer-wise pretraining?

A fixed budget of optimiser steps, over a grid of data set (MNIST, Fashion-MNIST) x encoder depth
x activation (tanh, sigmoid, ReLU, leaky ReLU) x method x optimiser (SGD with momentum, Adam) x
seed, for untied autoencoders with a linear code layer and a linear output. Methods:

* ``xavier``, ``he``, ``orthogonal``: plain initialisations;
* ``advisor``: the Gaussian variances Li & Nguyen's theory recommends (:mod:`aelab.deep.advisor`);
* ``pretrain``: greedy layer-wise pretraining, then fine-tuning, in the same compute: each layer
  is pretrained for half the step budget (a step of one layer costs about 1/L of a step of the
  whole network, so pretraining all L layers costs about half the budget) and the network is
  fine-tuned for the other half;
* ``batchnorm``, ``residual``: the activation's usual initialisation (He for ReLU-like, Xavier
  otherwise) plus batch normalisation or residual connections.

Every run reports the final normalised test loss, its wall time and its CPU time (pretraining
included; on a shared machine the CPU time is the steadier measure of cost). The runs are a
sweep (:mod:`aelab.sweep`) in ``runs/``, so an interrupted study continues where it stopped.
The study writes ``results.csv`` (one row per run), ``summary.csv`` (mean and standard error
over seeds), ``tables.md`` (the final losses and CPU times as Markdown tables), the figures
``final_loss.png`` and ``loss_vs_time.png`` and ``answer.json`` (how often pretraining wins).
Runs use one torch thread (the models are small) and are timed from model construction to the
last evaluation, the data being loaded beforehand.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Grid", "GRIDS", "METHODS", "run_comparison", "summarise", "answer", "markdown_tables"]

METHODS = ("xavier", "he", "orthogonal", "advisor", "pretrain", "batchnorm", "residual")
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")
_KEY = ("dataset", "depth", "activation", "method", "optimizer", "seed")


@dataclass(frozen=True)
class Grid:
    """The comparison's grid and budget.

    Attributes:
        datasets, depths, activations, methods, optimizers, seeds: the factors.
        width, code: hidden width and code (bottleneck) width.
        steps, batch_size: the budget in optimiser steps of ``batch_size`` images.
        lr: learning rate per optimiser (SGD uses momentum 0.9).
        n_train, n_test, log_every: data used and test-loss resolution.
    """

    name: str
    datasets: tuple[str, ...]
    depths: tuple[int, ...]
    activations: tuple[str, ...] = ACTIVATIONS
    methods: tuple[str, ...] = METHODS
    optimizers: tuple[str, ...] = ("sgd", "adam")
    seeds: tuple[int, ...] = (0, 1)
    width: int = 64
    code: int = 16
    steps: int = 1000
    batch_size: int = 100
    lr: tuple[tuple[str, float], ...] = (("sgd", 0.01), ("adam", 1e-3))
    n_train: int | None = None
    n_test: int | None = 1000
    log_every: int = 100


GRIDS: dict[str, Grid] = {
    "full": Grid("full", datasets=("mnist", "fashion-mnist"), depths=(4, 16)),
    "quick": Grid("quick", datasets=("mnist", "fashion-mnist"), depths=(3,), seeds=(0,), width=32, code=8,
                  steps=40, batch_size=50, n_train=1000, n_test=200, log_every=20),
}


def _usual_init(activation: str) -> str:
    return "he" if activation.startswith(("relu", "leaky")) else "xavier"


def make_config(grid: Grid, dataset: str, depth: int, activation: str, method: str, optimizer: str, seed: int,
                data_dir: str | None = None):
    """The :class:`~aelab.train.config.TrainConfig` of one cell of the grid."""
    from aelab.train.config import TrainConfig

    widths = [grid.width] * (depth - 1) + [grid.code]
    steps, init = grid.steps, {"scheme": method}
    model = {"depth": depth, "width": widths, "encoder": activation, "decoder": activation,
             "bottleneck": "linear", "output": "linear", "tied": False}
    if method == "pretrain":
        init["pretrain_steps"] = max(1, grid.steps // 2)
        steps = grid.steps - grid.steps // 2
    elif method in ("batchnorm", "residual"):
        init = {"scheme": _usual_init(activation)}
        model["batch_norm" if method == "batchnorm" else "residual"] = True
    return TrainConfig.model_validate({
        "data": {"name": dataset, "data_dir": data_dir, "n_train": grid.n_train, "n_test": grid.n_test},
        "model": model,
        "init": init,
        "train": {"optimizer": optimizer, "lr": dict(grid.lr)[optimizer], "momentum": 0.9 if optimizer == "sgd" else 0.0,
                  "batch_size": grid.batch_size, "steps": steps, "loss": "normalised", "seed": seed,
                  "log_every": grid.log_every},
    })


def run_comparison(grid: Grid | str, out_dir: str | Path, *, seed: int = 0, quiet: bool = False,
                   data_dir: str | None = None):
    """Run every cell of ``grid`` (seeds offset by ``seed``); write the tables and figures; return the results.

    The runs are a sweep (:mod:`aelab.sweep`) in ``runs/``, one run folder per cell under
    ``runs/points/``: running the study again reuses the finished runs and runs the others.
    """
    import pandas as pd
    import torch

    from aelab.results import RunFolder
    from aelab.train.config import DataSection
    from aelab.train.data import load_arrays
    from aelab.train.study import pending_configs, run_study_grid, study_grid

    grid = GRIDS[grid] if isinstance(grid, str) else grid
    folder = RunFolder(out_dir)
    folder.write_config({"grid": asdict(grid), "seed": seed})
    study = study_grid(f"pretraining-question-{grid.name}",
                       [[{"dataset": d} for d in grid.datasets], [{"depth": d} for d in grid.depths],
                        # the method's configuration depends on the activation (batch norm and residual
                        # take its usual initialisation): one dimension for the pair
                        [{"activation": a, "method": m} for a, m in itertools.product(grid.activations, grid.methods)],
                        [{"optimizer": o} for o in grid.optimizers], [{"seed": seed + s} for s in grid.seeds]],
                       lambda **cell: make_config(grid, **cell, data_dir=data_dir))
    root = Path(out_dir) / "runs"
    for dataset in grid.datasets:  # load (and cache) the data before any run is timed
        load_arrays(DataSection(name=dataset, data_dir=data_dir, n_train=grid.n_train, n_test=grid.n_test))
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: threads cost more than they give, and much more on a busy machine
    try:
        todo = pending_configs(study, root)
        if todo:  # warm torch up, so that the first timed run is not charged for it
            _warm_up(todo[0])
        runs = run_study_grid(study, root, quiet=quiet)
    finally:
        torch.set_num_threads(threads)
    # the sweep's points are in the order of the product of the factors, as the rows
    diverged = runs["outcome"] == "diverged"
    results = pd.DataFrame({
        **{k: runs[k] for k in _KEY},
        "final_test_loss": runs["final_test_loss"],
        "min_test_loss": runs["min_test_loss"].where(~diverged),
        "status": runs["outcome"],
        "note": runs["note"].fillna(""),
        "seconds": runs["wall_seconds"],
        "cpu_seconds": runs["cpu_seconds"],
    })
    folder.write_table("results.csv", results)
    summary = summarise(results)
    folder.write_table("summary.csv", summary)
    verdict = answer(summary)
    folder.write_json("answer.json", verdict)
    folder.write_text("tables.md", markdown_tables(summary, grid))
    _plot_losses(summary, grid, folder.file("final_loss.png"))
    _plot_time(summary, folder.file("loss_vs_time.png"))
    folder.finish(seeds=[seed + s for s in grid.seeds], timings_s={"total": time.perf_counter() - start},
                  answer=verdict)
    return results


def _warm_up(config) -> None:
    """A short run of ``config`` in memory (torch's first steps in a process are slow)."""
    from aelab.errors import ConfigError, DivergenceError
    from aelab.train.config import TrainConfig
    from aelab.train.training import run_training

    data = config.model_dump(mode="json")
    data["train"]["steps"] = min(data["train"]["steps"], 20)
    data["init"]["pretrain_steps"] = min(data["init"]["pretrain_steps"], 20)
    try:
        run_training(TrainConfig.model_validate(data), None, quiet=True)
    except (DivergenceError, ConfigError):
        pass


def summarise(results):
    """Mean and standard error over seeds of the final test loss, and the mean wall and CPU times, per cell."""
    import numpy as np

    keys = [k for k in _KEY if k != "seed"]

    def sem(values) -> float:
        v = np.asarray(values, dtype=float)
        return float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 and np.isfinite(v).all() else math.nan

    if "cpu_seconds" not in results:  # results of a version that did not record it
        results = results.assign(cpu_seconds=math.nan)
    grouped = results.groupby(keys, sort=False)
    summary = grouped.agg(
        final_test_loss=("final_test_loss", "mean"),
        final_test_loss_sem=("final_test_loss", sem),
        seconds=("seconds", "mean"),
        cpu_seconds=("cpu_seconds", "mean"),
        runs=("final_test_loss", "size"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        status=("status", lambda s: ",".join(sorted(set(s)))),
    ).reset_index()
    return summary


def answer(summary) -> dict[str, Any]:
    """How often layer-wise pretraining beats the best method without it, per depth and optimiser.

    For every (data set, depth, activation, optimiser) the best final test loss without
    pretraining is compared with pretraining's; a ratio < 1 means pretraining wins.
    """
    import numpy as np

    out: dict[str, Any] = {"cells": []}
    keys = ["dataset", "depth", "activation", "optimizer"]
    for values, rows in summary.groupby(keys, sort=False):
        pre = rows[rows["method"] == "pretrain"]["final_test_loss"]
        rest = rows[(rows["method"] != "pretrain") & np.isfinite(rows["final_test_loss"].astype(float))]
        if pre.empty or rest.empty:
            continue
        best = rest.loc[rest["final_test_loss"].idxmin()]
        out["cells"].append({**dict(zip(keys, (v.item() if hasattr(v, "item") else v for v in values))),
                             "pretrain": float(pre.iloc[0]), "best_other": float(best["final_test_loss"]),
                             "best_other_method": str(best["method"]),
                             "ratio": float(pre.iloc[0] / best["final_test_loss"])})
    by: dict[str, Any] = {}
    for cell in out["cells"]:
        key = f"depth {cell['depth']}, {cell['optimizer']}"
        entry = by.setdefault(key, {"cells": 0, "pretrain_wins": 0, "ratios": []})
        entry["cells"] += 1
        entry["pretrain_wins"] += int(cell["ratio"] < 1.0)
        entry["ratios"].append(cell["ratio"])
    for entry in by.values():
        entry["median_ratio"] = float(np.median(entry.pop("ratios")))
    out["by_depth_and_optimizer"] = by
    wins = sum(c["ratio"] < 1.0 for c in out["cells"])
    out["pretrain_wins"] = f"{wins} of {len(out['cells'])}"
    return out


def markdown_tables(summary, grid: Grid) -> str:
    """Final test loss per (data set, depth): optimiser x activation rows, one column per method
    (mean over seeds, the row's best in bold, ``div.`` where every seed diverged, ``n/a`` where
    a method does not apply); then the mean CPU seconds per run by method and depth."""
    import numpy as np

    def cell(rows, method) -> tuple[str, float]:
        r = rows[rows["method"] == method]
        if r.empty:
            return "—", np.nan
        v = float(r["final_test_loss"].iloc[0])
        return ("div." if v == np.inf else "n/a" if np.isnan(v) else f"{v:.3f}"), v

    head = "| optimiser | activation | " + " | ".join(grid.methods) + " |\n|" + "---|" * (2 + len(grid.methods)) + "\n"
    out = []
    for dataset, depth in itertools.product(grid.datasets, grid.depths):
        lines = []
        for opt, act in itertools.product(grid.optimizers, grid.activations):
            rows = summary[(summary["dataset"] == dataset) & (summary["depth"] == depth)
                           & (summary["optimizer"] == opt) & (summary["activation"] == act)]
            cells = [cell(rows, m) for m in grid.methods]
            finite = [v for _, v in cells if np.isfinite(v)]
            best = min(finite) if finite else None
            texts = [f"**{t}**" if best is not None and v == best else t for t, v in cells]
            lines.append(f"| {opt} | {act} | " + " | ".join(texts) + " |")
        out.append(f"{dataset}, L = {depth}\n\n" + head + "\n".join(lines) + "\n")
    time_head = "| L | " + " | ".join(grid.methods) + " |\n|" + "---|" * (1 + len(grid.methods)) + "\n"
    time_lines = []
    for depth in grid.depths:
        rows = summary[summary["depth"] == depth]
        means = [rows.loc[rows["method"] == m, "cpu_seconds"].astype(float).mean() for m in grid.methods]
        time_lines.append(f"| {depth} | " + " | ".join("—" if np.isnan(t) else f"{t:.2f}" for t in means) + " |")
    out.append("CPU seconds per run (one thread, mean over data sets, activations, optimisers and seeds)\n\n"
               + time_head + "\n".join(time_lines) + "\n")
    return "\n".join(out)


def _plot_losses(summary, grid: Grid, path: Path) -> None:
    import numpy as np

    from aelab.plots import new_figure, plt, save_figure

    panels = list(itertools.product(grid.datasets, grid.depths, grid.optimizers))
    nrows = len(grid.datasets) * len(grid.depths)
    fig, axes = new_figure(ncols=len(grid.optimizers), nrows=nrows, width=4.4, height=2.5)
    from matplotlib.colors import LogNorm

    finite = summary["final_test_loss"].astype(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    vmin, vmax = (float(finite.min()), max(float(finite.max()), 1.01 * float(finite.min()))) if len(finite) else (0.1, 1.0)
    norm = LogNorm(vmin=vmin, vmax=vmax)
    image = None
    for idx, (dataset, depth, opt) in enumerate(panels):
        ax = axes.flat[idx]
        rows = summary[(summary["dataset"] == dataset) & (summary["depth"] == depth) & (summary["optimizer"] == opt)]
        grid_values = np.full((len(grid.activations), len(grid.methods)), np.nan)
        for r in rows.to_dict("records"):
            grid_values[grid.activations.index(r["activation"]), grid.methods.index(r["method"])] = r["final_test_loss"]
        shown = np.where(np.isfinite(grid_values), grid_values, np.nan)
        image = ax.imshow(shown, cmap="viridis_r", norm=norm, aspect="auto")
        for i, j in itertools.product(range(len(grid.activations)), range(len(grid.methods))):
            v = grid_values[i, j]
            text = "div" if v == np.inf else ("n/a" if np.isnan(v) else f"{v:.2f}")
            dark = bool(np.isfinite(v) and v > 0 and norm(v) > 0.6)
            ax.text(j, i, text, ha="center", va="center", fontsize=6, color="w" if dark else "k")
        ax.set_xticks(range(len(grid.methods)), grid.methods, rotation=45, ha="right", fontsize=6)
        ax.set_yticks(range(len(grid.activations)), grid.activations, fontsize=6)
        ax.set_title(f"{dataset}, L={depth}, {opt}", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.5, label="final normalised test loss (mean over seeds)")
    save_figure(fig, path)
    plt.close("all")


def _plot_time(summary, path: Path) -> None:
    """Left: mean CPU time per run by method and depth; right: final loss against CPU time."""
    import numpy as np
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from aelab.plots import COLORS, new_figure, save_figure

    fig, axes = new_figure(ncols=2, width=5.2, height=4.0)
    ax = axes[0, 0]
    depths = sorted(summary["depth"].unique())
    width = 0.8 / max(1, len(depths))
    for k, depth in enumerate(depths):
        rows = summary[summary["depth"] == depth]
        means = [rows.loc[rows["method"] == m, "cpu_seconds"].mean() for m in METHODS]
        ax.bar(np.arange(len(METHODS)) + (k - (len(depths) - 1) / 2) * width, means, width,
               color=COLORS[k % len(COLORS)], label=f"L = {depth}")
    ax.set_xticks(range(len(METHODS)), METHODS, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("CPU time per run (s, one thread, mean)")
    ax.legend(fontsize=7, frameon=False)
    ax = axes[0, 1]
    for k, method in enumerate(METHODS):
        for opt, marker in (("sgd", "o"), ("adam", "^")):
            rows = summary[(summary["method"] == method) & (summary["optimizer"] == opt)]
            y = rows["final_test_loss"].astype(float)
            ok = np.isfinite(y)
            ax.plot(rows["cpu_seconds"][ok], y[ok], marker, ms=3.5, mfc="none", color=COLORS[k % len(COLORS)],
                    label=f"{method}" if opt == "sgd" else None)
    ax.plot([], [], "o", color="gray", mfc="none", label="SGD")
    ax.plot([], [], "^", color="gray", mfc="none", label="Adam")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("CPU time per run (s, one thread)")
    ax.set_ylabel("final normalised test loss")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    save_figure(fig, path)
