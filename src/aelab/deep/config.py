"""Settings of a random deep weight-tied autoencoder (Li & Nguyen 2019, Sec. 2.1).

Paper notation: encoder pre-activations x_l = W_l sigma_{l-1}(x_{l-1}) + b_l (l = 1..L), decoder
xhat_L = W_L^T phi_L(x_L) + v_L, xhat_l = W_l^T phi_l(xhat_{l+1}) + v_l, output phi_0(xhat_1).
W_l has N(0, sigma_{W,l}^2 / n_{l-1}) entries, b_l and v_l have N(0, sigma_{b,l}^2) and
N(0, sigma_{v,l}^2) entries, n_l / n_{l-1} = alpha_l. So sigma_l are the ENCODER activations and
phi_l the DECODER activations; phi_L ("bottleneck") acts on the encoder's last pre-activation.

:class:`DeepConfig` is the validated, serialisable description (scalars or per-layer lists);
:class:`Setting` is its resolved form: activation objects and per-layer NumPy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from aelab.activations import Activation, get_activation
from aelab.config import StrictModel
from aelab.errors import ConfigError

__all__ = ["DeepConfig", "MonteCarloConfig", "Setting", "build_config", "option_name", "parse_list"]

PerLayer = float | list[float]


def option_name(field: str) -> str:
    """The command-line option of a configuration field (``sigma_w_sq`` -> ``--sigma-w-sq``)."""
    return "--" + field.replace("_", "-")


def _check_activation(name: str, option: str) -> str:
    try:
        get_activation(name)
    except ConfigError as exc:
        raise ValueError(f"{option}: {exc}") from None
    return name


def _check_values(value: PerLayer, option: str, *, positive: bool) -> PerLayer:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError(f"{option}: empty list")
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"{option}: must be finite, got {v}")
        if positive and v <= 0:
            raise ValueError(f"{option}: must be > 0, got {v}")
        if not positive and v < 0:
            raise ValueError(f"{option}: must be >= 0, got {v}")
    return value


class DeepConfig(StrictModel):
    """A random deep weight-tied autoencoder (Li & Nguyen 2019, Sec. 2.1 and Theorem 1).

    Activations and variances are one value for every layer or a list per layer:
    ``encoder`` lists sigma_1..sigma_{L-1}, ``decoder`` lists phi_1..phi_{L-1} (L-1 entries each),
    the numeric lists have L entries (layer 1 first).
    """

    encoder: str | list[str] = Field("tanh", description="encoder activations sigma_1..sigma_{L-1}")
    decoder: str | list[str] = Field("tanh", description="decoder activations phi_1..phi_{L-1}")
    bottleneck: str | None = Field(None, description="phi_L, applied to x_L (default: the decoder's)")
    input_activation: str = Field("linear", description="sigma_0, applied to the input")
    output_activation: str = Field("linear", description="phi_0, applied to xhat_1")
    depth: int = Field(10, description="L: the number of encoder layers (2L weight layers)")
    sigma_w_sq: PerLayer = Field(1.0, description="sigma_{W,l}^2 (> 0)")
    sigma_b_sq: PerLayer = Field(0.0, description="encoder bias variances sigma_{b,l}^2 (>= 0)")
    sigma_v_sq: PerLayer = Field(0.0, description="decoder bias variances sigma_{v,l}^2 (>= 0)")
    alpha: PerLayer = Field(1.0, description="alpha_l = n_l / n_{l-1} (> 0)")
    input_variance: float = Field(1.0, description="taubar_0^2 = ||sigma_0(x)||^2 / n_0 (> 0)")

    @field_validator("encoder", "decoder")
    @classmethod
    def _acts(cls, value, info):
        names = value if isinstance(value, list) else [value]
        for name in names:
            _check_activation(name, option_name(info.field_name))
        return value

    @field_validator("bottleneck", "input_activation", "output_activation")
    @classmethod
    def _act(cls, value, info):
        return value if value is None else _check_activation(value, option_name(info.field_name))

    @field_validator("depth")
    @classmethod
    def _depth(cls, value):
        if value < 1:
            raise ValueError(f"--depth: must be >= 1, got {value}")
        return value

    @field_validator("sigma_w_sq", "alpha")
    @classmethod
    def _positive(cls, value, info):
        return _check_values(value, option_name(info.field_name), positive=True)

    @field_validator("sigma_b_sq", "sigma_v_sq")
    @classmethod
    def _non_negative(cls, value, info):
        return _check_values(value, option_name(info.field_name), positive=False)

    @field_validator("input_variance")
    @classmethod
    def _input_variance(cls, value):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"--input-variance: must be positive and finite, got {value}")
        return value

    @model_validator(mode="after")
    def _lengths(self):
        L = self.depth
        for name in ("encoder", "decoder"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != L - 1:
                raise ValueError(f"{option_name(name)}: a list needs depth - 1 = {L - 1} entries "
                                 f"(layers 1..L-1), got {len(value)}")
        for name in ("sigma_w_sq", "sigma_b_sq", "sigma_v_sq", "alpha"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != L:
                raise ValueError(f"{option_name(name)}: a list needs depth = {L} entries, got {len(value)}")
        return self

    def setting(self) -> Setting:
        """The resolved setting: activation objects and per-layer arrays."""
        return Setting.from_config(self)


class MonteCarloConfig(StrictModel):
    """Monte Carlo with real random weight-tied networks (Li & Nguyen 2019, App. B)."""

    width: int = Field(1000, description="n_0, the input width; n_l = round(n_{l-1} alpha_l)")
    samples: int = Field(20, description="independent draws of the network (and input)")
    seed: int = Field(0, description="seed of every random draw")
    dtype: Literal["float32", "float64"] = "float64"
    backend: Literal["numpy", "torch"] = "numpy"
    device: str | None = Field(None, description="torch device (default: cuda when present, else cpu)")
    weights: Literal["gaussian", "bernoulli", "uniform", "laplace"] = "gaussian"
    input: Literal["gaussian", "sign"] = Field("gaussian", description="input: Gaussian, or +1/-1 halves")

    @field_validator("width", "samples", "seed")
    @classmethod
    def _at_least(cls, value, info):
        low = {"width": 2, "samples": 1, "seed": 0}[info.field_name]
        if value < low:
            raise ValueError(f"{option_name(info.field_name)}: must be >= {low}, got {value}")
        return value


def build_config(model: type[StrictModel], data: Mapping[str, Any]):
    """Validate ``data`` into ``model``; errors become one-line :class:`ConfigError` naming the option."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        if msg.startswith("--"):
            raise ConfigError(msg) from None
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{option_name(field) if field else 'configuration'}: {msg}") from None


def parse_list(text: str, option: str, *, kind: type = float) -> Any:
    """Parse a command-line value: one number, or a comma-separated list per layer."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option}: expected a number or a comma-separated list, got {text!r}") from None
    return values[0] if len(values) == 1 else values


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
        return build_config(DeepConfig, {"encoder": encoder, "decoder": decoder, "depth": depth, **kwargs}).setting()

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
