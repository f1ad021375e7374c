"""Li & Nguyen (2019), Sec. 3.5 and Table 1: which initialisations of a deep weight-tied autoencoder train.

Fourteen Gaussian initialisations (sigma_W^2, sigma_b^2; encoder and decoder activations ReLU or
tanh, bottleneck phi_L = ReLU) of a weight-tied autoencoder on MNIST, in the paper's two
settings: (1) tanh output on images in [-1, 1], (2) identity output on images in [0, 1]. Plain
mini-batch SGD on the normalised loss ||x_hat - x||^2 / ||x||^2, no pretraining, no batch norm.
The theory (infinite depth, Interpretation 1) sorts the schemes into *trainable*, *slowed*
(gamma = rho = 0: the deep decoder forgets its input) and *infinities* (gamma or rho infinite).

Per scheme the study reports the test loss reached, the steps to reach a threshold and where the
run diverged, next to the theory's class. The threshold is 1.1 times the loss of the mean training
image (the "average image" the paper's failing schemes output): reaching it is the initial
progress the theory speaks of (a network whose decoder has forgotten its input, gamma = rho = 0,
first has to learn to output anything). The steps to 0.9 times that loss (reconstructions better
than the average image) are reported too. The study checks that the measured ordering agrees with
the theory's (trainable before slowed before infinities, see :func:`ordering_agreement`).

Presets: ``full`` (the paper: L = 100, width 400, batch 250, 5e5 steps: a GPU job), ``cpu``
(L = 20, width 128, batch 100, 2000 steps with momentum: minutes on one core), ``quick`` (CI).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aelab.deep.table1 import INFINITIES, SCHEMES, SLOWED, TRAINABLE, Scheme

__all__ = ["Scheme", "SCHEMES", "SETTINGS", "Preset", "PRESETS", "run_study", "ordering_agreement",
           "theory_class"]

_CLASS_RANK = {TRAINABLE: 0, SLOWED: 1, INFINITIES: 2}


#: The paper's two settings: output activation phi_0, pixel range, learning rate of the ``full`` preset.
SETTINGS: dict[int, dict[str, Any]] = {
    1: {"output": "tanh", "scale": "symmetric", "lr": 5e-3},
    2: {"output": "linear", "scale": "unit", "lr": 3e-3},
}


@dataclass(frozen=True)
class Preset:
    """Sizes of the study.

    Attributes:
        depth, width, batch_size, steps: the network and the training budget.
        n_train, n_test: MNIST images used (None: all).
        log_every: steps between test-loss evaluations (the resolution of steps-to-threshold).
        threshold_fraction, beyond_fraction: the two thresholds, as multiples of the mean-image loss.
        lr: learning rate per setting; momentum: SGD momentum (0 = the paper's plain SGD).
        checkpoint_every: steps between checkpoints (long runs are resumable).
        device: ``auto`` (cuda when available), ``cpu`` or ``cuda``.
        settings, schemes: which to run.
    """

    name: str
    depth: int
    width: int
    batch_size: int
    steps: int
    n_train: int | None
    n_test: int | None
    log_every: int
    lr: dict[int, float]
    momentum: float = 0.0
    checkpoint_every: int | None = None
    device: str = "cpu"
    settings: tuple[int, ...] = (1, 2)
    schemes: tuple[int, ...] = tuple(range(1, 15))
    threshold_fraction: float = 1.1
    beyond_fraction: float = 0.9


PRESETS: dict[str, Preset] = {
    "full": Preset("full", depth=100, width=400, batch_size=250, steps=500_000, n_train=None, n_test=10_000,
                   log_every=2500, lr={1: 5e-3, 2: 3e-3}, momentum=0.0, checkpoint_every=10_000, device="auto"),
    "cpu": Preset("cpu", depth=20, width=128, batch_size=100, steps=2000, n_train=10_000, n_test=1000,
                  log_every=50, lr={1: 1e-2, 2: 1e-2}, momentum=0.9),
    "quick": Preset("quick", depth=10, width=48, batch_size=50, steps=150, n_train=2000, n_test=300,
                    log_every=10, lr={1: 1e-2, 2: 1e-2}, momentum=0.9),
}


@functools.lru_cache(maxsize=64)
def theory_class(scheme: Scheme) -> str | None:
    """The class :mod:`aelab.deep.advisor` computes for a scheme (None when it is not available)."""
    try:
        from aelab.deep.advisor import classify_scheme
    except ImportError:
        return None
    from aelab.train.init import keep_torch_threads

    with keep_torch_threads():
        return str(classify_scheme(scheme.encoder, scheme.decoder, scheme.sigma_w_sq, scheme.sigma_b_sq, alpha=1.0,
                                   bottleneck="relu"))


def _config(preset: Preset, setting: int, scheme: Scheme, seed: int, data_dir: str | None):
    from aelab.train.config import TrainConfig

    s = SETTINGS[setting]
    return TrainConfig.model_validate({
        "data": {"name": "mnist", "data_dir": data_dir, "n_train": preset.n_train, "n_test": preset.n_test,
                 "scale": s["scale"]},
        "model": {"depth": preset.depth, "width": preset.width, "encoder": scheme.encoder, "decoder": scheme.decoder,
                  "bottleneck": "relu", "output": s["output"], "tied": True},
        "init": {"scheme": "gaussian", "sigma_w_sq": scheme.sigma_w_sq, "sigma_b_sq": scheme.sigma_b_sq},
        "train": {"optimizer": "sgd", "lr": preset.lr[setting], "momentum": preset.momentum,
                  "batch_size": preset.batch_size, "steps": preset.steps, "loss": "normalised", "seed": seed,
                  "log_every": preset.log_every, "checkpoint_every": preset.checkpoint_every or preset.steps,
                  "keep_checkpoints": 1},
    })


def _mean_image_loss(arrays) -> float:
    """Normalised test loss of predicting the mean training image for every input."""
    m = arrays.train.mean(axis=0, dtype=np.float64)
    x = arrays.test.astype(np.float64)
    return float(np.mean(((x - m) ** 2).sum(axis=1) / (x**2).sum(axis=1)))


def _compare(a: dict[str, Any], b: dict[str, Any], tol: float) -> int:
    """-1 when run ``a`` is measured better than ``b``, +1 when worse, 0 for a tie.

    Better: finished rather than diverged; then reached the threshold rather than not; then
    fewer steps to the threshold; then a final test loss lower by more than the relative ``tol``.
    """
    def category(r):
        if not math.isnan(r["diverged_at"]):
            return 2
        return 0 if not math.isnan(r["steps_to_threshold"]) else 1

    ca, cb = category(a), category(b)
    if ca != cb:
        return -1 if ca < cb else 1
    if ca == 2:
        return 0
    if ca == 0 and a["steps_to_threshold"] != b["steps_to_threshold"]:
        return -1 if a["steps_to_threshold"] < b["steps_to_threshold"] else 1
    la, lb = a["final_test_loss"], b["final_test_loss"]
    if abs(la - lb) <= tol * min(la, lb):
        return 0
    return -1 if la < lb else 1


def ordering_agreement(table, *, tol: float = 0.02) -> dict[int, dict[str, Any]]:
    """Per setting: how often the measured order of two schemes agrees with their theory classes.

    For every pair of schemes in different classes (trainable before slowed before infinities)
    the pair *agrees* when the better class is measured better (see :func:`_compare`: divergence,
    then steps to the threshold, then the final loss within ``tol``), is a *tie* when the two
    cannot be told apart (both diverged, or the same steps and final losses within ``tol``), and
    *disagrees* otherwise. Returns per setting the counts, the fraction agree / (agree + disagree)
    and the disagreeing pairs.
    """
    out: dict[int, dict[str, Any]] = {}
    for setting, rows in table.groupby("setting"):
        recs = rows.to_dict("records")
        agree, ties, bad = 0, 0, []
        for a in recs:
            for b in recs:
                if _CLASS_RANK[a["theory"]] >= _CLASS_RANK[b["theory"]]:
                    continue
                verdict = _compare(a, b, tol)
                if verdict < 0:
                    agree += 1
                elif verdict == 0:
                    ties += 1
                else:
                    bad.append(f"{a['scheme']} ({a['theory']}) vs {b['scheme']} ({b['theory']})")
        decided = agree + len(bad)
        out[int(setting)] = {"agree": agree, "disagree": len(bad), "ties": ties,
                             "agreement": agree / decided if decided else math.nan, "disagreeing": bad}
    return out


def run_study(preset: Preset | str, out_dir: str | Path, *, seed: int = 0, quiet: bool = False,
              data_dir: str | None = None) -> Any:
    """Run every (setting, scheme) of ``preset`` into ``out_dir``; returns the results table.

    Writes ``schemes.csv`` (one row per setting and scheme), ``agreement.json``, a figure of the
    test-loss curves (``loss_curves.png``), and the runs as a sweep (:mod:`aelab.sweep`) in
    ``runs/``: one run folder per scheme under ``runs/points/`` (a complete run is reused and a
    partial one resumed from its checkpoints when the study is run again).
    """
    import pandas as pd

    from aelab.results import RunFolder
    from aelab.train.config import DataSection
    from aelab.train.data import load_arrays
    from aelab.train.study import device_name, run_study_grid, study_grid

    preset = PRESETS[preset] if isinstance(preset, str) else preset
    out_dir = Path(out_dir)
    folder = RunFolder(out_dir)
    folder.write_config({"preset": asdict(preset), "seed": seed, "schemes": [asdict(s) for s in SCHEMES],
                         "settings": SETTINGS})
    start = time.perf_counter()
    by_number = {s.number: s for s in SCHEMES}
    schemes = [s.number for s in SCHEMES if s.number in preset.schemes]
    study = study_grid(
        f"li-nguyen-{preset.name}",
        [[{"setting": s} for s in preset.settings], [{"scheme": n} for n in schemes]],
        lambda setting, scheme: _config(preset, setting, by_number[scheme], seed, data_dir))
    results = run_study_grid(study, out_dir / "runs", quiet=quiet, device=preset.device)
    rows, curves = [], {}
    for setting in preset.settings:
        arrays = load_arrays(DataSection(name="mnist", data_dir=data_dir, n_train=preset.n_train,
                                         n_test=preset.n_test, scale=SETTINGS[setting]["scale"]))
        mean_loss = _mean_image_loss(arrays)
        threshold = preset.threshold_fraction * mean_loss
        for run in results[results["setting"] == setting].to_dict("records"):
            scheme = by_number[run["scheme"]]
            history = pd.read_csv(out_dir / "runs" / "points" / run["point"] / "history.csv")
            curves[(setting, scheme.number)] = history
            reached = history[history["test_loss"] <= threshold]
            beyond = history[history["test_loss"] <= preset.beyond_fraction * mean_loss]
            computed = theory_class(scheme)
            rows.append({
                "setting": setting, "scheme": scheme.number, "decoder": scheme.decoder, "encoder": scheme.encoder,
                "sigma_w_sq": scheme.sigma_w_sq, "sigma_b_sq": scheme.sigma_b_sq, "eoc": scheme.eoc,
                "paper_class": scheme.paper_class, "theory_class": computed,
                "theory": computed or scheme.paper_class,
                "initial_test_loss": float(history["test_loss"].iloc[0]),
                "final_test_loss": float(history["test_loss"].iloc[-1]) if run["outcome"] != "diverged" else math.inf,
                "min_test_loss": float(history["test_loss"].min()),
                "steps_to_threshold": float(reached["step"].iloc[0]) if len(reached) else math.nan,
                "steps_below_mean_image": float(beyond["step"].iloc[0]) if len(beyond) else math.nan,
                "threshold": threshold, "mean_image_loss": mean_loss,
                "diverged_at": run["diverged_at"],
                "seconds": run["seconds"],
            })
    table = pd.DataFrame(rows)
    folder.write_table("schemes.csv", table)
    agreement = ordering_agreement(table)
    folder.write_json("agreement.json", agreement)
    _plot(table, curves, preset, out_dir / "loss_curves.png")
    folder.finish(seeds=[seed], timings_s={"total": time.perf_counter() - start}, device=device_name(preset.device),
                  agreement=agreement)
    return table


_COLORS = {TRAINABLE: "tab:green", SLOWED: "tab:orange", INFINITIES: "tab:red"}


def _plot(table, curves, preset: Preset, path: Path) -> None:
    from aelab.plots import new_figure, save_figure

    settings = sorted(table["setting"].unique())
    fig, axes = new_figure(ncols=len(settings), width=5.6, height=4.2)
    for ax, setting in zip(axes[0], settings):
        rows = table[table["setting"] == setting]
        finished = rows[rows["diverged_at"].isna()]
        top = min(3.0, max(1.2, float(finished["initial_test_loss"].max()) * 1.05)) if len(finished) else 3.0
        bottom = 0.85 * float(rows["min_test_loss"].min())
        n_diverged = 0
        for rec in rows.to_dict("records"):
            h = curves[(setting, rec["scheme"])]
            color = _COLORS[rec["theory"]]
            y = h["test_loss"].clip(upper=top)
            ax.plot(h["step"], y, "-", color=color, lw=1.1, alpha=0.85)
            diverged = not math.isnan(rec["diverged_at"])
            x_end = rec["diverged_at"] if diverged else h["step"].iloc[-1]
            y_end = top if diverged else y.iloc[-1]
            ax.plot([x_end], [y_end], "x" if diverged else "o", color=color, ms=5 if diverged else 4)
            label = f"{rec['scheme']} (diverged at step {int(x_end)})" if diverged else str(rec["scheme"])
            offset = -4 - 8 * n_diverged if diverged else 0
            n_diverged += diverged
            ax.annotate(label, (x_end, y_end), fontsize=6, xytext=(4, offset), textcoords="offset points")
        ax.set_ylim(bottom, top * 1.02)
        ax.axhline(rows["mean_image_loss"].iloc[0], color="gray", ls=":", lw=1)
        ax.axhline(rows["threshold"].iloc[0], color="gray", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("normalised test loss")
        s = SETTINGS[setting]
        ax.set_title(f"setting {setting}: output {s['output']}, pixels in "
                     f"{'[-1, 1]' if s['scale'] == 'symmetric' else '[0, 1]'}; L={preset.depth}, n={preset.width}",
                     fontsize=8)
        for cls, color in _COLORS.items():
            ax.plot([], [], color=color, label=cls)
        ax.plot([], [], color="gray", ls=":", label="mean image")
        ax.plot([], [], color="gray", ls="--", label="threshold (1.1 x mean image)")
        ax.legend(fontsize=7, frameon=False)
    save_figure(fig, path)
