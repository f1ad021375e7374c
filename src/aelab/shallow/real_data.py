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

The three curves come from the one shallow engine (:func:`aelab.shallow.run` with ``data.dataset``):
this module loads and preprocesses the images, maps a :class:`RealDataConfig` onto a
:class:`~aelab.shallow.config.ShallowConfig` (:func:`as_shallow_config`) and compares the sides.
"""

from __future__ import annotations

import functools
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aelab.config import StrictModel
from aelab.data.synthetic import Covariance
from aelab.errors import ConfigError
from aelab.results import RunFolder, RunResult
from aelab.shallow.config import DATASETS, ModelConfig, OdeConfig, OutputConfig, ShallowConfig, TrainConfig
from aelab.shallow.sources import image_error

__all__ = ["ImagesConfig", "RealDataConfig", "RealData", "load_real_data", "load_images", "real_data_covariance",
           "run_real_data", "compare_real_data", "RealDataResult", "as_shallow_config", "ode_theory", "images_sgd",
           "gaussian_sgd", "image_error", "largest_gap", "plot_real_data", "DATASETS"]


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
        if self.data.D is not None and self.data.D != DATASETS[self.data.name]:
            raise ValueError(f"data.D = {self.data.D} does not match {self.data.name} images (D = "
                             f"{DATASETS[self.data.name]} after grayscale); leave data.D out or set it to "
                             f"{DATASETS[self.data.name]}")
        if not self.sides:
            raise ValueError("sides: give at least one of theory, images, gaussian")
        try:
            as_shallow_config(self)  # every other rule is the shallow configuration's
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("invalid configuration: ")) from None
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


@functools.lru_cache(maxsize=2)
def _cached_images(name: str, samples: int | None, eval_samples: int, centring: str, subset_seed: int,
                   data_dir: str | None) -> RealData:
    cfg = ImagesConfig(name=name, samples=samples, eval_samples=eval_samples, centring=centring,
                       subset_seed=subset_seed)
    return load_real_data(cfg, data_dir=data_dir)


def load_images(data, *, data_dir: str | Path | None = None) -> RealData:
    """The preprocessed images of a shallow ``data`` section (or an :class:`ImagesConfig`), loaded
    once per process for the same settings."""
    name = data.name if isinstance(data, ImagesConfig) else data.dataset
    return _cached_images(name, data.samples, data.eval_samples, data.centring, data.subset_seed,
                          None if data_dir is None else str(data_dir))


def as_shallow_config(cfg: RealDataConfig) -> ShallowConfig:
    """The :class:`~aelab.shallow.config.ShallowConfig` of a real-data configuration (``data.dataset``)."""
    d = cfg.data
    data = {"dataset": d.name, "eval_samples": d.eval_samples, "centring": d.centring, "subset_seed": d.subset_seed}
    if d.samples is not None:
        data["samples"] = d.samples
    from aelab.config import validate_config

    return validate_config(ShallowConfig, {"data": data, "model": cfg.model.model_dump(),
                                           "train": cfg.train.model_dump(), "ode": cfg.ode.model_dump(),
                                           "output": cfg.output.model_dump()})


def _problem(cfg: RealDataConfig, data: RealData, inputs: str):
    from aelab.shallow.problem import resolve

    return resolve(as_shallow_config(cfg), images=data, inputs=inputs)


def ode_theory(cfg: RealDataConfig, data: RealData, times: np.ndarray) -> pd.DataFrame:
    """The ODE over all D directions from the initial weights of the first seed."""
    from aelab.shallow.theory import run_theory

    return run_theory(_problem(cfg, data, "images"), times, ode=cfg.ode)[0]


def images_sgd(cfg: RealDataConfig, data: RealData, seed: int, times: np.ndarray) -> pd.DataFrame:
    """Online SGD on the training images (epochs in fresh random orders), observables at ``times``.

    Columns as :func:`aelab.shallow.state.observables` (``pmse`` is the Gaussian population error
    of the current weights) plus ``pmse_images``, the error on the test images.
    """
    from aelab.shallow.simulation import simulate_seed

    return simulate_seed(_problem(cfg, data, "images"), seed, times)


def gaussian_sgd(cfg: RealDataConfig, data: RealData, seed: int, times: np.ndarray) -> pd.DataFrame:
    """Online SGD on fresh Gaussian inputs with the images' second moment (in its eigenbasis)."""
    from aelab.shallow.simulation import simulate_seed

    return simulate_seed(_problem(cfg, data, "gaussian"), seed, times)


def largest_gap(reference: pd.DataFrame, other: pd.DataFrame, column: str = "pmse",
                reference_column: str = "pmse") -> dict[str, float]:
    """max_t |other - reference| (absolute and relative to the reference) and where it occurs."""
    a = reference[reference_column].to_numpy()
    b = other[column].to_numpy()
    gap = np.abs(b - a)
    i = int(np.argmax(gap))
    return {"max_abs": float(gap[i]), "max_rel": float(np.max(gap / np.abs(a))), "time": float(reference["t"].iloc[i])}


class RealDataResult(RunResult):
    """The ODE, SGD on the images and SGD on Gaussian inputs of the images' covariance.

    Tables: ``theory``, ``images`` and ``gaussian`` (seed means with ``_sem`` columns; the images'
    error on held-out images is ``pmse_images``) and ``spectrum`` (rank, eigenvalue). The record's
    ``details`` hold ``gaps`` (:func:`largest_gap` of each pair), ``pca_errors`` and the data set.
    """

    kind = "shallow-real-data"
    config_model = RealDataConfig
    tables_order = ("theory", "images", "gaussian", "spectrum")

    @property
    def gaps(self) -> dict[str, dict[str, float]]:
        return dict(self.record.details.get("gaps", {}))

    def to_xarray(self):
        """The three curves on the time axis ``t`` (variables ``<side>_<column>``) and the spectrum on ``rank``."""
        import xarray as xr

        data = {}
        for side in ("theory", "images", "gaussian"):
            table = self.tables.get(side)
            if table is not None:
                t = table["t"].to_numpy()
                data.update({f"{side}_{c}": ("t", table[c].to_numpy()) for c in table.columns if c != "t"})
        coords = {"t": t}
        if "spectrum" in self.tables:
            coords["rank"] = self.tables["spectrum"]["rank"].to_numpy()
            data["eigenvalue"] = ("rank", self.tables["spectrum"]["eigenvalue"].to_numpy())
        return xr.Dataset(data, coords=coords, attrs={"kind": self.kind})

    def plot(self):
        curves = {k: v for k, v in self.tables.items() if k != "spectrum"}
        return plot_real_data(self.config, curves, self.record.details.get("pca_errors", []), self.gaps)


def compare_real_data(cfg: RealDataConfig | dict | str | Path, *, data: RealData | None = None,
              data_dir: str | Path | None = None, progress: bool = False) -> RealDataResult:
    """Theory next to SGD on real images and on their Gaussian equivalent (Refinetti & Goldt 2022, sec. 4).

    The same engine as :func:`aelab.shallow.run` with ``data.dataset`` set: the ODE over all D
    directions, SGD on the images (``data.inputs = "images"``) and on Gaussian inputs
    (``"gaussian"``), all from one initial point; ``cfg.sides`` chooses the curves.
    """
    from aelab.config import as_config
    from aelab.record import RunRecord
    from aelab.shallow.problem import resolve
    from aelab.shallow.simulation import simulate
    from aelab.shallow.theory import run_theory

    cfg = as_config(RealDataConfig, cfg)
    record = RunRecord.start("shallow-real-data", cfg, seeds=list(cfg.train.seeds))
    start = _time.perf_counter()
    shallow_cfg = as_shallow_config(cfg)
    data = load_images(cfg.data, data_dir=data_dir) if data is None else data
    timings = {"load": _time.perf_counter() - start}
    times = shallow_cfg.time_grid()
    tables: dict[str, pd.DataFrame] = {}
    sides = [s for s in ("theory", "images", "gaussian") if s in cfg.sides]
    for side in sides:
        problem = resolve(shallow_cfg, images=data, inputs="gaussian" if side == "gaussian" else "images")
        if side == "theory":
            tables["theory"], timings["theory"] = run_theory(problem, times, ode=cfg.ode, quiet=not progress)
        else:
            tables[side], _, timings[side] = simulate(problem, times, quiet=not progress)
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
    tables["spectrum"] = pd.DataFrame({"rank": np.arange(1, data.D + 1), "eigenvalue": data.eigenvalues})
    observables = {f"{k}_pmse": float(v["pmse_images" if k == "images" else "pmse"].iloc[-1])
                   for k, v in tables.items() if k != "spectrum"}
    details = {"gaps": gaps, "pca_errors": pca,
               "data": {"name": data.name, "D": data.D, "train_images": len(data.train), "eval_images": len(data.test),
                        "centring": cfg.data.centring, "zero_directions": data.zero_directions,
                        "trace_per_dim": cov.trace / data.D}}
    for side in ("images", "gaussian"):
        if side in timings:
            details[f"{side}_steps_per_second"] = len(cfg.train.seeds) * round(times[-1] * data.D) / max(
                timings[side], 1e-12)
    return RealDataResult(cfg, tables, record.finish(observables=observables, timings_s=timings, details=details))


def run_real_data(cfg: RealDataConfig, out_dir: str | Path, *, quiet: bool = True, data: RealData | None = None,
                  data_dir: str | Path | None = None, overwrite: bool = False) -> dict[str, Any]:
    """:func:`compare_real_data` into a run folder; returns the gaps, the final errors and the PCA errors.

    Run folder: ``config.json``, ``meta.json`` (``details``: gaps, PCA errors, the data),
    ``theory.csv``, ``images.csv``, ``gaussian.csv``, ``spectrum.csv`` and ``figure.png``.
    """
    from aelab.results import run_into_folder

    observables = run_into_folder(RealDataResult.kind, cfg, out_dir,
                                  lambda: compare_real_data(cfg, data=data, data_dir=data_dir, progress=not quiet),
                                  seeds=cfg.train.seeds, overwrite=overwrite)
    details = RunFolder(out_dir).record.details
    return {"gaps": details["gaps"], **observables, "pca_errors": details["pca_errors"]}


def plot_real_data(cfg: RealDataConfig, tables: dict[str, pd.DataFrame], pca: list[float],
                   gaps: dict[str, dict[str, float]], path: str | Path | None = None):
    """The three curves (theory line, real-image and Gaussian SGD markers) and the PCA errors
    (a Figure, or saved to ``path``)."""
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
    return fig if path is None else save_figure(fig, path)
