"""Settings of a random deep weight-tied autoencoder (Li & Nguyen 2019, Sec. 2.1).

Paper notation: encoder pre-activations x_l = W_l sigma_{l-1}(x_{l-1}) + b_l (l = 1..L), decoder
xhat_L = W_L^T phi_L(x_L) + v_L, xhat_l = W_l^T phi_l(xhat_{l+1}) + v_l, output phi_0(xhat_1).
W_l has N(0, sigma_{W,l}^2 / n_{l-1}) entries, b_l and v_l have N(0, sigma_{b,l}^2) and
N(0, sigma_{v,l}^2) entries, n_l / n_{l-1} = alpha_l. So sigma_l are the ENCODER activations and
phi_l the DECODER activations; phi_L ("bottleneck") acts on the encoder's last pre-activation.

:class:`DeepConfig` is the validated, serialisable description (scalars or per-layer lists);
:class:`Setting` is its resolved form: activation objects and per-layer NumPy arrays. The runs of
:mod:`aelab.deep.results` take :class:`EvolveConfig`, :class:`SimulateConfig`,
:class:`PhaseDiagramConfig` and :class:`AdviseConfig`. Every rule lives in these models, once; an
error names the field's path (``network.sigma_w_sq: must be > 0, got 0.0``), and the command line
shows the option instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from aelab.activations import Activation, get_activation
from aelab.config import StrictModel, validate_config
from aelab.errors import ConfigError

__all__ = ["DeepConfig", "MonteCarloConfig", "Setting", "EvolveConfig", "SimulateConfig", "PhaseDiagramConfig",
           "AdviseConfig", "AXES_DEFAULTS"]

PerLayer = float | list[float]


def field_error(field: str, message: str, value: Any) -> ValidationError:
    """A validation error located at ``field`` (for a rule of a model validator that concerns one field:
    nested in another model, the error's path is ``parent.field``)."""
    return ValidationError.from_exception_data("rule", [InitErrorDetails(
        type=PydanticCustomError("rule", message), loc=(field,), input=value)])


def _activation(name: str) -> str:
    try:
        get_activation(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return name


def _activations(value: str | list[str]) -> str | list[str]:
    for name in value if isinstance(value, list) else [value]:
        _activation(name)
    return value


def _values(value: PerLayer, *, positive: bool) -> PerLayer:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError("empty list")
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"must be finite, got {v}")
        if positive and v <= 0:
            raise ValueError(f"must be > 0, got {v}")
        if not positive and v < 0:
            raise ValueError(f"must be >= 0, got {v}")
    return value


def _at_least(low: int):
    def check(value: int) -> int:
        if value < low:
            raise ValueError(f"must be >= {low}, got {value}")
        return value
    return check


def _positive(value):
    return _values(value, positive=True)


def _non_negative(value):
    return _values(value, positive=False)


#: the field types of the settings: each rule once
ActivationName = Annotated[str, AfterValidator(_activation)]
Activations = Annotated[str | list[str], AfterValidator(_activations)]
Depth = Annotated[int, AfterValidator(_at_least(1))]
Positive = Annotated[float, AfterValidator(_positive)]
NonNegative = Annotated[float, AfterValidator(_non_negative)]
PositivePerLayer = Annotated[PerLayer, AfterValidator(_positive)]
NonNegativePerLayer = Annotated[PerLayer, AfterValidator(_non_negative)]


class DeepConfig(StrictModel):
    """A random deep weight-tied autoencoder (Li & Nguyen 2019, Sec. 2.1 and Theorem 1).

    Activations and variances are one value for every layer or a list per layer:
    ``encoder`` lists sigma_1..sigma_{L-1}, ``decoder`` lists phi_1..phi_{L-1} (L-1 entries each),
    the numeric lists have L entries (layer 1 first).
    """

    encoder: Activations = Field("tanh", description="encoder activations sigma_1..sigma_{L-1}")
    decoder: Activations = Field("tanh", description="decoder activations phi_1..phi_{L-1}")
    bottleneck: ActivationName | None = Field(None, description="phi_L, applied to x_L (default: the decoder's)")
    input_activation: ActivationName = Field("linear", description="sigma_0, applied to the input")
    output_activation: ActivationName = Field("linear", description="phi_0, applied to xhat_1")
    depth: Depth = Field(10, description="L: the number of encoder layers (2L weight layers)")
    sigma_w_sq: PositivePerLayer = Field(1.0, description="sigma_{W,l}^2 (> 0)")
    sigma_b_sq: NonNegativePerLayer = Field(0.0, description="encoder bias variances sigma_{b,l}^2 (>= 0)")
    sigma_v_sq: NonNegativePerLayer = Field(0.0, description="decoder bias variances sigma_{v,l}^2 (>= 0)")
    alpha: PositivePerLayer = Field(1.0, description="alpha_l = n_l / n_{l-1} (> 0)")
    input_variance: Positive = Field(1.0, description="taubar_0^2 = ||sigma_0(x)||^2 / n_0 (> 0)")

    @model_validator(mode="after")
    def _lengths(self):
        L = self.depth
        for name in ("encoder", "decoder"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != L - 1:
                raise field_error(name, f"a list needs depth - 1 = {L - 1} entries (layers 1..L-1), got "
                                        f"{len(value)}", value)
        for name in ("sigma_w_sq", "sigma_b_sq", "sigma_v_sq", "alpha"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != L:
                raise field_error(name, f"a list needs depth = {L} entries, got {len(value)}", value)
        return self

    def setting(self) -> Setting:
        """The resolved setting: activation objects and per-layer arrays."""
        return Setting.from_config(self)


class MonteCarloConfig(StrictModel):
    """Monte Carlo with real random weight-tied networks (Li & Nguyen 2019, App. B)."""

    width: Annotated[int, AfterValidator(_at_least(2))] = Field(
        1000, description="n_0, the input width; n_l = round(n_{l-1} alpha_l)")
    samples: Annotated[int, AfterValidator(_at_least(1))] = Field(
        20, description="independent draws of the network (and input)")
    seed: Annotated[int, AfterValidator(_at_least(0))] = Field(0, description="seed of every random draw")
    dtype: Literal["float32", "float64"] = "float64"
    backend: Literal["numpy", "torch"] = "numpy"
    weights: Literal["gaussian", "bernoulli", "uniform", "laplace"] = "gaussian"
    input: Literal["gaussian", "sign"] = Field("gaussian", description="input: Gaussian, or +1/-1 halves")


class EvolveConfig(StrictModel):
    """Theorem 1 of Li & Nguyen (2019) for one network (``aelab deep evolve``, kind ``deep-evolve``)."""

    network: DeepConfig = DeepConfig()
    method: Literal["auto", "kernel", "reference"] = Field(
        "auto", description="auto (compiled kernels for registry activations), kernel or reference")


class SimulateConfig(StrictModel):
    """Random networks of one setting next to Theorem 1 (``aelab deep simulate``, kind ``deep-simulate``)."""

    network: DeepConfig = DeepConfig()
    monte_carlo: MonteCarloConfig = MonteCarloConfig()


#: the default (x_range, y_range) of each plane of a phase diagram
AXES_DEFAULTS = {"w-b": ((0.1, 4.0), (0.0, 1.0)), "beta-tau": ((0.2, 6.0), (0.01, 2.0))}


class PhaseDiagramConfig(StrictModel):
    """A phase diagram (Li & Nguyen 2019, Sec. 3.2; ``aelab deep phase-diagram``).

    ``axes`` is ``"w-b"`` for the plane (sigma_W^2, sigma_b^2) at the given ``alpha``,
    ``input_variance`` and ``sigma_v_sq``, or ``"beta-tau"`` for (beta, taubar^2), every layer at
    taubar^2 (Interpretation 1). The ranges default to the plane's (:data:`AXES_DEFAULTS`).
    """

    encoder: ActivationName = Field("tanh", description="encoder activation sigma")
    decoder: ActivationName = Field("tanh", description="decoder activation phi")
    bottleneck: ActivationName | None = Field(None, description="phi_L (default: the decoder's)")
    depth: Depth = Field(100, description="L (w-b) or the number of iterations of the maps (beta-tau)")
    axes: Literal["w-b", "beta-tau"] = "w-b"
    x_range: tuple[float, float] | None = Field(None, description="(lo, hi) of the x axis, lo > 0")
    y_range: tuple[float, float] | None = Field(None, description="(lo, hi) of the y axis, lo >= 0 (> 0 for beta-tau)")
    points: Annotated[int, AfterValidator(_at_least(2))] = Field(100, description="grid points per axis")
    alpha: Positive = Field(1.0, description="width ratio alpha (w-b)")
    input_variance: Positive = Field(1.0, description="taubar_0^2 (w-b)")
    sigma_v_sq: NonNegative = Field(0.0, description="decoder bias variance (w-b)")

    @model_validator(mode="after")
    def _ranges(self):
        defaults = AXES_DEFAULTS[self.axes]
        for name, default, positive in (("x_range", defaults[0], True),
                                        ("y_range", defaults[1], self.axes == "beta-tau")):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, default)
                continue
            lo, hi = value
            if not hi > lo:
                raise field_error(name, f"expected (lo, hi) with lo < hi, got ({lo}, {hi})", value)
            if positive and lo <= 0:
                raise field_error(name, f"values must be > 0, got {lo}", value)
            if lo < 0:
                raise field_error(name, f"values must be >= 0, got {lo}", value)
        return self


class AdviseConfig(StrictModel):
    """An initialisation to judge, or to recommend (Li & Nguyen 2019, Secs. 3.2 and 3.5; ``aelab deep advise``).

    Without ``sigma_w_sq`` and ``sigma_b_sq`` the advisor judges its own recommendation; with only
    ``sigma_w_sq``, ``sigma_b_sq`` is 0.
    """

    encoder: ActivationName = Field(description="encoder activation sigma")
    decoder: ActivationName = Field(description="decoder activation phi")
    depth: Depth = Field(description="L")
    bottleneck: ActivationName | None = Field(None, description="phi_L (default: the decoder's)")
    alpha: Positive = Field(1.0, description="width ratio of the hidden layers")
    sigma_w_sq: Positive | None = Field(None, description="a setting to judge (default: the recommended)")
    sigma_b_sq: NonNegative | None = Field(None, description="its sigma_b^2 (default 0 with sigma_w_sq)")
    input_variance: Positive = Field(1.0, description="taubar_0^2 = ||sigma_0(x)||^2 / n_0")

    def network(self, sigma_w_sq: float, sigma_b_sq: float) -> DeepConfig:
        """The network of this architecture at (sigma_W^2, sigma_b^2)."""
        return DeepConfig(encoder=self.encoder, decoder=self.decoder, depth=self.depth, bottleneck=self.bottleneck,
                          alpha=self.alpha, sigma_w_sq=sigma_w_sq, sigma_b_sq=sigma_b_sq,
                          input_variance=self.input_variance)


def _per_layer(value: PerLayer, depth: int) -> np.ndarray:
    return np.asarray(value if isinstance(value, list) else [value] * depth, dtype=float)


@dataclass(frozen=True, eq=False)
class Setting:
    """A resolved setting: per-layer arrays (index l-1 holds layer l) and activation objects.

    Attributes:
        depth: L.
        encoder: (sigma_0, ..., sigma_{L-1}).
        decoder: (phi_0, ..., phi_L).
        sigma_w_sq, sigma_b_sq, sigma_v_sq, alpha: arrays of shape (L,).
        input_variance: taubar_0^2.
    """

    depth: int
    encoder: tuple[Activation, ...]
    decoder: tuple[Activation, ...]
    sigma_w_sq: np.ndarray
    sigma_b_sq: np.ndarray
    sigma_v_sq: np.ndarray
    alpha: np.ndarray
    input_variance: float

    @classmethod
    def from_config(cls, cfg: DeepConfig) -> Setting:
        L = cfg.depth
        enc = cfg.encoder if isinstance(cfg.encoder, list) else [cfg.encoder] * (L - 1)
        dec = cfg.decoder if isinstance(cfg.decoder, list) else [cfg.decoder] * (L - 1)
        if cfg.bottleneck is not None:
            bottleneck = cfg.bottleneck
        elif isinstance(cfg.decoder, list):
            bottleneck = cfg.decoder[-1] if cfg.decoder else "linear"
        else:
            bottleneck = cfg.decoder
        return cls(
            depth=L,
            encoder=tuple(get_activation(a) for a in [cfg.input_activation, *enc]),
            decoder=tuple(get_activation(a) for a in [cfg.output_activation, *dec, bottleneck]),
            sigma_w_sq=_per_layer(cfg.sigma_w_sq, L),
            sigma_b_sq=_per_layer(cfg.sigma_b_sq, L),
            sigma_v_sq=_per_layer(cfg.sigma_v_sq, L),
            alpha=_per_layer(cfg.alpha, L),
            input_variance=float(cfg.input_variance),
        )

    @classmethod
    def make(cls, encoder: str = "tanh", decoder: str = "tanh", depth: int = 10, **kwargs: Any) -> Setting:
        """Shortcut: validate keyword arguments as a :class:`DeepConfig` and resolve them."""
        return validate_config(DeepConfig, {"encoder": encoder, "decoder": decoder, "depth": depth, **kwargs}).setting()

    @property
    def beta(self) -> np.ndarray:
        """beta_l = alpha_l sigma_{W,l}^2, the control parameter of the decoder recursion."""
        return self.alpha * self.sigma_w_sq

    @property
    def homogeneous(self) -> bool:
        """True when every layer has the same parameters and the hidden activations agree."""
        same = all(np.all(a == a[0]) for a in (self.sigma_w_sq, self.sigma_b_sq, self.sigma_v_sq, self.alpha))
        hidden_enc = {a.name for a in self.encoder[1:]}
        hidden_dec = {a.name for a in self.decoder[1:-1]}
        return bool(same and len(hidden_enc) <= 1 and len(hidden_dec) <= 1)

    def names(self) -> dict[str, Sequence[str]]:
        return {"encoder": [a.name for a in self.encoder], "decoder": [a.name for a in self.decoder]}
