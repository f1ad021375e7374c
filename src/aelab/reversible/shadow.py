"""Training with synthetic ("shadow") data from the reversed net (Arora, Liang & Ma 2015, Sec. 5).

The paper proposes to use the generative model implied by the net — the net run backwards with
its transposed weights and fresh dropout — to produce synthetic labelled data and to train on it
as well. For a fully-connected ReLU classifier x -> h_1 -> ... -> h_L -> logits:

1. run the current net forward on a real minibatch (no dropout) and keep h_l (l = ``shadow_layer``,
   by default the top hidden layer L);
2. generate down: h~_{j-1} = s * relu(alpha_j W_j^T h~_j), j = l..1, s ~ Bernoulli(rho) fresh per
   entry, biases ignored; x~ = h~_0;
3. train on the real pairs (x, y) and the synthetic pairs (x~, y) together (``shadow_ratio``
   synthetic examples per real one, drawn from the same minibatch, regenerated at every step,
   without gradients through the generation).

The rescaling alpha_j: ``match`` (default) scales each generated layer to the norm of the real
activation of the same example; ``theory`` uses alpha_j = 2/(rho n_{j-1} sigma_j^2), the paper's
2/(rho n) for weights of variance sigma_j^2 (the mean square entry of W_j).

Randomness is explicit: every draw (initialisation, shuffling, dropout, generation) comes from
generators seeded by the run's seed; the four variants of one seed share their initial weights.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from aelab.config import StrictModel

__all__ = ["ShadowConfig", "quick_config", "ReluClassifier", "shadow_inputs", "train_classifier",
           "run_shadow", "load_split"]

DatasetName = Literal["mnist", "fashion-mnist"]


class ShadowConfig(StrictModel):
    """The training comparison: data, classifier, optimiser, the shadow generation, seeds."""

    datasets: tuple[DatasetName, ...] = ("mnist", "fashion-mnist")
    hidden: tuple[int, ...] = (1000, 1000)
    epochs: int = Field(30, gt=0)
    batch_size: int = Field(128, gt=0)
    lr: float = Field(0.05, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    schedule: Literal["cosine", "constant"] = "cosine"
    dropout_keep: float = Field(0.5, gt=0.0, le=1.0)
    shadow_keep: float = Field(0.8, gt=0.0, le=1.0)
    shadow_ratio: float = Field(1.0, gt=0.0)
    shadow_layer: int | None = Field(None, gt=0)
    shadow_scale: Literal["match", "theory"] = "match"
    train_size: int | None = Field(None, gt=0)
    test_size: int | None = Field(None, gt=0)
    eval_train_size: int = Field(10_000, gt=0)
    seeds: tuple[int, ...] = (0, 1, 2)
    data_dir: str | None = None
    device: str = "auto"
    threads: int | None = Field(None, gt=0)
    randomness_codes: int = Field(500, gt=0)

    @field_validator("hidden")
    @classmethod
    def _hidden(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w <= 0 for w in value):
            raise ValueError(f"give positive hidden widths, got {list(value)}")
        return value

    @field_validator("shadow_layer")
    @classmethod
    def _shadow_layer(cls, value: int | None, info: ValidationInfo) -> int | None:
        hidden = info.data.get("hidden")
        if value is not None and hidden is not None and value > len(hidden):
            raise ValueError(f"{value} exceeds the {len(hidden)} hidden layers")
        return value

    @field_validator("datasets", "seeds")
    @classmethod
    def _not_empty(cls, value: tuple, info: ValidationInfo) -> tuple:
        if not value:
            raise ValueError(f"give at least one {'seed' if info.field_name == 'seeds' else 'data set'}")
        return value

    @field_validator("device")
    @classmethod
    def _device_name(cls, value: str) -> str:
        if value not in ("auto", "cpu") and not value.startswith("cuda"):
            raise ValueError(f"expected auto, cpu or cuda[:N], got {value!r}")
        return value

    @property
    def top_layer(self) -> int:
        return self.shadow_layer or len(self.hidden)


def quick_config(**update) -> ShadowConfig:
    """A CI-sized comparison: small subsets, small net, two epochs, one seed (seconds)."""
    base = dict(hidden=(128, 128), epochs=2, batch_size=64, train_size=2000, test_size=1000, eval_train_size=1000,
                seeds=(0,), randomness_codes=200, threads=1)
    base.update(update)
    return ShadowConfig(**base)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def load_split(name: str, split: str, *, size: int | None, data_dir: str | None, rng: np.random.Generator):
    """Images as float32 rows in [0, 1] (non-negative, like the model's visible layer) and labels."""
    from aelab.data import load_dataset
    from aelab.data.preprocess import flatten, subset, to_float

    data = load_dataset(name, split, data_dir=data_dir)
    images, labels = data.images, data.labels
    if size is not None and size < len(images):
        images, labels = subset(images, labels, size, rng, stratified=True)
    return flatten(to_float(np.asarray(images))), np.array(labels, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# The classifier and the shadow generation
# --------------------------------------------------------------------------------------------

def _torch():
    import torch

    return torch


def ReluClassifier(sizes: tuple[int, ...], generator):  # noqa: N802 (a class factory: torch is imported lazily)
    """A fully-connected ReLU classifier with layer sizes (input, hidden..., classes), He-initialised."""
    torch = _torch()
    from aelab.train.init import he_

    class _Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
            for layer in self.layers:
                he_(layer.weight, generator=generator)
                torch.nn.init.zeros_(layer.bias)

        def hidden(self, x) -> list:
            """The hidden activations h_1..h_L without dropout."""
            out = []
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
                out.append(x)
            return out

        def forward(self, x, *, keep: float = 1.0, generator=None):
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
                if keep < 1.0:
                    mask = torch.rand(x.shape, generator=generator, device=x.device) < keep
                    x = x * mask / keep
            return self.layers[-1](x)

    return _Net()


def shadow_inputs(model, x, *, layer: int, keep_prob: float, scale: str, generator):
    """Synthetic inputs x~ generated from the real inputs x through the reversed net (no gradients).

    Args:
        model: a :func:`ReluClassifier`.
        x: real inputs (B, n_0).
        layer: the hidden layer l whose activation is pushed down (1..L).
        keep_prob: rho of the fresh dropout masks on every generated layer.
        scale: ``match`` (each generated layer gets the norm of the real one) or ``theory``
            (alpha_j = 2/(rho n_{j-1} sigma_j^2)).
        generator: torch generator of the masks.
    """
    torch = _torch()
    with torch.no_grad():
        real = [x, *model.hidden(x)]
        h = real[layer]
        for j in range(layer, 0, -1):
            weight = model.layers[j - 1].weight  # (n_j, n_{j-1})
            below = torch.relu(h @ weight)
            if keep_prob < 1.0:
                below = below * (torch.rand(below.shape, generator=generator, device=below.device) < keep_prob)
            if scale == "match":
                norm = below.norm(dim=1, keepdim=True)
                target = real[j - 1].norm(dim=1, keepdim=True)
                below = below * torch.where(norm > 0, target / norm.clamp_min(1e-30), torch.zeros_like(norm))
            else:
                below = below * (2.0 / (keep_prob * weight.shape[1] * float(weight.pow(2).mean())))
            h = below
        return h


def _error(model, x, y, batch: int = 4096) -> float:
    torch = _torch()
    wrong = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            wrong += int((model(x[start:start + batch]).argmax(1) != y[start:start + batch]).sum())
    return wrong / max(1, len(x))


def train_classifier(config: ShadowConfig, data: dict[str, Any], *, seed: int, dropout: bool, shadow: bool,
                     device: str, record_weights: bool = False) -> dict[str, Any]:
    """Train one classifier; return its per-epoch history, final errors and (optionally) weights.

    ``data`` holds torch tensors ``x_train, y_train, x_test, y_test, x_eval, y_eval`` on ``device``.
    """
    torch = _torch()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    sizes = (data["x_train"].shape[1], *config.hidden, int(data["num_classes"]))
    model = ReluClassifier(sizes, gen).to(device)
    initial = [layer.weight.detach().cpu().numpy().copy() for layer in model.layers] if record_weights else None
    dev_gen = torch.Generator(device=device).manual_seed(seed + 1)
    eval_gen_seed = seed + 2
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    rng = np.random.default_rng(seed)
    n = data["x_train"].shape[0]
    steps = config.epochs * -(-n // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if config.schedule == "cosine" else None
    keep = config.dropout_keep if dropout else 1.0
    extra = int(round(config.shadow_ratio * config.batch_size)) if shadow else 0
    history = []
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.as_tensor(rng.permutation(n), device=device)
        for lo in range(0, n, config.batch_size):
            idx = order[lo:lo + config.batch_size]
            xb, yb = data["x_train"][idx], data["y_train"][idx]
            if extra:
                reps = idx[torch.arange(extra, device=device) % idx.numel()]
                x_syn = shadow_inputs(model, data["x_train"][reps], layer=config.top_layer,
                                      keep_prob=config.shadow_keep, scale=config.shadow_scale, generator=dev_gen)
                xb = torch.cat([xb, x_syn])
                yb = torch.cat([yb, data["y_train"][reps]])
            loss = torch.nn.functional.cross_entropy(model(xb, keep=keep, generator=dev_gen), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            if not math.isfinite(float(loss.detach())):
                from aelab.errors import DivergenceError

                raise DivergenceError(f"shadow training diverged at epoch {epoch}", time=epoch, cause="non-finite loss")
        model.eval()
        eval_gen = torch.Generator(device=device).manual_seed(eval_gen_seed)
        x_shadow_test = shadow_inputs(model, data["x_test"], layer=config.top_layer, keep_prob=config.shadow_keep,
                                      scale=config.shadow_scale, generator=eval_gen)
        history.append({"epoch": epoch, "test_error": _error(model, data["x_test"], data["y_test"]),
                        "train_error": _error(model, data["x_eval"], data["y_eval"]),
                        "shadow_test_error": _error(model, x_shadow_test, data["y_test"]),
                        "loss": float(loss.detach()), "seconds": time.perf_counter() - start})
    out = {"history": history, **{k: history[-1][k] for k in ("test_error", "train_error", "shadow_test_error")},
           "seconds": time.perf_counter() - start}
    if record_weights:
        out["weights"] = [layer.weight.detach().cpu().numpy().copy() for layer in model.layers]
        out["initial_weights"] = initial
        with torch.no_grad():
            codes = model.hidden(data["x_test"][: config.randomness_codes])
        out["codes"] = [c.cpu().numpy() for c in codes]
    return out


# --------------------------------------------------------------------------------------------
# The comparison: data sets x seeds x {dropout} x {shadow}, random-likeness of the trained weights
# --------------------------------------------------------------------------------------------

VARIANTS = ((False, False), (False, True), (True, False), (True, True))  # (dropout, shadow)
RANDOM_REFERENCES = 10


def _device(name: str) -> str:
    torch = _torch()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _randomness_rows(dataset: str, variant: str, result: dict, config: ShadowConfig, rng) -> list[dict]:
    from aelab.reversible import randomness, theory
    from aelab.reversible.config import NetSpec

    rows = []
    for ell, (w, w0) in enumerate(zip(result["weights"][:-1], result["initial_weights"][:-1]), 1):
        row = {"dataset": dataset, "variant": variant, "layer": ell, **randomness.matrix_report(w, rng),
               "relative_change_from_init": float(np.linalg.norm(w - w0) / np.linalg.norm(w0))}
        codes = result["codes"][ell - 1]
        codes = codes[np.count_nonzero(codes, axis=1) > 0]
        if len(codes):
            k = max(1, int(round(np.mean(np.count_nonzero(codes, axis=1)))))
            spec = NetSpec(widths=(w.shape[1], w.shape[0]), sparsity=min(k, w.shape[0]), keep_prob=config.shadow_keep)
            tau = theory.optimal_threshold(spec)
            trained, predicted = randomness.reverse_forward_error(w, codes, keep_prob=config.shadow_keep,
                                                                  threshold=tau, rng=rng)
            # Codes of real data are strongly correlated (the same units fire for many inputs), so one
            # Gaussian reference fluctuates by tens of percent: average over several.
            rand = [randomness.reverse_forward_error(rng.standard_normal(w.shape), codes, keep_prob=config.shadow_keep,
                                                     threshold=tau, rng=rng)[0].mean()
                    for _ in range(RANDOM_REFERENCES)]
            row.update(code_nonzeros=k, threshold=tau, reverse_forward_trained=float(trained.mean()),
                       reverse_forward_random=float(np.mean(rand)),
                       reverse_forward_random_sem=float(np.std(rand, ddof=1) / math.sqrt(len(rand))),
                       reverse_forward_theory=float(predicted.mean()))
        rows.append(row)
    return rows


def run_shadow(config: ShadowConfig, out_dir, *, quiet: bool = True, overwrite: bool = False) -> dict[str, Any]:
    """Run the comparison into a run folder: results.csv, summary.csv, curves.csv, randomness.csv,
    shadow.png and randomness.png, and the record (observables ``runs``, ``seconds``).

    ``out_dir`` is a :class:`~aelab.results.RunFolder` the caller started (``running``), or a path:
    a folder started by ``aelab reproduce``, or a new one (refused if it holds a run, unless ``overwrite``).
    """
    from aelab.record import RunRecord
    from aelab.results import RunFolder

    folder = out_dir if isinstance(out_dir, RunFolder) else RunFolder(out_dir)
    if folder.record is None or folder.record.status != "running":  # not started by the caller
        folder = RunFolder.create(out_dir, RunRecord.start("reversible-shadow", config, seeds=list(config.seeds)),
                                  overwrite=overwrite, option="out_dir")
    folder.write_config(config)
    try:
        observables, device = _compare(config, folder, quiet=quiet)
    except BaseException as exc:
        folder.fail(exc)
        raise
    folder.finish(observables=observables, timings_s={"total": observables["seconds"]}, seeds=list(config.seeds),
                  device=device)
    return observables


def _compare(config: ShadowConfig, folder, *, quiet: bool) -> tuple[dict[str, Any], str]:
    """The training runs of :func:`run_shadow` and their files; the observables and the device."""
    import pandas as pd

    from aelab.progress import progress_bar

    torch = _torch()
    device = _device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    start = time.perf_counter()
    results, curves, rand_rows, spectra = [], [], [], {}
    total = len(config.datasets) * len(config.seeds) * len(VARIANTS)
    with progress_bar("shadow training", total, quiet=quiet) as bar:
        for dataset in config.datasets:
            rng = np.random.default_rng(config.seeds[0])
            x_train, y_train = load_split(dataset, "train", size=config.train_size, data_dir=config.data_dir, rng=rng)
            x_test, y_test = load_split(dataset, "test", size=config.test_size, data_dir=config.data_dir, rng=rng)
            n_eval = min(config.eval_train_size, len(x_train))
            tensors = {k: torch.as_tensor(v, device=device) for k, v in (
                ("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test),
                ("x_eval", x_train[:n_eval]), ("y_eval", y_train[:n_eval]))}
            tensors["num_classes"] = int(max(y_train.max(), y_test.max()) + 1)
            for seed in config.seeds:
                for dropout, shadow in VARIANTS:
                    variant = f"{'dropout' if dropout else 'plain'}{' + shadow' if shadow else ''}"
                    record = seed == config.seeds[0]
                    res = train_classifier(config, tensors, seed=seed, dropout=dropout, shadow=shadow,
                                           device=device, record_weights=record)
                    results.append({"dataset": dataset, "seed": seed, "dropout": dropout, "shadow": shadow,
                                    "variant": variant, "test_error": res["test_error"],
                                    "train_error": res["train_error"], "shadow_test_error": res["shadow_test_error"],
                                    "seconds": res["seconds"]})
                    curves.extend({"dataset": dataset, "seed": seed, "variant": variant, **h} for h in res["history"])
                    if record:
                        rand_rows.extend(_randomness_rows(dataset, variant, res, config,
                                                          np.random.default_rng(seed + 17)))
                        if variant == "plain":
                            spectra[dataset] = res["weights"][:-1]
                    bar.advance()
    results_df, curves_df = pd.DataFrame(results), pd.DataFrame(curves)
    summary = summarise(results_df)
    folder.write_table("results.csv", results_df)
    folder.write_table("summary.csv", summary)
    folder.write_table("curves.csv", curves_df)
    folder.write_table("randomness.csv", pd.DataFrame(rand_rows))
    plot_shadow(summary, curves_df, folder.file("shadow.png"))
    plot_randomness(spectra, folder.file("randomness.png"), np.random.default_rng(config.seeds[0] + 99))
    return {"runs": len(results_df), "seconds": time.perf_counter() - start}, device


def summarise(results):
    """Mean and standard error over seeds of each (data set, variant), and the paired effect of
    the shadow data (same seed, same initial weights)."""
    import pandas as pd

    rows = []
    for (dataset, variant), grp in results.groupby(["dataset", "variant"], sort=False):
        row = {"dataset": dataset, "variant": variant, "dropout": bool(grp.dropout.iloc[0]),
               "shadow": bool(grp.shadow.iloc[0]), "seeds": len(grp)}
        for col in ("test_error", "train_error", "shadow_test_error"):
            row[col] = grp[col].mean()
            row[col + "_sem"] = grp[col].std(ddof=1) / math.sqrt(len(grp)) if len(grp) > 1 else math.nan
        rows.append(row)
    summary = pd.DataFrame(rows)
    effects = []
    for (dataset, dropout), grp in results.groupby(["dataset", "dropout"], sort=False):
        with_s = grp[grp.shadow].set_index("seed").test_error
        without = grp[~grp.shadow].set_index("seed").test_error
        diff = (with_s - without).dropna()
        effects.append({"dataset": dataset, "dropout": dropout,
                        "shadow_effect": diff.mean(),
                        "shadow_effect_sem": diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan})
    return summary.merge(pd.DataFrame(effects), on=["dataset", "dropout"], how="left")


def plot_shadow(summary, curves, path: Path) -> Path:
    """Test error by variant (mean +- standard error over seeds) and the per-epoch test and
    shadow-data errors."""
    from aelab.plots import COLORS, new_figure, save_figure

    datasets = list(dict.fromkeys(summary.dataset))
    fig, axes = new_figure(2, len(datasets), width=4.8, height=3.4)
    for row, dataset in enumerate(datasets):
        ax = axes[row, 0]
        part = summary[summary.dataset == dataset]
        ax.bar(range(len(part)), 100 * part.test_error, yerr=100 * part.test_error_sem.fillna(0.0),
               color=[COLORS[i] for i in range(len(part))], capsize=3)
        ax.set_xticks(range(len(part)), part.variant, rotation=15, fontsize=7)
        low = 100 * (part.test_error - part.test_error_sem.fillna(0.0)).min()
        ax.set(ylabel="test error (%)", title=f"{dataset}: test error", ylim=(max(0.0, 0.8 * low), None))
        ax = axes[row, 1]
        cur = curves[curves.dataset == dataset].groupby(["variant", "epoch"], sort=False).mean(numeric_only=True)
        for i, variant in enumerate(dict.fromkeys(curves[curves.dataset == dataset].variant)):
            c = cur.loc[variant]
            ax.plot(c.index, 100 * c.test_error, "-", color=COLORS[i], label=f"{variant}: test")
            ax.plot(c.index, 100 * c.shadow_test_error, ":", color=COLORS[i], label=f"{variant}: shadow test")
        ax.set(yscale="log", xlabel="epoch", ylabel="error (%)", title=f"{dataset}: per epoch (mean over seeds)")
        ax.legend(fontsize=5, ncol=2)
    return save_figure(fig, path)


def plot_randomness(spectra: dict[str, list[np.ndarray]], path: Path, rng: np.random.Generator) -> Path:
    """Entries, Marchenko-Pastur spectra and normalised off-diagonal Gram entries of the trained
    hidden-layer weights (plain variant, first seed), next to a Gaussian matrix of the same shape."""
    from aelab.plots import new_figure, save_figure
    from aelab.reversible import randomness

    items = [(d, i, w) for d, ws in spectra.items() for i, w in enumerate(ws, 1)]
    fig, axes = new_figure(3, max(1, len(items)), width=3.6, height=2.7)
    grid = np.linspace(-5, 5, 201)
    for row, (dataset, layer, w) in enumerate(items):
        ref = rng.standard_normal(w.shape)
        z = (w - w.mean()) / w.std()
        ax = axes[row, 0]
        ax.hist(z.ravel(), bins=120, range=(-6, 6), density=True, histtype="step", label="trained")
        ax.hist(ref.ravel(), bins=120, range=(-6, 6), density=True, histtype="step", label="Gaussian")
        ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k:", lw=0.8)
        ax.set(yscale="log", ylim=(1e-5, 1), title=f"{dataset} W{layer} {w.shape}: entries", xlabel="standardised")
        ax.legend(fontsize=6)
        ax = axes[row, 1]
        for matrix, label in ((w, "trained"), (ref, "Gaussian")):
            eig, ratio = randomness._gram_eigenvalues(matrix)
            ax.hist(eig, bins=80, density=True, histtype="step", label=label)
        xs = np.linspace(0, (1 + np.sqrt(ratio)) ** 2 * 1.05, 400)
        ax.plot(xs, randomness.marchenko_pastur_pdf(xs, ratio), "k-", lw=1, label="Marchenko-Pastur")
        ax.set(title="Gram eigenvalues (unit rms)", xlabel="eigenvalue", xlim=(0, min(xs[-1] * 3, eig.max() * 1.05)))
        ax.legend(fontsize=6)
        ax = axes[row, 2]
        ax.hist(randomness.gram_offdiagonal(w), bins=120, density=True, histtype="step", label="trained")
        ax.hist(randomness.gram_offdiagonal(ref), bins=120, density=True, histtype="step", label="Gaussian")
        ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k:", lw=0.8)
        ax.set(yscale="log", ylim=(1e-5, 1), title="cos(w_i, w_j) sqrt(fan-in)", xlabel="")
        ax.legend(fontsize=6)
    return save_figure(fig, path)
