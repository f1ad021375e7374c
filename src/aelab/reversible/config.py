"""Configurations of reversible random-like nets (Arora, Liang & Ma 2015), read by theory and simulation.

:class:`NetSpec` describes one net: widths from the visible layer up to the sparse top code, the
sparsity and law of the top code, the dropout keep-probability and the inference bias.
:class:`ErrorConfig` adds what a measurement needs (trials, seed). :func:`check_options` validates
command-line values with messages that name the option, before any work is done.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from aelab.config import StrictModel
from aelab.errors import ConfigError

__all__ = ["NetSpec", "ErrorConfig", "default_widths", "check_options"]

Law = Literal["uniform", "constant", "exponential"]


def default_widths(visible: int, hidden: int, layers: int) -> tuple[int, ...]:
    """Widths (n_0, ..., n_L) interpolating geometrically from the visible to the hidden width."""
    return tuple(
        int(round(visible ** (1.0 - ell / layers) * hidden ** (ell / layers))) for ell in range(layers + 1)
    )


class NetSpec(StrictModel):
    """One reversible net: generative model x = s * relu(alpha W h) iterated over L layers, and its inference.

    Layer widths run from the visible layer n_0 = n up to the top n_L = m; W_l has shape
    (n_{l-1}, n_l) and alpha_l = 2/(rho n_{l-1}). Inference computes
    h^_l = relu(W_l^T h^_{l-1} + b_l) with b_l = bias - threshold * ||h^_{l-1}||.

    Args:
        widths: (n_0, ..., n_L), at least two entries.
        sparsity: k, the number of non-zeros of the top code (k <= m).
        keep_prob: rho, the dropout keep-probability on every generated layer, in (0, 1].
        nonzero: law of the non-zero entries of the top code.
        relu: apply the ReLU at inference (False: h^ = W^T x + b, the linear case).
        threshold: tau, in units of the noise scale ||h^_{l-1}||.
        bias: a fixed part of the bias b (0 for the scale-free threshold).
    """

    widths: tuple[int, ...] = (5000, 1000)
    sparsity: int = Field(10, gt=0)
    keep_prob: float = Field(1.0, gt=0.0, le=1.0)
    nonzero: Law = "uniform"
    relu: bool = True
    threshold: float = 0.0
    bias: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> NetSpec:
        if len(self.widths) < 2:
            raise ValueError("widths: give at least (visible, hidden)")
        if any(w <= 0 for w in self.widths):
            raise ValueError(f"widths: every width must be positive, got {self.widths}")
        if self.sparsity > self.widths[-1]:
            raise ValueError(f"sparsity: k={self.sparsity} exceeds the hidden width m={self.widths[-1]}")
        return self

    @property
    def layers(self) -> int:
        return len(self.widths) - 1

    @property
    def visible(self) -> int:
        return self.widths[0]

    @property
    def hidden(self) -> int:
        return self.widths[-1]

    def alpha(self, layer: int) -> float:
        """alpha_l = 2/(rho n_{l-1}) for layer l = 1..L."""
        return 2.0 / (self.keep_prob * self.widths[layer - 1])

    def with_threshold(self, tau: float) -> NetSpec:
        return self.model_copy(update={"threshold": float(tau)})


class ErrorConfig(StrictModel):
    """One measurement of the recovery error: a net, the number of draws and the seed.

    ``threshold`` may be ``"opt"`` (the minimiser of the closed-form error); ``bias`` replaces the
    scale-free threshold by a fixed bias. The draws are split evenly over ``matrices`` independent
    weight draws (at most ``trials``); ``precision`` is the floating-point type of the simulation.
    """

    hidden: int = Field(1000, gt=0)
    sparsity: int = Field(10, gt=0)
    visible: int = Field(5000, gt=0)
    layers: int = Field(1, gt=0)
    widths: tuple[int, ...] | None = None
    keep_prob: float = Field(1.0, gt=0.0, le=1.0)
    threshold: float | Literal["opt"] = "opt"
    bias: float | None = None
    relu: bool = True
    nonzero: Law = "uniform"
    trials: int = Field(1000, gt=0)
    matrices: int = Field(10, gt=0)
    precision: Literal["single", "double"] = "single"
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> ErrorConfig:
        if self.sparsity > self.hidden:
            raise ValueError(f"sparsity: k={self.sparsity} exceeds hidden m={self.hidden}")
        if self.widths is not None and len(self.widths) != self.layers - 1:
            raise ValueError(f"widths: expected {self.layers - 1} intermediate widths for {self.layers} layers")
        return self

    @property
    def per_matrix(self) -> int:
        """Draws per weight matrix."""
        return -(-self.trials // min(self.matrices, self.trials))

    @property
    def dtype(self):
        import numpy as np

        return np.float32 if self.precision == "single" else np.float64

    def all_widths(self) -> tuple[int, ...]:
        if self.widths is None:
            return default_widths(self.visible, self.hidden, self.layers)
        return (self.visible, *self.widths, self.hidden)

    def net(self, threshold: float | None = None) -> NetSpec:
        """The :class:`NetSpec`; ``threshold`` replaces ``"opt"`` once it has been resolved."""
        if self.bias is not None:
            tau, bias = 0.0, self.bias
        else:
            tau = threshold if threshold is not None else (0.0 if self.threshold == "opt" else self.threshold)
            bias = 0.0
        return NetSpec(widths=self.all_widths(), sparsity=self.sparsity, keep_prob=self.keep_prob,
                       nonzero=self.nonzero, relu=self.relu, threshold=float(tau), bias=float(bias))


def _finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ConfigError(f"{name}: must be a finite number, got {value}")


def check_options(
    *,
    hidden: int,
    sparsity: int,
    visible: int,
    keep_prob: float,
    threshold: float | str | None,
    bias: float | None,
    nonzero: str,
    layers: int,
    trials: int,
    widths: tuple[int, ...] | None = None,
    matrices: int = 1,
) -> None:
    """Validate command-line values; raise :class:`ConfigError` naming the option on the first problem."""
    for name, value in (("--hidden", hidden), ("--sparsity", sparsity), ("--visible", visible),
                        ("--layers", layers), ("--trials", trials)):
        if value <= 0:
            raise ConfigError(f"{name}: must be a positive integer, got {value}")
    if matrices <= 0:
        raise ConfigError(f"--matrices: must be a positive integer, got {matrices}")
    if sparsity > hidden:
        raise ConfigError(f"--sparsity: k={sparsity} exceeds --hidden m={hidden}; the code needs k <= m")
    if not math.isfinite(keep_prob) or not 0.0 < keep_prob <= 1.0:
        raise ConfigError(f"--keep-prob: must be in (0, 1], got {keep_prob}")
    if isinstance(threshold, str):
        if threshold != "opt":
            raise ConfigError(f"--threshold: expected a finite number or 'opt', got {threshold!r}")
    else:
        _finite("--threshold", threshold)
    _finite("--bias", bias)
    if bias is not None and threshold is not None and threshold != "opt":
        raise ConfigError("--bias: give either --threshold (b = -tau ||x||) or --bias (a fixed b), not both")
    if nonzero not in ("uniform", "constant", "exponential"):
        raise ConfigError(f"--nonzero: expected uniform, constant or exponential, got {nonzero!r}")
    if widths is not None:
        if len(widths) != layers - 1:
            raise ConfigError(f"--widths: expected {layers - 1} intermediate widths for --layers {layers}, "
                              f"got {len(widths)}")
        if any(w <= 0 for w in widths):
            raise ConfigError(f"--widths: every width must be positive, got {list(widths)}")


def parse_threshold(text: str | None) -> float | str | None:
    """Parse ``--threshold``: a number or ``opt``; ConfigError names the option otherwise."""
    if text is None:
        return None
    text = text.strip().lower()
    if text in ("opt", "optimal", "auto"):
        return "opt"
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--threshold: expected a finite number or 'opt', got {text!r}") from None
    _finite("--threshold", value)
    return value
