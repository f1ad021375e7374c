"""Shallow autoencoders on real images: the exact ODE over all D eigen-directions next to SGD.

Refinetti & Goldt (ICML 2022, sec. 4): the ODE of the Gaussian model with the images' second
moment describes SGD on the images themselves ("Gaussian universality"). Three curves on one
time axis:

* ``theory``: the ODE (:mod:`aelab.shallow.ode`) over all D directions of the empirical second
  moment Omega = E[x x^T] of the preprocessed training images (per direction the densities are
  rank one, so the state is the K-vectors a_tau = W e_tau and b_tau = V e_tau / sqrt(D));
* ``images``: online SGD on the training images themselves, multi-pass (a fresh random order
  each epoch), recorded as the reconstruction error on held-out test images;
* ``gaussian``: online SGD on fresh Gaussian inputs N(0, Omega), the setting the ODE is exact for
  as D grows.

Preprocessing (:mod:`aelab.data.preprocess`): grayscale, [0, 1], flatten, then the paper's
global scalar centring and scaling (all entries together: mean 0, std 0.5), with statistics of
the training images applied to the test images too; ``centring = "pixel"`` also subtracts the
training mean image. All three curves start from the same initial weights (drawn in pixel space
and rotated into the eigenbasis for the theory and the Gaussian side).
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aelab.activations import Activation, get_activation
from aelab.config import StrictModel
from aelab.data.synthetic import Covariance
from aelab.errors import ConfigError, DivergenceError
from aelab.normal_draws import NormalStream
from aelab.shallow.config import ModelConfig, OdeConfig, OutputConfig, TrainConfig
from aelab.shallow.ode import OdeSystem, integrate
from aelab.shallow.sgd import sgd_steps
from aelab.shallow.simulate import CHUNK, SAMPLE_DTYPE, aggregate_seeds
from aelab.shallow.state import observables, state_from_weights

__all__ = ["ImagesConfig", "RealDataConfig", "RealData", "load_real_data", "real_data_covariance", "run_real_data",
           "ode_theory", "images_sgd", "gaussian_sgd", "image_error", "largest_gap", "plot_real_data", "DATASETS"]

#: data sets the paper's preprocessing applies to, with their input dimension after grayscale
DATASETS = {"cifar10": 1024, "fashion-mnist": 784, "mnist": 784}


class ImagesConfig(StrictModel):
    """Which images, how many, and how they are preprocessed."""

    name: Literal["cifar10", "fashion-mnist", "mnist"] = "fashion-mnist"
    D: int | None = Field(None, ge=1, description="expected input dimension (checked against the images)")
    samples: int | None = Field(None, ge=1, description="training images used (None: all); a seeded subset")
    eval_samples: int = Field(10_000, ge=1, description="test images on which the reconstruction error is measured")
    centring: Literal["global", "pixel"] = Field(
        "global", description="global: the paper's scalar centring and scaling; pixel: also subtract the mean image")
    subset_seed: int = Field(0, ge=0, description="seed of the training subset")


class RealDataConfig(StrictModel):
    """Theory and SGD on real images, from one configuration."""

    data: ImagesConfig = Field(default_factory=ImagesConfig)
    model: ModelConfig = Field(default_factory=lambda: ModelConfig(K=4, init_std=0.1))
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(lr=1.0, time=50.0, seeds=[0, 1, 2]))
    ode: OdeConfig = Field(default_factory=OdeConfig)
    output: OutputConfig = Field(default_factory=lambda: OutputConfig(points=40))
    sides: list[Literal["theory", "images", "gaussian"]] = Field(
        default_factory=lambda: ["theory", "images", "gaussian"], description="which curves to compute")

    @model_validator(mode="after")
    def _consistent(self):
        D = DATASETS[self.data.name]
        if self.data.D is not None and self.data.D != D:
            raise ValueError(f"data.D = {self.data.D} does not match {self.data.name} images (D = {D} after "
                             f"grayscale); leave data.D out or set it to {D}")
        if self.model.K > D:
            raise ValueError(f"model.K = {self.model.K} exceeds the input dimension D = {D}")
        if self.data.samples is not None and self.data.samples < D:
            raise ValueError(f"data.samples = {self.data.samples} images give a singular covariance in D = {D} "
                             f"dimensions (rank < {D}); use at least {D} images")
        if self.train.rule == "truncated" and self.model.tied:
            raise ValueError("train.rule: truncated SGD is defined for untied networks (tied linear networks: "
                             "Sanger's rule, aelab.shallow.sanger)")
        if self.output.times is not None and self.output.times[-1] > self.train.time * (1 + 1e-12):
            raise ValueError("output.times: the last time exceeds train.time")
        if not self.sides:
            raise ValueError("sides: give at least one of theory, images, gaussian")
        return self

    @property
    def D(self) -> int:
        return DATASETS[self.data.name]

    def time_grid(self) -> np.ndarray:
        return self.output.time_grid(self.D, self.train.time)


@dataclass(frozen=True, eq=False)
class RealData:
    """Preprocessed images and the eigen-decomposition of their second moment.

    Attributes:
        train: (N, D) float32 training images (C-contiguous).
        test: (n, D) float32 evaluation images, preprocessed with the training statistics.
        eigenvalues: (D,) eigenvalues of E[x x^T] over ``train``, descending, clipped at 0.
        eigenvectors: (D, D) orthonormal columns.
        zero_directions: eigenvalues below 1e-12 of the largest (e.g. MNIST's always-black pixels):
            those directions carry no signal and do not move.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def D(self) -> int:
        return self.train.shape[1]

    @property
    def test_sq_norms(self) -> np.ndarray:
        """|x|^2 of the evaluation images (float64), computed once."""
        cached = self.__dict__.get("_sq")
        if cached is None:
            cached = np.einsum("ij,ij->i", self.test, self.test, dtype=np.float64)
            object.__setattr__(self, "_sq", cached)
        return cached

    @property
    def zero_directions(self) -> int:
        return int(np.sum(self.eigenvalues <= 1e-12 * self.eigenvalues[0]))

    def covariance(self) -> Covariance:
        """The covariance for the theory: all D directions tracked, no bulk."""
        return Covariance(D=self.D, eigenvalues=self.eigenvalues, bulk=0.0)


def _preprocess(cfg: ImagesConfig, train_images: np.ndarray, test_images: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    from aelab.data.preprocess import apply_steps, center, scale_global

    base = ("grayscale", "to_float", "flatten")
    Xtr = apply_steps(train_images, base)
    Xte = apply_steps(test_images, base)
    mean = float(np.mean(Xtr, dtype=np.float64))
    std = float(np.std(Xtr, dtype=np.float64))
    Xtr = scale_global(Xtr, 0.5, stats=(mean, std))
    Xte = scale_global(Xte, 0.5, stats=(mean, std))
    if cfg.centring == "pixel":
        m = Xtr.mean(axis=0, dtype=np.float64)
        Xtr, Xte = center(Xtr, mean=m), center(Xte, mean=m)
    return np.ascontiguousarray(Xtr, dtype=np.float32), np.ascontiguousarray(Xte, dtype=np.float32)


def real_data_covariance(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, clipped at 0) and eigenvectors of the second moment E[x x^T] of X."""
    from aelab.data.spectra import covariance_spectrum

    w, E = covariance_spectrum(X, centered=False)
    return np.clip(w, 0.0, None), E


def load_real_data(cfg: ImagesConfig, *, data_dir: str | Path | None = None) -> RealData:
    """Load, subset and preprocess the images and diagonalise their second moment.

    Raises:
        ConfigError: unknown or missing data set (the message says how to fetch it), a
            dimension that does not match ``cfg.D``, or a covariance of rank below D from
            too few images.
    """
    from aelab.data.datasets import load_dataset
    from aelab.data.preprocess import subset

    train = load_dataset(cfg.name, "train", data_dir=data_dir)
    test = load_dataset(cfg.name, "test", data_dir=data_dir)
    tr_img = train.images
    if cfg.samples is not None:
        if cfg.samples > len(tr_img):
            raise ConfigError(f"data.samples = {cfg.samples}: {cfg.name} has only {len(tr_img)} training images")
        tr_img, _ = subset(tr_img, None, cfg.samples, np.random.default_rng(cfg.subset_seed))
    te_img = test.images[: cfg.eval_samples]
    Xtr, Xte = _preprocess(cfg, tr_img, te_img)
    D = Xtr.shape[1]
    if cfg.D is not None and cfg.D != D:
        raise ConfigError(f"data.D = {cfg.D} does not match the {cfg.name} images (D = {D})")
    if len(Xtr) < D:
        raise ConfigError(f"data.samples = {len(Xtr)} images give a singular covariance in D = {D} dimensions; "
                          f"use at least {D} images")
    w, E = real_data_covariance(Xtr)
    return RealData(name=cfg.name, train=Xtr, test=Xte, eigenvalues=w, eigenvectors=E)


def _initial_weights(K: int, D: int, init_std: float, tied: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """i.i.d. N(0, init_std^2) weights in pixel space (rotation invariant, so any basis will do)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    W = init_std * rng.standard_normal((K, D))
    V = init_std * rng.standard_normal((K, D))
    return (V.copy() if tied else W), V


def image_error(W: np.ndarray, V: np.ndarray, bias: np.ndarray, X: np.ndarray, act: Activation, *,
                tied: bool, sq_norms: np.ndarray | None = None) -> float:
    """Mean of |x - x_hat|^2 / D over the rows of X (pixel-space weights).

    Uses |x - x_hat|^2 = |x|^2 - 2 sum_k g_k (v_k . x) + g^T (V V^T) g, so the cost is two
    (n, D) x (D, K) products in the precision of X (float32 images: sgemm) and nothing of size
    (n, D) is allocated. ``sq_norms`` are the |x|^2 of the rows (computed when not given).
    """
    D = X.shape[1]
    K = V.shape[0]
    if sq_norms is None:
        sq_norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    P = (X @ np.vstack([W, V]).T.astype(X.dtype)).astype(np.float64)
    lam = P[:, K:] / D + bias if tied else P[:, :K] / np.sqrt(D) + bias
    g = act.f(lam)
    err = sq_norms - 2.0 * np.einsum("nk,nk->n", g, P[:, K:]) + np.einsum("nk,kl,nl->n", g, V @ V.T, g)
    return float(np.mean(err) / D)


def _sgd_kwargs(cfg: RealDataConfig, act: Activation) -> dict[str, Any]:
    return dict(lr=cfg.train.lr, act=act, tied=cfg.model.tied, train_bias=cfg.model.bias,
                truncated=cfg.train.rule == "truncated", weight_decay=cfg.train.weight_decay)


def _rotate(W: np.ndarray, E: np.ndarray) -> np.ndarray:
    """W @ E for a few rows W: a plain loop (einsum) costs a few ms for D = 1024 and, unlike a
    threaded BLAS call on a busy machine, never more."""
    return np.einsum("kd,dm->km", W, E)


def _record(W, V, bias, data: RealData, cov: Covariance, act: Activation, cfg: RealDataConfig, t: float,
            *, pixel_space: bool) -> dict[str, float]:
    E = data.eigenvectors
    We, Ve = (_rotate(W, E), _rotate(V, E)) if pixel_space else (W, V)
    with np.errstate(over="ignore", invalid="ignore"):
        row = {"t": t, **observables(state_from_weights(We, Ve, bias, cov, tied=cfg.model.tied), cov, act,
                                     pcs=cfg.output.pcs)}
        Wp, Vp = (W, V) if pixel_space else (_rotate(W, E.T), _rotate(V, E.T))
        row["pmse_images"] = image_error(Wp, Vp, bias, data.test, act, tied=cfg.model.tied,
                                         sq_norms=data.test_sq_norms)
    if not np.isfinite(row["pmse"]):
        raise DivergenceError(f"SGD diverged at t = {t:.6g}: non-finite error; try a smaller learning rate",
                              time=t, cause="non-finite error")
    return row


def images_sgd(cfg: RealDataConfig, data: RealData, seed: int, times: np.ndarray) -> pd.DataFrame:
    """Online SGD on the training images (epochs in fresh random orders), observables at ``times``.

    Columns as :func:`aelab.shallow.state.observables` (``pmse`` is the Gaussian population error
    of the current weights) plus ``pmse_images``, the error on the test images.
    """
    act = get_activation(cfg.model.activation)
    D, K = data.D, cfg.model.K
    init_seed = cfg.train.seeds[0] if cfg.train.shared_init else seed
    W, V = _initial_weights(K, D, cfg.model.init_std, cfg.model.tied, init_seed)
    bias = np.zeros(K)
    cov = data.covariance()
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    X = data.train
    ones = np.ones(D)
    kw = _sgd_kwargs(cfg, act)
    order, pos, done = rng.permutation(len(X)), 0, 0
    rows = []
    for target in np.round(np.asarray(times) * D).astype(np.int64):
        while done < target:
            if pos == len(order):
                order, pos = rng.permutation(len(X)), 0
            n = int(min(CHUNK, target - done, len(order) - pos))
            sgd_steps(W, V, bias, X[order[pos:pos + n]], ones, **kw)
            pos += n
            done += n
        rows.append(_record(W, V, bias, data, cov, act, cfg, done / D, pixel_space=True))
    return pd.DataFrame(rows)


def gaussian_sgd(cfg: RealDataConfig, data: RealData, seed: int, times: np.ndarray) -> pd.DataFrame:
    """Online SGD on fresh Gaussian inputs with the images' second moment (in its eigenbasis)."""
    act = get_activation(cfg.model.activation)
    D, K = data.D, cfg.model.K
    init_seed = cfg.train.seeds[0] if cfg.train.shared_init else seed
    W, V = _initial_weights(K, D, cfg.model.init_std, cfg.model.tied, init_seed)
    E = data.eigenvectors
    W, V = W @ E, V @ E
    bias = np.zeros(K)
    cov = data.covariance()
    std = np.sqrt(data.eigenvalues)
    samples = NormalStream(np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2]))
    kw = _sgd_kwargs(cfg, act)
    buf = np.empty((CHUNK, D), dtype=SAMPLE_DTYPE)
    rows, done = [], 0
    for target in np.round(np.asarray(times) * D).astype(np.int64):
        while done < target:
            n = int(min(CHUNK, target - done))
            sgd_steps(W, V, bias, samples.fill(buf[:n]), std, **kw)
            done += n
        rows.append(_record(W, V, bias, data, cov, act, cfg, done / D, pixel_space=False))
    return pd.DataFrame(rows)


def ode_theory(cfg: RealDataConfig, data: RealData, times: np.ndarray) -> pd.DataFrame:
    """The ODE over all D directions from the initial weights of the first seed."""
    act = get_activation(cfg.model.activation)
    cov = data.covariance()
    W, V = _initial_weights(cfg.model.K, data.D, cfg.model.init_std, cfg.model.tied, cfg.train.seeds[0])
    E = data.eigenvectors
    state0 = state_from_weights(W @ E, V @ E, np.zeros(cfg.model.K), cov, tied=cfg.model.tied)
    system = OdeSystem(cov=cov, act=act, lr=cfg.train.lr, K=cfg.model.K, tied=cfg.model.tied,
                       train_bias=cfg.model.bias, truncated=cfg.train.rule == "truncated",
                       weight_decay=cfg.train.weight_decay)
    states = integrate(system, state0, times, method=cfg.ode.method, rtol=cfg.ode.rtol, atol=cfg.ode.atol,
                       dt=cfg.ode.dt)
    return pd.DataFrame([{"t": t, **observables(s, cov, act, pcs=cfg.output.pcs)} for t, s in zip(times, states)])


def largest_gap(reference: pd.DataFrame, other: pd.DataFrame, column: str = "pmse",
                reference_column: str = "pmse") -> dict[str, float]:
    """max_t |other - reference| (absolute and relative to the reference) and where it occurs."""
    a = reference[reference_column].to_numpy()
    b = other[column].to_numpy()
    gap = np.abs(b - a)
    i = int(np.argmax(gap))
    return {"max_abs": float(gap[i]), "max_rel": float(np.max(gap / np.abs(a))), "time": float(reference["t"].iloc[i])}


def run_real_data(cfg: RealDataConfig, out_dir: str | Path, *, quiet: bool = True, data: RealData | None = None,
                  data_dir: str | Path | None = None) -> dict[str, Any]:
    """Theory and SGD on the images of ``cfg`` into a run folder; returns the gaps and final errors.

    Run folder: ``config.json``, ``meta.json`` (with ``gaps``), ``theory.csv``, ``images.csv``,
    ``gaussian.csv`` (seed means and ``_sem`` columns), ``spectrum.csv`` and ``figure.png``.
    """
    from aelab.progress import progress_bar
    from aelab.results import RunFolder

    start = _time.perf_counter()
    data = load_real_data(cfg.data, data_dir=data_dir) if data is None else data
    timings = {"load_seconds": _time.perf_counter() - start}
    if cfg.model.K > data.D:
        raise ConfigError(f"model.K = {cfg.model.K} exceeds the input dimension D = {data.D}")
    times = cfg.time_grid()
    folder = RunFolder(out_dir)
    folder.write_config(cfg)
    tables: dict[str, pd.DataFrame] = {}
    seeds = cfg.train.seeds
    sides = [s for s in ("theory", "images", "gaussian") if s in cfg.sides]
    with progress_bar("real data", len(sides) * (1 + len(seeds)), quiet=quiet) as bar:
        if "theory" in sides:
            t0 = _time.perf_counter()
            tables["theory"] = ode_theory(cfg, data, times)
            timings["theory_seconds"] = _time.perf_counter() - t0
            bar.advance(1 + len(seeds))
        for side, fn in (("images", images_sgd), ("gaussian", gaussian_sgd)):
            if side not in sides:
                continue
            t0 = _time.perf_counter()
            frames = []
            for s in seeds:
                frames.append(fn(cfg, data, s, times))
                bar.advance()
            tables[side] = aggregate_seeds(frames)
            timings[f"{side}_seconds"] = _time.perf_counter() - t0
            timings[f"{side}_steps_per_second"] = len(seeds) * round(times[-1] * data.D) / max(
                _time.perf_counter() - t0, 1e-12)
            bar.advance()
    for name, table in tables.items():
        folder.write_table(f"{name}.csv", table)
    folder.write_table("spectrum.csv", pd.DataFrame({"rank": np.arange(1, data.D + 1), "eigenvalue": data.eigenvalues}))
    gaps: dict[str, dict[str, float]] = {}
    if "theory" in tables:
        if "images" in tables:
            gaps["theory_vs_images"] = largest_gap(tables["theory"], tables["images"], "pmse_images")
        if "gaussian" in tables:
            gaps["theory_vs_gaussian"] = largest_gap(tables["theory"], tables["gaussian"])
    if "images" in tables and "gaussian" in tables:
        gaps["gaussian_vs_images"] = largest_gap(tables["gaussian"], tables["images"], "pmse_images")
    cov = data.covariance()
    pca = [cov.pca_error(r) for r in range(cfg.model.K + 1)]
    plot_real_data(cfg, tables, pca, gaps, folder.file("figure.png"))
    folder.write_meta(status="complete", seeds=seeds, timings=timings, gaps=gaps, pca_errors=pca,
                      data={"name": data.name, "D": data.D, "train_images": len(data.train),
                            "eval_images": len(data.test), "centring": cfg.data.centring,
                            "zero_directions": data.zero_directions, "trace_per_dim": cov.trace / data.D})
    final = {f"{k}_pmse": float(v["pmse_images" if k == "images" else "pmse"].iloc[-1]) for k, v in tables.items()}
    return {"gaps": gaps, **final, "pca_errors": pca}


def plot_real_data(cfg: RealDataConfig, tables: dict[str, pd.DataFrame], pca: list[float],
                   gaps: dict[str, dict[str, float]], path: str | Path) -> Path:
    """The three curves (theory line, real-image and Gaussian SGD markers) and the PCA errors."""
    from aelab.plots import COLORS, new_figure, save_figure, theory_and_simulation

    fig, axes = new_figure(1, 1, width=6.0, height=4.2)
    ax = axes[0, 0]
    th = tables.get("theory")
    if th is not None:
        theory_and_simulation(ax, th["t"], th["pmse"], label="ODE", color="k")
    for side, col, color, label in (("images", "pmse_images", COLORS[0], "SGD on the images"),
                                    ("gaussian", "pmse", COLORS[1], "SGD on Gaussian inputs")):
        tab = tables.get(side)
        if tab is not None:
            theory_and_simulation(ax, None, None, tab["t"], tab[col], tab.get(f"{col}_sem"), label=label, color=color)
    for r in range(1, len(pca)):
        ax.axhline(pca[r], color="0.6", lw=0.7, ls="--")
        ax.text(ax.get_xlim()[0], pca[r], f"PCA {r}", fontsize=7, color="0.4", va="bottom")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(left=0.0)
    ax.set_yscale("log")
    ax.set_xlabel("t (SGD steps / D)")
    ax.set_ylabel("error |x - x̂|² / D")
    gap = gaps.get("theory_vs_images")
    extra = f", max |ODE - images| = {gap['max_abs']:.3g}" if gap else ""
    m = cfg.model
    ax.set_title(f"{cfg.data.name} ({cfg.data.centring} centring), {m.activation}, K={m.K}, η={cfg.train.lr}{extra}",
                 fontsize=8)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
