"""Configuration of a training run: ``aelab train CONFIG``.

Four sections, validated at load time (errors name the field):

* ``data``: which data set, how many images, and the pixel range;
* ``model``: encoder depth L, widths, the four activations of Li & Nguyen (2019, Sec. 2.1)
  (encoder sigma_l, bottleneck phi_L, decoder phi_l, output phi_0), weight tying and the
  practitioners' options (batch norm, residual connections, dropout);
* ``init``: the initialisation scheme and its parameters;
* ``train``: optimiser, learning rate, batch size, number of steps, loss, seed, and how often
  to log, evaluate and checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aelab.config import StrictModel

__all__ = [
    "DataSection",
    "ModelSection",
    "InitSection",
    "TrainSection",
    "TrainConfig",
    "INIT_SCHEMES",
    "config_fingerprint",
    "config_differences",
    "RESUMABLE_KEYS",
]

#: Initialisation schemes by name (implemented in :mod:`aelab.train.init` and :mod:`aelab.train.pretraining`).
INIT_SCHEMES = (
    "gaussian",
    "xavier",
    "xavier_uniform",
    "xavier_normal",
    "he",
    "orthogonal",
    "lsuv",
    "advisor",
    "pretrain",
)

#: Keys that may change between a run and its ``--resume`` (they do not change the trajectory).
RESUMABLE_KEYS = ("train.steps", "train.checkpoint_every", "train.keep_checkpoints", "data.data_dir")


def _check_activation(name: str) -> str:
    from aelab.activations import get_activation

    get_activation(name)  # raises ConfigError (a ValueError) naming the known activations
    return name


class DataSection(StrictModel):
    """The data set: images flattened to vectors.

    Attributes:
        name: a named data set of :mod:`aelab.data` (``mnist``, ``fashion-mnist``, ...).
        data_dir: where the data sets live (default: ``$AELAB_DATA`` or the user cache).
        n_train: use the first ``n_train`` training images (all when None).
        n_test: the test loss is measured on the first ``n_test`` test images (all when None).
        scale: pixel range, ``unit`` = [0, 1] or ``symmetric`` = [-1, 1] (Li & Nguyen's setting 1).
    """

    name: str = "mnist"
    data_dir: str | None = None
    n_train: int | None = Field(default=None, ge=1)
    n_test: int | None = Field(default=1000, ge=1)
    scale: Literal["unit", "symmetric"] = "unit"


class ModelSection(StrictModel):
    """A deep fully-connected autoencoder (Li & Nguyen 2019, Sec. 2.1, weight-tied or not).

    Attributes:
        depth: encoder depth L >= 1 (the model has 2L weight layers).
        width: hidden widths n_1..n_L: one int for all, a list of L widths, or a list of L+1
            widths whose first entry is the input dimension n_0 (checked against the data).
        encoder: encoder activation sigma_l, applied to x_l for l = 1..L-1.
        bottleneck: phi_L, applied to the last encoder pre-activation x_L.
        decoder: decoder activation phi_l, applied to xhat_{l+1} for l = 1..L-1.
        output: phi_0, applied to the last decoder pre-activation.
        tied: decoder weights are the transposed encoder weights W_l^T (the paper's model).
        bias: encoder biases b_l and decoder biases v_l.
        batch_norm: batch normalisation of every pre-activation that enters a hidden activation.
        residual: identity shortcuts around hidden layers whose input and output widths agree.
        residual_scale: factor of the residual branch (default 1/sqrt(L)).
        dropout: dropout probability on hidden activations.
    """

    depth: int = 10
    width: int | list[int] = 400
    encoder: str = "tanh"
    decoder: str = "tanh"
    bottleneck: str = "relu"
    output: str = "linear"
    tied: bool = True
    bias: bool = True
    batch_norm: bool = False
    residual: bool = False
    residual_scale: float | None = Field(default=None, gt=0)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @field_validator("depth")
    @classmethod
    def _depth(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"the encoder depth L must be at least 1, got {v}")
        return v

    @field_validator("encoder", "decoder", "bottleneck", "output")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _check_activation(v)

    @field_validator("width")
    @classmethod
    def _width(cls, v: int | list[int]) -> int | list[int]:
        values = [v] if isinstance(v, int) else list(v)
        if not values or any(w < 1 for w in values):
            raise ValueError(f"widths must be positive integers, got {v}")
        return v

    @model_validator(mode="after")
    def _width_count(self) -> ModelSection:
        if isinstance(self.width, list) and len(self.width) not in (self.depth, self.depth + 1):
            raise ValueError(
                f"width: expected one width, {self.depth} widths (n_1..n_L) or {self.depth + 1} "
                f"(n_0..n_L) for depth {self.depth}, got {len(self.width)}"
            )
        return self

    def hidden_widths(self) -> list[int]:
        """The widths n_1..n_L."""
        if isinstance(self.width, int):
            return [self.width] * self.depth
        return list(self.width[-self.depth:])

    def declared_input_width(self) -> int | None:
        """n_0 when the width list declares it, else None."""
        if isinstance(self.width, list) and len(self.width) == self.depth + 1:
            return self.width[0]
        return None


class InitSection(StrictModel):
    """The initialisation scheme.

    Attributes:
        scheme: one of :data:`INIT_SCHEMES`: ``gaussian`` (W ~ N(0, sigma_w_sq/fan_in),
            b ~ N(0, sigma_b_sq), Li & Nguyen 2019), ``xavier`` (= ``xavier_uniform``),
            ``xavier_normal``, ``he``, ``orthogonal``, ``lsuv``, ``advisor`` (the theory's
            choice of sigma_w_sq, sigma_b_sq), ``pretrain`` (greedy layer-wise pretraining).
        sigma_w_sq, sigma_b_sq: the Gaussian scheme's variances (required by ``gaussian``).
        pretrain_steps: optimiser steps per layer of layer-wise pretraining.
        pretrain_lr: learning rate of pretraining (default: train.lr).
        lsuv_tol, lsuv_iters: LSUV stops when every layer's output variance is within
            ``lsuv_tol`` of 1, or after ``lsuv_iters`` rescalings per layer.
        lsuv_batch: number of training images LSUV measures variances on.
    """

    scheme: str = "xavier"
    sigma_w_sq: float | None = Field(default=None, gt=0)
    sigma_b_sq: float | None = Field(default=None, ge=0)
    pretrain_steps: int = Field(default=500, ge=1)
    pretrain_lr: float | None = Field(default=None, gt=0)
    lsuv_tol: float = Field(default=0.05, gt=0)
    lsuv_iters: int = Field(default=10, ge=1)
    lsuv_batch: int = Field(default=500, ge=2)

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, v: str) -> str:
        key = v.lower().replace("-", "_")
        if key not in INIT_SCHEMES:
            raise ValueError(f"unknown initialiser {v!r} (known: {', '.join(INIT_SCHEMES)})")
        return key

    @model_validator(mode="after")
    def _sigmas(self) -> InitSection:
        if self.scheme == "gaussian" and self.sigma_w_sq is None:
            raise ValueError("sigma_w_sq: required by scheme 'gaussian' (weights ~ N(0, sigma_w_sq/fan_in))")
        if self.scheme != "gaussian" and (self.sigma_w_sq is not None or self.sigma_b_sq is not None):
            raise ValueError(f"sigma_w_sq, sigma_b_sq: only used by scheme 'gaussian', not {self.scheme!r}")
        return self


class TrainSection(StrictModel):
    """The training loop.

    Attributes:
        optimizer: ``sgd`` (mini-batch SGD with optional momentum) or ``adam``.
        lr: learning rate (constant).
        momentum: SGD momentum (0 = plain mini-batch gradient descent, the paper's optimiser).
        batch_size: images per step (at most the number of training images).
        steps: optimiser steps.
        loss: ``normalised`` = mean over the batch of ||xhat - x||^2 / ||x||^2 (Li & Nguyen 2019,
            Sec. 3.5) or ``mse`` = mean squared error per pixel.
        seed: seed of the initialisation, the batch order and dropout.
        log_every: a history row (and a test-loss evaluation) every this many steps.
        checkpoint_every: a checkpoint every this many steps (and at the end).
        keep_checkpoints: how many of the latest checkpoints to keep.
    """

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(default=3e-3, gt=0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    batch_size: int = Field(default=250, ge=1)
    steps: int = Field(default=1000, ge=1)
    loss: Literal["normalised", "mse"] = "normalised"
    seed: int = Field(default=0, ge=0)
    log_every: int = Field(default=100, ge=1)
    checkpoint_every: int = Field(default=1000, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1)

    @field_validator("optimizer", "loss", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().lower()
            return {"normalized": "normalised"}.get(v, v)
        return v


class TrainConfig(StrictModel):
    """A complete training run (``aelab train``)."""

    data: DataSection = DataSection()
    model: ModelSection = ModelSection()
    init: InitSection = InitSection()
    train: TrainSection = TrainSection()

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.data.n_train is not None and self.train.batch_size > self.data.n_train:
            raise ValueError(
                f"train.batch_size: {self.train.batch_size} is larger than the data set "
                f"(data.n_train = {self.data.n_train})"
            )
        if self.init.scheme == "pretrain" and (self.model.batch_norm or self.model.residual):
            raise ValueError("init.scheme: 'pretrain' is not combined with model.batch_norm or model.residual")
        return self


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def _trajectory_keys(config: TrainConfig) -> dict[str, Any]:
    flat = _flat(config.model_dump(mode="json"))
    return {k: v for k, v in flat.items() if k not in RESUMABLE_KEYS}


def config_fingerprint(config: TrainConfig) -> str:
    """A hash of every key that determines the training trajectory (all but :data:`RESUMABLE_KEYS`)."""
    text = json.dumps(_trajectory_keys(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_differences(old: dict[str, Any], new: TrainConfig) -> list[str]:
    """The trajectory keys on which a stored configuration (a JSON dict) and ``new`` differ."""
    try:
        old_flat = _trajectory_keys(TrainConfig.model_validate(old))
    except Exception:  # a configuration from another version: compare raw keys
        old_flat = {k: v for k, v in _flat(old).items() if k not in RESUMABLE_KEYS}
    new_flat = _trajectory_keys(new)
    keys = sorted(set(old_flat) | set(new_flat))
    return [f"{k}: {old_flat.get(k)!r} -> {new_flat.get(k)!r}" for k in keys if old_flat.get(k) != new_flat.get(k)]
