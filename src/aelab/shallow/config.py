"""Configuration of a shallow autoencoder experiment, read by the ODE and by the simulator.

Sections: ``data`` (the input covariance), ``model`` (the autoencoder), ``train`` (online
SGD), ``ode`` (the integrator) and ``output`` (the time grid and recorded overlaps).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from aelab.config import StrictModel
from aelab.data.synthetic import Covariance, spiked_covariance

__all__ = ["DataConfig", "ModelConfig", "TrainConfig", "OdeConfig", "OutputConfig", "ShallowConfig", "DATASETS",
           "read_eigenvalues"]


#: data sets whose images the shallow theory and SGD read, with their input dimension after grayscale
DATASETS = {"cifar10": 1024, "fashion-mnist": 784, "mnist": 784}
_IMAGE_KEYS = ("centring", "eval_samples", "subset_seed")


class DataConfig(StrictModel):
    """The input distribution: one of three covariances, and where the SGD samples come from.

    * the spiked model (default): bulk I + sum_m (lambda_m D) u_m u_m^T with ``spikes`` the
      lambda_m and ``bulk`` (Refinetti & Goldt 2022, eq. 3); ``directions`` chooses the u_m in input
      space (they do not change the dynamics of Gaussian inputs, only how weights look in pixels);
    * ``eigenvalues``: the D eigenvalues of the covariance, a list or the path of a ``.npy`` or
      ``.txt`` file (a power-law spectrum, a measured one); every direction is tracked;
    * ``dataset``: a named data set of :mod:`aelab.data` (``cifar10``, ``fashion-mnist``,
      ``mnist``), preprocessed as in the paper (grayscale, [0, 1], global scalar centring and
      scaling; ``centring = "pixel"`` also subtracts the mean image); the covariance is the
      second moment of its training images, every direction tracked.

    ``inputs`` says what SGD sees: ``gaussian`` fresh samples of N(0, Omega) every step (or, with
    ``samples`` = N, a finite set of N Gaussian samples cycled over); ``images`` the rows of the
    data set (``samples`` of them, a seeded subset; all by default); ``auto`` (default): images
    for a data set, Gaussian otherwise.
    """

    D: int = Field(500, ge=1, description="input dimension (set by eigenvalues or dataset when those are given)")
    spikes: list[float] = Field(default_factory=lambda: [0.8, 0.1], description="lambda_m, spike strengths")
    bulk: float = Field(0.1, ge=0.0, description="bulk eigenvalue")
    directions: Literal["random", "sinusoidal"] = "random"
    eigenvalues: list[float] | str | None = Field(
        None, description="the D eigenvalues of the covariance, or a .npy/.txt file holding them")
    dataset: Literal["cifar10", "fashion-mnist", "mnist"] | None = Field(
        None, description="a data set whose training images give the covariance (and the SGD inputs)")
    inputs: Literal["auto", "gaussian", "images"] = "auto"
    samples: int | None = Field(None, ge=1, description="training samples: a finite set cycled over "
                                "(Gaussian), or a subset of the images; None: fresh samples / all images")
    centring: Literal["global", "pixel"] = Field(
        "global", description="images: global scalar centring and scaling (the paper's), or also the mean image")
    eval_samples: int = Field(10_000, ge=1, description="images: test images on which pmse_images is measured")
    subset_seed: int = Field(0, ge=0, description="images: seed of the training subset")

    @model_validator(mode="before")
    @classmethod
    def _dimension(cls, data):
        if not isinstance(data, dict) or "D" in data:
            return data
        if data.get("dataset") in DATASETS:
            return {**data, "D": DATASETS[data["dataset"]]}
        values = data.get("eigenvalues")
        if isinstance(values, list) and values:
            return {**data, "D": len(values)}
        if isinstance(values, str) and values.strip():
            return {**data, "D": len(read_eigenvalues(values))}
        return data

    @field_validator("spikes")
    @classmethod
    def _non_negative(cls, v: list[float]) -> list[float]:
        if any(x < 0 for x in v):
            raise ValueError("spike strengths must be non-negative")
        return v

    def _changed(self, keys) -> list[str]:
        """The ``keys`` whose values differ from their defaults."""
        fields = type(self).model_fields
        return [k for k in keys if getattr(self, k) != fields[k].get_default(call_default_factory=True)]

    @model_validator(mode="after")
    def _fits(self):
        spiked = self._changed(("spikes", "bulk", "directions"))
        if self.eigenvalues is not None and self.dataset is not None:
            raise ValueError("data.eigenvalues: give the eigenvalues or a data set, not both")
        if self.eigenvalues is not None or self.dataset is not None:
            which = "data.eigenvalues" if self.eigenvalues is not None else "data.dataset"
            if spiked:
                raise ValueError(f"{which}: excludes the spiked model's data.{spiked[0]}")
        if self.dataset is None:
            for key in self._changed(_IMAGE_KEYS):
                raise ValueError(f"data.{key}: applies to a data set only (set data.dataset)")
            if self.inputs == "images":
                raise ValueError("data.inputs: 'images' needs data.dataset")
        else:
            if self.D != DATASETS[self.dataset]:
                raise ValueError(f"data.D = {self.D} does not match {self.dataset} images (D = "
                                 f"{DATASETS[self.dataset]} after grayscale); leave data.D out")
            if self.samples is not None and self.samples < self.D:
                raise ValueError(f"data.samples = {self.samples} images give a singular covariance in D = {self.D} "
                                 f"dimensions; use at least {self.D} images")
        if self.eigenvalues is not None or self.dataset is not None:
            self.__pydantic_fields_set__.discard("D")  # derived: follows the eigenvalues or the data set
        if self.eigenvalues is not None:
            values = self.eigenvalue_array()
            if values.size != self.D:
                raise ValueError(f"data.eigenvalues: {values.size} values for data.D = {self.D}")
            if not np.all(np.isfinite(values)) or np.any(values < 0) or not np.any(values > 0):
                raise ValueError("data.eigenvalues: must be finite, non-negative and not all zero")
        elif self.dataset is None:
            if len(self.spikes) > self.D:
                raise ValueError(f"{len(self.spikes)} spikes do not fit in D = {self.D}")
            if self.bulk == 0 and not any(self.spikes):
                raise ValueError("the covariance is zero: give a positive bulk or a spike")
        return self

    @property
    def source_kind(self) -> Literal["gaussian", "finite", "images"]:
        """What SGD sees: fresh Gaussian samples, a finite Gaussian set, or the images."""
        if self.dataset is not None and self.inputs in ("auto", "images"):
            return "images"
        return "finite" if self.samples is not None and self.dataset is None else "gaussian"

    def eigenvalue_array(self) -> np.ndarray:
        """The ``eigenvalues`` as a float array (read from their file when a path is given)."""
        if isinstance(self.eigenvalues, str):
            return read_eigenvalues(self.eigenvalues)
        return np.asarray(self.eigenvalues, dtype=float)

    def covariance(self, rng: np.random.Generator | None = None, *, with_vectors: bool = False) -> Covariance:
        """The covariance this section describes (a data set's is computed from its images)."""
        if self.dataset is not None:
            from aelab.shallow.real_data import load_images

            return load_images(self).covariance()
        if self.eigenvalues is not None:
            return Covariance(D=self.D, eigenvalues=np.sort(self.eigenvalue_array())[::-1], bulk=0.0)
        return spiked_covariance(self.D, self.spikes, self.bulk,
                                 directions=self.directions if with_vectors else None, rng=rng)


@functools.lru_cache(maxsize=8)
def _read_eigenvalues(path: str, mtime_ns: int) -> np.ndarray:
    p = Path(path)
    try:
        values = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.loadtxt(p, dtype=float, ndmin=1)
    except (OSError, ValueError) as exc:
        raise ValueError(f"data.eigenvalues: cannot read {path} ({exc})") from None
    values = np.asarray(values, dtype=float).reshape(-1)
    values.setflags(write=False)
    return values


def read_eigenvalues(path: str) -> np.ndarray:
    """The eigenvalues stored in a ``.npy`` or text file (one number per line or whitespace-separated)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"data.eigenvalues: no file {path}")
    return _read_eigenvalues(str(p.resolve()), p.stat().st_mtime_ns)


class ModelConfig(StrictModel):
    """x_hat = sum_k v_k g(lambda_k), lambda_k = w_k . x / sqrt(D) + b_k (Refinetti & Goldt 2022, eq. 1).

    ``tied``: the decoder weights are the encoder weights (v_k = w_k), trained with the full
    gradient through both paths; the encoder field is then lambda_k = w_k . x / D + b_k so that
    tied and untied networks share one high-dimensional limit (equivalently v_k = sqrt(D) w_k in
    the untied normalisation). ``bias``: a trainable encoder bias b_k (initialised at 0).
    """

    K: int = Field(2, ge=1, description="hidden units")
    activation: str = Field("erf", description="erf, linear, relu, sigmoid, tanh, ... or module:attribute")
    tied: bool = False
    bias: bool = False
    init_std: float = Field(0.1, gt=0.0, description="std of the i.i.d. Gaussian initial weights")
    skip: bool = Field(False, description="a trainable skip connection: x_hat = s x_tilde + sum_k v_k g(lambda_k)")
    skip_init: float = Field(0.0, description="the skip's initial value s(0)")

    @model_validator(mode="after")
    def _skip(self):
        if self.skip_init != 0.0 and not self.skip:
            raise ValueError("model.skip_init: needs model.skip = true")
        return self

    @field_validator("activation")
    @classmethod
    def _known(cls, v: str) -> str:
        from aelab.activations import get_activation

        get_activation(v)
        return v


class TrainConfig(StrictModel):
    """Online SGD: encoder steps of size lr/D^2, decoder lr/D (and bias lr/D), time t = steps / D.

    ``rule``: ``vanilla`` SGD, or ``truncated`` SGD in which unit k reconstructs only what
    units 1..k leave (learns the individual principal components); for a tied linear network
    the truncated rule is Sanger's rule.
    ``weight_decay``: kappa >= 0; every parameter theta also moves by -lr kappa theta per unit time.
    ``input_noise``: Delta >= 0; SGD sees x_tilde = x + sqrt(Delta) xi (xi fresh each step) and
    reconstructs the clean x (docs/shallow-denoising.md). A skip (``model.skip``) moves by
    s += (lr/D) (e . x_tilde)/D, so that it changes by O(1) per unit of time like the weights.
    ``seeds``: a list of seeds, or a count n meaning seeds 0..n-1. Each seed draws its own stream
    of samples. ``shared_init`` (default): every seed starts from the initial weights of the first
    seed, so the average over seeds estimates the mean SGD trajectory from one initial point, which
    the ODE started there describes exactly as D grows; otherwise each seed draws its own initial
    weights and the theory is the average of the ODE over those initial points.
    """

    lr: float = Field(1.0, gt=0.0, description="learning rate eta")
    time: float = Field(60.0, gt=0.0, description="training time in units of D steps")
    input_noise: float = Field(0.0, ge=0.0, description="Delta: SGD sees x + sqrt(Delta) xi and reconstructs x "
                               "(a denoising autoencoder; 0: the autoencoder)")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    weight_decay: float = Field(0.0, ge=0.0)
    rule: Literal["vanilla", "truncated"] = "vanilla"
    shared_init: bool = True

    @field_validator("seeds", mode="before")
    @classmethod
    def _count_or_list(cls, v):
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                raise ValueError("a seed count must be >= 1")
            return list(range(v))
        return v

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("give at least one seed")
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        if any(s < 0 for s in v):
            raise ValueError("seeds must be non-negative")
        return v


class OdeConfig(StrictModel):
    """Integrator of the ODEs: an adaptive SciPy method or fixed-step RK4."""

    method: Literal["LSODA", "DOP853", "RK45", "Radau", "BDF", "rk4"] = "LSODA"
    rtol: float = Field(1e-8, gt=0.0, lt=1.0)
    atol: float = Field(1e-10, gt=0.0)
    dt: float = Field(0.01, gt=0.0, description="step of the fixed-step rk4 method")


class OutputConfig(StrictModel):
    """The recorded time grid and the principal directions whose overlaps are recorded."""

    points: int = Field(60, ge=2, le=100_000, description="number of recorded times, t = 0 included")
    spacing: Literal["log", "linear"] = "log"
    times: list[float] | None = Field(None, description="explicit increasing times (overrides points/spacing)")
    pcs: int = Field(4, ge=0, description="leading principal directions whose overlaps are recorded")

    @field_validator("times")
    @classmethod
    def _increasing(cls, v):
        if v is not None:
            if not v:
                raise ValueError("give at least one time")
            if any(t < 0 for t in v) or any(b <= a for a, b in zip(v, v[1:])):
                raise ValueError("times must be non-negative and strictly increasing")
        return v

    def time_grid(self, D: int, time: float) -> np.ndarray:
        """The recorded times up to ``time``, snapped to whole SGD steps (multiples of 1/D), t = 0 first."""
        if self.times is not None:
            t = np.asarray(self.times, float)
        elif self.spacing == "linear":
            t = np.linspace(0.0, time, self.points)
        else:
            first = max(1.0 / D, time / 10 ** 3)
            t = np.concatenate([[0.0], np.geomspace(first, time, self.points - 1)])
        steps = np.unique(np.round(t * D).astype(np.int64))
        return steps / D


class ShallowConfig(StrictModel):
    """A shallow autoencoder experiment: theory (ODE) and simulation (online SGD) of one setting."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    ode: OdeConfig = Field(default_factory=OdeConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _consistent(self):
        if self.model.K > self.data.D:
            raise ValueError(f"model.K = {self.model.K} exceeds data.D = {self.data.D}")
        if self.output.times is not None and self.output.times[-1] > self.train.time * (1 + 1e-12):
            raise ValueError("output.times: the last time exceeds train.time")
        if self.sanger_rule and (self.train.input_noise or self.model.skip):
            field = "train.input_noise" if self.train.input_noise else "model.skip"
            raise ValueError(f"{field}: Sanger's rule (a tied linear network with the truncated rule) has no "
                             "denoising form; untie the weights or use the vanilla rule")
        if self.train.rule == "truncated" and self.model.tied and (
                self.sanger_rule is False or self.model.bias or self.train.weight_decay):
            raise ValueError("train.rule: truncated SGD of tied weights is defined only for a linear network "
                             "without bias or weight decay (Sanger's rule); untie the weights otherwise")
        return self

    @property
    def sanger_rule(self) -> bool:
        """Tied linear network with the truncated rule: Sanger's rule (:mod:`aelab.shallow.sanger`)."""
        from aelab.activations import get_activation

        return (self.model.tied and self.train.rule == "truncated"
                and get_activation(self.model.activation).name == "linear")

    def time_grid(self) -> np.ndarray:
        """The recorded times, snapped to whole SGD steps (multiples of 1/D), t = 0 first."""
        return self.output.time_grid(self.data.D, self.train.time)

    def memory_estimate(self, *, theory: bool = True, simulation: bool = True, workers: int = 1) -> int:
        """Bytes the run needs at its peak, estimated from the configuration alone (before any allocation).

        Simulation: per concurrent seed the weights and their eigenbasis copies (4 K D float64), a
        block of samples (:data:`~aelab.shallow.sources.CHUNK` x D float32) and a finite training set
        (N x D float32); a data set's images (float32) and eigenvectors (D x D float64). Theory: the
        ODE vector of the tracked directions and, for implicit methods, its dense Jacobian.
        """
        from aelab.shallow.sources import CHUNK

        D, K = self.data.D, self.model.K
        tracked = D if self.data.eigenvalues is not None or self.data.dataset is not None else len(self.data.spikes)
        points = len(self.time_grid()) if self.output.times is not None else self.output.points
        table = 8 * points * (4 * K * K + 2 * K * min(self.output.pcs, tracked) + 2) * (1 + len(self.train.seeds))
        need = float(table)
        if simulation:
            per_seed = 8 * 4 * K * D + 4 * CHUNK * D + (4 * self.data.samples * D if self.data.samples else 0)
            need += min(workers, len(self.train.seeds)) * per_seed
        if theory:
            n = 2 * K * tracked + (2 * K) ** 2 + K
            need += 8 * n * (20 + (n if self.ode.method in ("LSODA", "Radau", "BDF") else 0))
        if self.data.dataset is not None:
            images = self.data.samples or 70_000
            need += 4 * D * (images + self.data.eval_samples) + 8 * 2 * D * D
        return int(need)

    def check_memory(self, *, theory: bool = True, simulation: bool = True, workers: int = 1,
                     allow: bool = False) -> None:
        """Refuse (a ConfigError naming the sizes) a run whose :meth:`memory_estimate` exceeds the free memory."""
        from aelab.limits import check_memory

        need = self.memory_estimate(theory=theory, simulation=simulation, workers=workers)
        check_memory(need, what=f"this run (data.D = {self.data.D}, model.K = {self.model.K})",
                     hint="lower data.D or model.K", allow=allow)
