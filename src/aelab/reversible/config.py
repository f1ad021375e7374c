"""Configurations of reversible random-like nets (Arora, Liang & Ma 2015), read by theory and simulation.

:class:`NetSpec` describes one net: widths from the visible layer up to the sparse top code, the
sparsity and law of the top code, the dropout keep-probability and the inference bias.
:class:`ErrorConfig` adds what a measurement needs (trials, seed). Every rule lives in these
models, once, and an error names the field (``sparsity: k = 20 exceeds hidden = 10 ...``); the
command line shows the option instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from aelab.config import StrictModel

__all__ = ["NetSpec", "ErrorConfig", "default_widths"]

Law = Literal["uniform", "constant", "exponential"]


def default_widths(visible: int, hidden: int, layers: int) -> tuple[int, ...]:
    """Widths (n_0, ..., n_L) interpolating geometrically from the visible to the hidden width."""
    return tuple(
        int(round(visible ** (1.0 - ell / layers) * hidden ** (ell / layers))) for ell in range(layers + 1)
    )


def _positive_widths(widths: tuple[int, ...]) -> tuple[int, ...]:
    if any(w <= 0 for w in widths):
        raise ValueError(f"every width must be positive, got {list(widths)}")
    return widths


def _fits(sparsity: int, hidden: int) -> int:
    if sparsity > hidden:
        raise ValueError(f"k = {sparsity} exceeds hidden = {hidden}; the top code needs k <= m")
    return sparsity


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

    @field_validator("widths")
    @classmethod
    def _widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) < 2:
            raise ValueError("give at least (visible, hidden)")
        return _positive_widths(value)

    @field_validator("sparsity")
    @classmethod
    def _sparsity(cls, value: int, info: ValidationInfo) -> int:
        widths = info.data.get("widths")
        return value if widths is None else _fits(value, widths[-1])

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
    scale-free threshold by a fixed bias, and excludes a numeric threshold (Arora, Liang & Ma 2015:
    b = -tau ||x|| or a fixed b, one of the two). The draws are split evenly over ``matrices`` independent
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

    @field_validator("sparsity")
    @classmethod
    def _sparsity(cls, value: int, info: ValidationInfo) -> int:
        hidden = info.data.get("hidden")
        return value if hidden is None else _fits(value, hidden)

    @field_validator("widths")
    @classmethod
    def _widths(cls, value: tuple[int, ...] | None, info: ValidationInfo) -> tuple[int, ...] | None:
        if value is None:
            return value
        layers = info.data.get("layers")
        if layers is not None and len(value) != layers - 1:
            raise ValueError(f"expected {layers - 1} intermediate widths for layers = {layers}, got {len(value)}")
        return _positive_widths(value)

    @field_validator("bias")
    @classmethod
    def _bias(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("threshold", "opt") != "opt":
            raise ValueError("give either threshold (b = -tau ||x||) or bias (a fixed b), not both")
        return value

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
