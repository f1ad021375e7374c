"""Initialisation schemes, as ``torch.nn.init``-style functions, for tensors and for whole autoencoders.

Tensor functions (``fn_(tensor, ..., generator=None)``, in place, returning the tensor, like
``torch.nn.init``; the weight layout is (fan_out, fan_in) as in ``torch.nn.Linear``):

* :func:`gaussian_` W_ij ~ N(0, sigma_w_sq / fan_in) and :func:`gaussian_bias_` b_i ~ N(0, sigma_b_sq)
  (Li & Nguyen 2019, ICLR, Sec. 2.1);
* :func:`xavier_uniform_` U(-a, a), a = sqrt(6 / (fan_in + fan_out)) and :func:`xavier_normal_`
  N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010);
* :func:`he_` N(0, 2 / ((1 + slope^2) fan_in)) (He et al. 2015, for (leaky) ReLU);
* :func:`orthogonal_` a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

Autoencoder functions (in place, with an explicit ``torch.Generator``, returning what was chosen):

* :func:`init_autoencoder_` any scheme by name, on a :class:`~aelab.train.models.DeepAutoencoder`
  or on any module whose ``nn.Linear`` layers form an autoencoder (a user's ``nn.Sequential``);
* :func:`li_nguyen_` the Gaussian law of Li & Nguyen (2019, Sec. 2.1), with the variances the
  theory recommends (:func:`aelab.deep.advisor.recommend_init`) unless they are given;
* :func:`lsuv_` (Mishkin & Matas 2016: orthogonal, then each layer rescaled to unit output
  variance on a data batch);
* :func:`initialise` what ``aelab train`` calls (the same as :func:`init_autoencoder_`).

Every scheme sees a model through :func:`autoencoder_layers`: encoder layers W_1..W_L in forward
order and decoder layers D_1..D_L indexed like the paper's, D_l mirroring W_l (so the forward
order of the decoder is D_L, ..., D_1), each with the activation that follows it. Draws are made
in the order W_1..W_L, D_1..D_L, b_1..b_L, so a generator's state determines the result.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aelab.errors import ConfigError

__all__ = [
    "gaussian_",
    "gaussian_bias_",
    "xavier_uniform_",
    "xavier_normal_",
    "he_",
    "orthogonal_",
    "lsuv_",
    "li_nguyen_",
    "init_autoencoder_",
    "initialise",
    "autoencoder_layers",
    "AutoencoderLayers",
    "Layer",
    "advisor_variances",
    "he_slope",
    "keep_torch_threads",
    "WEIGHT_INITIALISERS",
    "SCHEMES",
]

xavier_uniform_ = nn.init.xavier_uniform_
xavier_normal_ = nn.init.xavier_normal_
orthogonal_ = nn.init.orthogonal_


def _fan_in(tensor: torch.Tensor) -> int:
    if tensor.dim() != 2:
        raise ConfigError(f"initialiser: expected a weight matrix (fan_out, fan_in), got shape {tuple(tensor.shape)}")
    return tensor.shape[1]


def gaussian_(tensor: torch.Tensor, sigma_w_sq: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a weight matrix with N(0, sigma_w_sq / fan_in) entries (Li & Nguyen 2019, Sec. 2.1).

    A decoder matrix D_l (n_{l-1} x n_l) is drawn like W_l^T with ``gaussian_(D.t(), ...)``:
    variance sigma_w_sq / n_{l-1}.

    Args:
        tensor: weight matrix of shape (fan_out, fan_in).
        sigma_w_sq: sigma_W^2 > 0.
        generator: torch generator of the draws.
    """
    if not sigma_w_sq > 0:
        raise ConfigError(f"init.sigma_w_sq: must be positive, got {sigma_w_sq}")
    return nn.init.normal_(tensor, 0.0, math.sqrt(sigma_w_sq / _fan_in(tensor)), generator=generator)


def gaussian_bias_(tensor: torch.Tensor, sigma_b_sq: float = 0.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a bias vector with N(0, sigma_b_sq) entries, zeros when sigma_b_sq = 0 (Li & Nguyen 2019, Sec. 2.1)."""
    if sigma_b_sq < 0:
        raise ConfigError(f"init.sigma_b_sq: must be non-negative, got {sigma_b_sq}")
    if sigma_b_sq == 0:
        return nn.init.zeros_(tensor)
    return nn.init.normal_(tensor, 0.0, math.sqrt(sigma_b_sq), generator=generator)


def he_(tensor: torch.Tensor, slope: float = 0.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """He/Kaiming normal: N(0, 2 / ((1 + slope^2) fan_in)) (He et al. 2015, Eq. 10 with leaky slope)."""
    return gaussian_(tensor, 2.0 / (1.0 + slope * slope), generator=generator)


def he_slope(activation: str) -> float:
    """The negative-side slope He's formula uses for an activation (0 unless leaky ReLU)."""
    from aelab.activations import get_activation

    name = get_activation(activation).name
    match = re.fullmatch(r"leaky_relu(?:\((.+)\))?", name)
    if match:
        return float(match.group(1)) if match.group(1) else 0.01
    return 0.0


#: Weight initialisers by scheme name: ``fn(tensor, activation_name, generator)``.
WEIGHT_INITIALISERS: dict[str, Callable[[torch.Tensor, str, torch.Generator], torch.Tensor]] = {
    "xavier": lambda t, act, g: xavier_uniform_(t, generator=g),
    "xavier_uniform": lambda t, act, g: xavier_uniform_(t, generator=g),
    "xavier_normal": lambda t, act, g: xavier_normal_(t, generator=g),
    "he": lambda t, act, g: he_(t, he_slope(_named(act, "he")), generator=g),
    "orthogonal": lambda t, act, g: orthogonal_(t, generator=g),
}

#: Every scheme :func:`init_autoencoder_` knows (``pretrain`` is :func:`aelab.train.pretraining.pretrain`).
SCHEMES = ("gaussian", "advisor", *WEIGHT_INITIALISERS, "lsuv")


# ---------------------------------------------------------------------------------------- layers
@dataclass(frozen=True)
class Layer:
    """One weight layer of an autoencoder, as the initialisers see it.

    Attributes:
        weight: the (fan_out, fan_in) matrix; None for a weight-tied decoder layer (its matrix is W_l^T).
        bias: the bias vector, or None.
        activation: the name (:mod:`aelab.activations`) of the activation applied to the layer's
            output, or None when it is not known.
        module: the ``nn.Linear`` holding the layer, if any.
    """

    weight: torch.Tensor | None
    bias: torch.Tensor | None
    activation: str | None
    module: nn.Module | None = None


@dataclass(frozen=True)
class AutoencoderLayers:
    """The weight layers of an autoencoder in the paper's indexing (Li & Nguyen 2019, Sec. 2.1).

    Attributes:
        encoder: W_1..W_L in forward order (W_l maps n_{l-1} -> n_l).
        decoder: D_1..D_L, D_l mirroring W_l (n_l -> n_{l-1}); the forward order is D_L..D_1.
        model: the module they belong to.
    """

    encoder: tuple[Layer, ...]
    decoder: tuple[Layer, ...]
    model: nn.Module

    @property
    def depth(self) -> int:
        """The encoder depth L."""
        return len(self.encoder)

    @property
    def widths(self) -> list[int]:
        """n_0, n_1, ..., n_L from the encoder's matrices."""
        return [self.encoder[0].weight.shape[1], *(layer.weight.shape[0] for layer in self.encoder)]

    def forward_order(self) -> list[Layer]:
        """The layers in the order a forward pass meets them: W_1..W_L, D_L..D_1."""
        return [*self.encoder, *reversed(self.decoder)]

    def activations(self) -> dict[str, str]:
        """The activations the theory names: sigma (encoder), phi_L (bottleneck), phi_l (decoder), phi_0 (output).

        sigma is the activation after W_1..W_{L-1} and phi_l the one after D_L..D_2; at depth
        L = 1 there are none, and sigma is taken to be phi_L and phi_l to be sigma. phi_0 (None
        when not known) is not needed by the theory's recommendation.

        Raises:
            ConfigError: sigma, phi_L or phi_l is not known, or the hidden layers of one side differ.
        """
        def one(layers: Sequence[Layer], role: str, fallback: str | None) -> str | None:
            names = {layer.activation for layer in layers}
            if not layers:
                return fallback
            if None in names:
                raise ConfigError(f"initialiser: the {role} activation of {type(self.model).__name__} is not "
                                  f"known; name it (e.g. {role}='tanh')")
            if len(names) > 1:
                raise ConfigError(f"initialiser: the {role} layers have different activations "
                                  f"({', '.join(sorted(names))}); the theory takes one")
            return names.pop()

        bottleneck = one(self.encoder[-1:], "bottleneck", None)
        encoder = one(self.encoder[:-1], "encoder", bottleneck)
        decoder = one(self.decoder[1:], "decoder", encoder)
        output = self.decoder[0].activation  # phi_0: not part of the theory's recommendation
        return {"encoder": encoder, "bottleneck": bottleneck, "decoder": decoder, "output": output}


def _module_activation(module: nn.Module) -> str | None:
    """The activation name of a torch activation module (None for one aelab does not know)."""
    from aelab.activations import leaky_relu

    if isinstance(module, nn.Identity):
        return "linear"
    if isinstance(module, nn.LeakyReLU):
        return leaky_relu(float(module.negative_slope)).name
    if isinstance(module, nn.Hardtanh) and (module.min_val, module.max_val) == (-1.0, 1.0):
        return "hardtanh"
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return "softplus"
    for cls, name in ((nn.Tanh, "tanh"), (nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid")):
        if isinstance(module, cls):
            return name
    return None


def _is_activation_module(module: nn.Module) -> bool:
    return type(module).__module__ == "torch.nn.modules.activation" or isinstance(module, nn.Identity)


#: Modules that may stand between a layer and its activation without changing which it is.
_NEUTRAL = (nn.Dropout, nn.AlphaDropout, nn.BatchNorm1d, nn.LayerNorm, nn.Flatten, nn.Unflatten)


def _flat_sequence(module: nn.Sequential) -> list[nn.Module]:
    """The modules of a (nested) ``nn.Sequential`` in the order its forward pass runs them."""
    out: list[nn.Module] = []
    for child in module:
        out.extend(_flat_sequence(child) if isinstance(child, nn.Sequential) else [child])
    return out


def _activations_found(model: nn.Module) -> dict[int, str | None]:
    """The activation after each ``nn.Linear`` whose successor is known, by ``id`` of the layer.

    Inside an ``nn.Sequential`` the forward order is known: a layer's activation is the first
    activation module after it (across dropout and normalisation), linear when the next layer
    comes first, unknown (None) when another kind of module does. The last layer of the model
    itself, when it is a Sequential, is followed by nothing (linear); the last layer of a
    Sequential inside another module, or a layer outside any Sequential, is followed by what
    that module's forward does: unknown.
    """
    found: dict[int, str | None] = {}

    def scan(items: list[nn.Module], end_known: bool) -> None:
        current: nn.Linear | None = None
        for m in items:
            if isinstance(m, nn.Linear):
                if current is not None:
                    found[id(current)] = "linear"
                current = m
            elif current is None or isinstance(m, _NEUTRAL):
                continue
            else:
                found[id(current)] = _module_activation(m) if _is_activation_module(m) else None
                current = None
        if current is not None:
            found[id(current)] = "linear" if end_known else None

    if isinstance(model, nn.Sequential):
        scan(_flat_sequence(model), True)
        return found
    inside: set[int] = set()
    for m in model.modules():
        if isinstance(m, nn.Sequential) and id(m) not in inside:
            inside.update(id(s) for s in m.modules())
            scan(_flat_sequence(m), False)
    return found


def _named(activation: str | None, scheme: str) -> str:
    if activation is None:
        raise ConfigError(f"init.scheme {scheme!r}: a layer's activation is not known; name the activations "
                          "(encoder=, bottleneck=, decoder=, output=)")
    return activation


def autoencoder_layers(
    model: nn.Module,
    *,
    encoder_layers: Sequence[nn.Linear] | None = None,
    decoder_layers: Sequence[nn.Linear] | None = None,
    encoder: str | None = None,
    bottleneck: str | None = None,
    decoder: str | None = None,
    output: str | None = None,
) -> AutoencoderLayers:
    """The weight layers of an autoencoder, for the initialisers.

    A :class:`~aelab.train.models.DeepAutoencoder` knows its layers and activations. Any other
    module: its ``nn.Linear`` layers in the order of ``model.modules()`` (the forward order of an
    ``nn.Sequential``, the order of registration otherwise; they must chain), the first half the
    encoder and the second half the decoder, or the layers given in ``encoder_layers`` and
    ``decoder_layers`` (each in forward order). Within an ``nn.Sequential`` the activation of a
    layer is that of the first torch activation module after it (``nn.Tanh``, ``nn.ReLU``,
    ``nn.LeakyReLU``, ``nn.Sigmoid``, ...; linear when the next layer comes first); where the
    forward order is not known (functional activations in a module's ``forward``) it is
    unknown, and the schemes that need it (``he``, ``advisor``) ask for the names.

    Args:
        model: the autoencoder.
        encoder_layers, decoder_layers: its layers, when not the two halves of its ``nn.Linear`` layers.
        encoder, bottleneck, decoder, output: activation names that replace those found (sigma
            after W_1..W_{L-1}, phi_L after W_L, phi_l after D_L..D_2, phi_0 after D_1).
    """
    from aelab.activations import get_activation
    from aelab.train.models import DeepAutoencoder

    for name in (encoder, bottleneck, decoder, output):
        if name is not None:
            get_activation(name)  # a ConfigError naming the known activations
    if isinstance(model, DeepAutoencoder):
        if encoder_layers is not None or decoder_layers is not None:
            raise ConfigError("initialiser: a DeepAutoencoder knows its layers (no encoder_layers, decoder_layers)")
        given = {"encoder": encoder, "bottleneck": bottleneck, "decoder": decoder, "output": output}
        names = {k: v if v is not None else model.activation_names[k] for k, v in given.items()}
        L = model.depth
        enc = tuple(Layer(model.weight[i], model.enc_bias[i] if model.enc_bias is not None else None,
                          names["encoder"] if i < L - 1 else names["bottleneck"]) for i in range(L))
        dec = tuple(Layer(model.dec_weight[i] if model.dec_weight is not None else None,
                          model.dec_bias[i] if model.dec_bias is not None else None,
                          names["decoder"] if i > 0 else names["output"]) for i in range(L))
        return AutoencoderLayers(enc, dec, model)

    found = _activations_found(model)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if (encoder_layers is None) != (decoder_layers is None):
        raise ConfigError("initialiser: give both encoder_layers and decoder_layers, or neither")
    if encoder_layers is None:
        if not linears or len(linears) % 2:
            raise ConfigError(f"initialiser: {type(model).__name__} has {len(linears)} nn.Linear layers; an "
                              "autoencoder's first half is its encoder and its second half its decoder (or give "
                              "encoder_layers and decoder_layers)")
        half = len(linears) // 2
        encoder_layers, decoder_layers = linears[:half], linears[half:]
        for a, b in zip(linears, linears[1:]):
            if a.out_features != b.in_features:
                raise ConfigError(f"initialiser: the nn.Linear layers of {type(model).__name__} do not chain in the "
                                  f"order of model.modules() ({a} then {b}); give encoder_layers and decoder_layers")
    encoder_layers, decoder_layers = list(encoder_layers), list(decoder_layers)
    if not encoder_layers or not decoder_layers:
        raise ConfigError("initialiser: the encoder and the decoder need at least one layer each")
    for layer in (*encoder_layers, *decoder_layers):
        if not isinstance(layer, nn.Linear):
            raise ConfigError(f"initialiser: expected nn.Linear layers, got {type(layer).__name__}")
    L = len(encoder_layers)

    def make(layer: nn.Linear, name: str | None) -> Layer:
        return Layer(layer.weight, layer.bias, name if name is not None else found.get(id(layer)), layer)

    enc = tuple(make(layer, encoder if i < L - 1 else bottleneck) for i, layer in enumerate(encoder_layers))
    # decoder_layers are in forward order D_L..D_1; the paper's index l runs the other way
    dec = tuple(make(layer, decoder if l > 1 else output)
                for l, layer in zip(range(len(decoder_layers), 0, -1), decoder_layers))[::-1]
    return AutoencoderLayers(enc, dec, model)


# ---------------------------------------------------------------------------------------- schemes
def _zero_biases(layers: AutoencoderLayers) -> None:
    for layer in (*layers.encoder, *layers.decoder):
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def _fill(layers: AutoencoderLayers, fn: Callable[[torch.Tensor, str | None], Any]) -> None:
    """``fn(weight, activation)`` on W_1..W_L, then on the untied D_1..D_L; then zero biases."""
    with torch.no_grad():
        for layer in (*layers.encoder, *layers.decoder):
            if layer.weight is not None:
                fn(layer.weight, layer.activation)
        _zero_biases(layers)


def _draw_gaussian(layers: AutoencoderLayers, sigma_w_sq: float, sigma_b_sq: float,
                   generator: torch.Generator) -> None:
    """Li & Nguyen's law (2019, Sec. 2.1): W_l ~ N(0, sigma_W^2 / n_{l-1}), b_l ~ N(0, sigma_b^2), v_l = 0
    (Sec. 3.5); an untied D_l is drawn like W_l^T (N(0, sigma_W^2 / n_{l-1})), the law of the tied network."""
    with torch.no_grad():
        for layer in layers.encoder:
            gaussian_(layer.weight, sigma_w_sq, generator=generator)
        for layer in layers.decoder:
            if layer.weight is not None:
                gaussian_(layer.weight.t(), sigma_w_sq, generator=generator)
        _zero_biases(layers)
        for layer in layers.encoder:
            if layer.bias is not None:
                gaussian_bias_(layer.bias, sigma_b_sq, generator=generator)


def _input_variance(data: torch.Tensor | None, input_variance: float | None) -> float:
    """taubar_0^2 = ||x||^2 / n_0 averaged over ``data`` (Li & Nguyen 2019, Sec. 2.1), 1 without data."""
    if input_variance is not None:
        return float(input_variance)
    return float(data.double().square().mean()) if data is not None and data.numel() else 1.0


def _advice(layers: AutoencoderLayers, data: torch.Tensor | None, input_variance: float | None) -> dict[str, Any]:
    """The advisor's (sigma_W^2, sigma_b^2) for these layers and what it was asked."""
    try:
        from aelab.deep.advisor import recommend_init
    except ImportError as exc:
        raise ConfigError(f"init.scheme: 'advisor' needs aelab.deep.advisor ({exc})") from None
    names = layers.activations()
    w = layers.widths
    ratios = [w[l] / w[l - 1] for l in range(2, len(w))]
    alpha = sum(ratios) / len(ratios) if ratios else 1.0
    tau_sq = _input_variance(data, input_variance)
    sigma_w_sq, sigma_b_sq = _recommend_cached(recommend_init, names["encoder"], names["decoder"], layers.depth,
                                               alpha, names["bottleneck"], tau_sq)
    return {"sigma_w_sq": sigma_w_sq, "sigma_b_sq": sigma_b_sq, "source": "advisor", "encoder": names["encoder"],
            "decoder": names["decoder"], "bottleneck": names["bottleneck"], "depth": layers.depth, "alpha": alpha,
            "input_variance": tau_sq}


def advisor_variances(model: nn.Module, data: torch.Tensor | None = None, **layers_kw: Any) -> tuple[float, float]:
    """(sigma_W^2, sigma_b^2) that the Li & Nguyen (2019, Secs. 3.2, 3.5) theory recommends for a model.

    Uses :func:`aelab.deep.advisor.recommend_init` with the model's encoder, decoder and
    bottleneck activations and depth (see :func:`autoencoder_layers`; ``layers_kw`` goes there),
    alpha = the mean hidden fan-out/fan-in ratio n_l / n_{l-1} (l = 2..L), and the input
    variance taubar_0^2 = ||x||^2 / n_0 averaged over ``data`` (1 when no data are given).
    """
    advice = _advice(autoencoder_layers(model, **layers_kw), data, None)
    return advice["sigma_w_sq"], advice["sigma_b_sq"]


@functools.lru_cache(maxsize=256)
def _recommend_cached(recommend_init, encoder: str, decoder: str, depth: int, alpha: float, bottleneck: str,
                      input_variance: float) -> tuple[float, float]:
    """The advisor's recommendation, computed once per architecture and input variance in a process.

    The theory's numba kernels share the OpenMP runtime with torch and can change its thread
    count, so torch's is restored afterwards.
    """
    with keep_torch_threads():
        sigma_w_sq, sigma_b_sq = recommend_init(encoder, decoder, depth, alpha=alpha, bottleneck=bottleneck,
                                                input_variance=input_variance)
    return float(sigma_w_sq), float(sigma_b_sq)


@contextlib.contextmanager
def keep_torch_threads():
    """Restore torch's thread count on exit (the theory's numba kernels share its OpenMP runtime)."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------- LSUV
def _unit_variance(weight: torch.Tensor, layer: Callable[[], torch.Tensor], tol: float, max_iter: int) -> torch.Tensor:
    """Divide ``weight`` by the standard deviation of ``layer()`` until |Var - 1| < tol
    (Mishkin & Matas 2016, Alg. 1)."""
    out = layer()
    for _ in range(max_iter):
        var = float(out.var())
        if not math.isfinite(var) or var <= 0 or abs(var - 1.0) < tol:
            break
        weight.div_(math.sqrt(var))
        out = layer()
    return out


def _lsuv_deep(model, x: torch.Tensor, tol: float, max_iter: int) -> list[float]:
    """LSUV's rescaling on a DeepAutoencoder: encoder layers 1..L, then the untied decoder's L..2."""
    variances: list[float] = []

    def rescale(weight, layer):
        out = _unit_variance(weight, layer, tol, max_iter)
        variances.append(float(out.var()))
        return out

    h = z = x.to(model.weight[0].dtype)
    for i in range(model.depth):
        z = rescale(model.weight[i], lambda i=i, h=h, z=z: model.encoder_layer(i, h, z))
        h = model.encoder_activation(i, z)
    if model.dec_weight is not None:
        u = h
        for i in reversed(range(1, model.depth)):
            z = rescale(model.dec_weight[i], lambda i=i, u=u, z=z: model.decoder_layer(i, u, z))
            u = model.decoder_activation(i, z)
    return variances


def _lsuv_modules(layers: AutoencoderLayers, x: torch.Tensor, tol: float, max_iter: int) -> list[float]:
    """LSUV's rescaling on any module: every layer but the output layer, in forward order, its
    output measured by a forward hook on a forward pass of the whole model."""
    variances: list[float] = []
    for layer in layers.forward_order()[:-1]:
        seen: list[torch.Tensor] = []
        handle = layer.module.register_forward_hook(lambda m, args, out: seen.append(out))

        def measure() -> torch.Tensor:
            seen.clear()
            layers.model(x)
            return seen[-1]

        try:
            variances.append(float(_unit_variance(layer.weight, measure, tol, max_iter).var()))
        finally:
            handle.remove()
    return variances


def lsuv_(model: nn.Module, x: torch.Tensor, *, tol: float = 0.05, max_iter: int = 10,
          generator: torch.Generator | None = None, **layers_kw: Any) -> dict[str, Any]:
    """Layer-sequential unit-variance initialisation (Mishkin & Matas 2016, Alg. 1).

    Orthogonal weights and zero biases, then, layer by layer from the input, W_l is divided by
    the standard deviation of its output (pre-activation) on the batch ``x`` until
    |Var - 1| < ``tol`` or ``max_iter`` rescalings. Encoder layers 1..L, then for an untied model
    the decoder layers L..2 (the output layer keeps its orthogonal scale: its target is the data).

    Args:
        model: a :class:`~aelab.train.models.DeepAutoencoder` or any autoencoder module
            (:func:`autoencoder_layers`, to which ``layers_kw`` goes).
        x: a batch of training inputs, shape (batch, n_0).
        tol, max_iter: stopping rule.
        generator: of the orthogonal draws.

    Returns:
        ``{"lsuv_variances": [...]}``: each processed layer's output variance after rescaling.
    """
    from aelab.train.models import DeepAutoencoder

    layers = autoencoder_layers(model, **layers_kw)
    _fill(layers, lambda w, act: orthogonal_(w, generator=generator))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if isinstance(model, DeepAutoencoder):
                variances = _lsuv_deep(model, x, tol, max_iter)
            else:
                variances = _lsuv_modules(layers, x.to(layers.encoder[0].weight.dtype), tol, max_iter)
    finally:
        model.train(was_training)
    return {"lsuv_variances": variances}


# ---------------------------------------------------------------------------------------- by name
def init_autoencoder_(
    model: nn.Module,
    scheme: str = "advisor",
    *,
    generator: torch.Generator,
    sigma_w_sq: float | None = None,
    sigma_b_sq: float | None = None,
    data: torch.Tensor | None = None,
    input_variance: float | None = None,
    lsuv_tol: float = 0.05,
    lsuv_iters: int = 10,
    **layers: Any,
) -> dict[str, Any]:
    """Initialise an autoencoder in place by scheme name; deterministic given ``generator``.

    The model is a :class:`~aelab.train.models.DeepAutoencoder` or any module whose ``nn.Linear``
    layers form an autoencoder, e.g. ``nn.Sequential(nn.Linear(784, 256), nn.Tanh(),
    nn.Linear(256, 784))``. ``layers`` (``encoder_layers``, ``decoder_layers``, ``encoder``,
    ``bottleneck``, ``decoder``, ``output``) go to :func:`autoencoder_layers`, which says how the
    layers and their activations are found.

    Schemes:

    * ``gaussian``: Li & Nguyen's law (2019, ICLR, Sec. 2.1) W_l ~ N(0, sigma_w_sq / n_{l-1}),
      b_l ~ N(0, sigma_b_sq), decoder biases v_l = 0 (Sec. 3.5); an untied decoder matrix D_l
      (n_{l-1} x n_l) is drawn like W_l^T, N(0, sigma_w_sq / n_{l-1}), so that the untied network
      starts with the law of the paper's weight-tied one, the law the theory speaks of;
    * ``advisor``: the same with the (sigma_W^2, sigma_b^2) that the theory recommends
      (:func:`aelab.deep.advisor.recommend_init`, Secs. 3.2 and 3.5) for the activations, the depth
      L, the width ratio alpha and the input variance taubar_0^2 of ``data`` (or ``input_variance``);
    * ``xavier`` = ``xavier_uniform``, ``xavier_normal``, ``he`` (the slope of each layer's
      activation), ``orthogonal``: every matrix with its own fan-in and fan-out, zero biases;
    * ``lsuv`` (needs ``data``): :func:`lsuv_`.

    Greedy layer-wise pretraining is :func:`aelab.train.pretraining.pretrain` (on a DeepAutoencoder).

    Returns:
        what was chosen: ``{"sigma_w_sq": ..., "sigma_b_sq": ...}`` for ``gaussian``; for ``advisor``
        also ``source``, the activations, ``depth``, ``alpha`` and ``input_variance`` it was given;
        ``{"lsuv_variances": [...]}`` for ``lsuv``; ``{}`` otherwise.
    """
    key = scheme.lower().replace("-", "_")
    if key not in SCHEMES:
        known = ", ".join([*SCHEMES, "pretrain"])
        raise ConfigError(f"init.scheme: unknown initialiser {scheme!r} (known: {known})")
    if key == "lsuv":
        if data is None:
            raise ConfigError("init.scheme: 'lsuv' needs a batch of training data")
        return lsuv_(model, data, tol=lsuv_tol, max_iter=lsuv_iters, generator=generator, **layers)
    found = autoencoder_layers(model, **layers)
    if key in WEIGHT_INITIALISERS:
        fn = WEIGHT_INITIALISERS[key]
        _fill(found, lambda w, act: fn(w, act, generator))
        return {}
    info: dict[str, Any] = {}
    if key == "advisor":
        info = _advice(found, data, input_variance)
        sigma_w_sq, sigma_b_sq = info["sigma_w_sq"], info["sigma_b_sq"]
    if sigma_w_sq is None:
        raise ConfigError("init.sigma_w_sq: required by scheme 'gaussian'")
    sigma_b_sq = 0.0 if sigma_b_sq is None else sigma_b_sq
    _draw_gaussian(found, sigma_w_sq, sigma_b_sq, generator)
    info.update({"sigma_w_sq": sigma_w_sq, "sigma_b_sq": sigma_b_sq})
    return info


def li_nguyen_(
    model: nn.Module,
    *,
    generator: torch.Generator,
    sigma_w_sq: float | None = None,
    sigma_b_sq: float | None = None,
    encoder: str | None = None,
    decoder: str | None = None,
    bottleneck: str | None = None,
    data: torch.Tensor | None = None,
    input_variance: float | None = None,
    encoder_layers: Sequence[nn.Linear] | None = None,
    decoder_layers: Sequence[nn.Linear] | None = None,
) -> dict[str, Any]:
    """Draw an autoencoder from Li & Nguyen's random law (2019, ICLR, Sec. 2.1), in place.

    W_l ~ N(0, sigma_W^2 / n_{l-1}), b_l ~ N(0, sigma_b^2), decoder biases 0 (Sec. 3.5), an
    untied D_l drawn like W_l^T. Without ``sigma_w_sq`` the variances are the ones the theory
    recommends (:func:`aelab.deep.advisor.recommend_init`, Secs. 3.2 and 3.5) for the encoder
    activation sigma, the decoder activation phi, the bottleneck phi_L, the depth L, the width
    ratio and the input variance (of ``data``, or ``input_variance``, else 1).

    >>> from torch import nn
    >>> ae = nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 784))
    >>> info = li_nguyen_(ae, generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
    >>> info["sigma_w_sq"], info["sigma_b_sq"]  # doctest: +SKIP
    (1.0604913229182844, 0.0)

    Args:
        model: a :class:`~aelab.train.models.DeepAutoencoder` or any autoencoder module
            (:func:`autoencoder_layers`).
        generator: of the draws; the result is a function of its state.
        sigma_w_sq, sigma_b_sq: the variances (sigma_b_sq defaults to 0 when sigma_w_sq is given).
        encoder, decoder, bottleneck: activation names, when not those the model's modules show.
        data, input_variance: taubar_0^2 for the advisor.
        encoder_layers, decoder_layers: the layers, when not the two halves of the model's.

    Returns:
        what was chosen (as :func:`init_autoencoder_`).
    """
    if sigma_w_sq is None and sigma_b_sq is not None:
        raise ConfigError("init.sigma_b_sq: given without init.sigma_w_sq (give both, or neither for the advisor's)")
    return init_autoencoder_(model, "advisor" if sigma_w_sq is None else "gaussian", generator=generator,
                             sigma_w_sq=sigma_w_sq, sigma_b_sq=sigma_b_sq, data=data, input_variance=input_variance,
                             encoder_layers=encoder_layers, decoder_layers=decoder_layers, encoder=encoder,
                             decoder=decoder, bottleneck=bottleneck)


def initialise(
    model,
    scheme: str,
    *,
    generator: torch.Generator,
    sigma_w_sq: float | None = None,
    sigma_b_sq: float | None = None,
    data: torch.Tensor | None = None,
    lsuv_tol: float = 0.05,
    lsuv_iters: int = 10,
) -> dict[str, Any]:
    """Initialise a :class:`~aelab.train.models.DeepAutoencoder` by scheme name: what ``aelab train``
    calls, the same as :func:`init_autoencoder_` (see there for the schemes). Greedy layer-wise
    pretraining is :func:`aelab.train.pretraining.pretrain`, which starts from ``xavier``.

    Returns:
        what was chosen (e.g. ``{"sigma_w_sq": 2.0, "sigma_b_sq": 0.0}``), stored in meta.json.
    """
    return init_autoencoder_(model, scheme, generator=generator, sigma_w_sq=sigma_w_sq, sigma_b_sq=sigma_b_sq,
                             data=data, lsuv_tol=lsuv_tol, lsuv_iters=lsuv_iters)
