"""Initialisation schemes, as ``torch.nn.init``-style functions and by name.

Tensor functions (``fn_(tensor, ..., generator=None)``, in place, returning the tensor; the
weight layout is (fan_out, fan_in) as in ``torch.nn.Linear``):

* :func:`gaussian_` W_ij ~ N(0, sigma_w_sq / fan_in) and :func:`gaussian_bias_` b_i ~ N(0, sigma_b_sq)
  (Li & Nguyen 2019, Sec. 2.1);
* :func:`xavier_uniform_` U(-a, a), a = sqrt(6 / (fan_in + fan_out)) and :func:`xavier_normal_`
  N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010);
* :func:`he_` N(0, 2 / ((1 + slope^2) fan_in)) (He et al. 2015, for (leaky) ReLU);
* :func:`orthogonal_` a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

Model functions: :func:`lsuv_` (Mishkin & Matas 2016: orthogonal, then each layer rescaled to unit
output variance on a data batch) and :func:`initialise` (any scheme by name, including the
theory advisor's choice and greedy layer-wise pretraining).
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable
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
    "initialise",
    "advisor_variances",
    "he_slope",
    "keep_torch_threads",
    "WEIGHT_INITIALISERS",
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

    Args:
        tensor: weight matrix of shape (fan_out, fan_in).
        sigma_w_sq: sigma_W^2 > 0.
        generator: torch generator of the draws.
    """
    if not sigma_w_sq > 0:
        raise ConfigError(f"init.sigma_w_sq: must be positive, got {sigma_w_sq}")
    return nn.init.normal_(tensor, 0.0, math.sqrt(sigma_w_sq / _fan_in(tensor)), generator=generator)


def gaussian_bias_(tensor: torch.Tensor, sigma_b_sq: float = 0.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a bias vector with N(0, sigma_b_sq) entries (zeros when sigma_b_sq = 0)."""
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
    "he": lambda t, act, g: he_(t, he_slope(act), generator=g),
    "orthogonal": lambda t, act, g: orthogonal_(t, generator=g),
}


def _fill(model, fn: Callable[[torch.Tensor, str], Any]) -> None:
    """Apply ``fn(weight, activation)`` to every weight matrix, encoder first, then decoder."""
    names = model.activation_names
    with torch.no_grad():
        for i, w in enumerate(model.weight):
            # encoder layer i+1 feeds sigma (or phi_L at the last layer)
            fn(w, names["encoder"] if i < model.depth - 1 else names["bottleneck"])
        if model.dec_weight is not None:
            for i, d in enumerate(model.dec_weight):
                fn(d, names["decoder"] if i > 0 else names["output"])


def _zero_biases(model) -> None:
    with torch.no_grad():
        for group in (model.enc_bias, model.dec_bias):
            for b in group if group is not None else ():
                b.zero_()


def advisor_variances(model, data: torch.Tensor | None = None) -> tuple[float, float]:
    """(sigma_W^2, sigma_b^2) that the Li & Nguyen theory recommends for this model.

    Uses :func:`aelab.deep.advisor.recommend_init` with the model's encoder, decoder and
    bottleneck activations and depth, alpha = the mean hidden fan-out/fan-in ratio, and the input
    variance taubar_0^2 = ||x||^2 / n_0 averaged over ``data`` (1 when no data are given).
    """
    try:
        from aelab.deep.advisor import recommend_init
    except ImportError as exc:
        raise ConfigError(f"init.scheme: 'advisor' needs aelab.deep.advisor ({exc})") from None
    w = model.widths
    ratios = [w[l] / w[l - 1] for l in range(2, len(w))]
    alpha = sum(ratios) / len(ratios) if ratios else 1.0
    input_variance = float(data.double().square().mean()) if data is not None and data.numel() else 1.0
    names = model.activation_names
    return _recommend_cached(recommend_init, names["encoder"], names["decoder"], model.depth, alpha,
                             names["bottleneck"], input_variance)


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


def lsuv_(model, x: torch.Tensor, *, tol: float = 0.05, max_iter: int = 10,
          generator: torch.Generator | None = None) -> dict[str, Any]:
    """Layer-sequential unit-variance initialisation (Mishkin & Matas 2016, Alg. 1).

    Orthogonal weights and zero biases, then, layer by layer from the input, W_l is divided by
    the standard deviation of its output (pre-activation) on the batch ``x`` until
    |Var - 1| < ``tol`` or ``max_iter`` rescalings. Encoder layers 1..L, then for an untied model
    the decoder layers L..2 (the output layer keeps its orthogonal scale: its target is the data).

    Args:
        model: a :class:`~aelab.train.models.DeepAutoencoder`.
        x: a batch of training inputs, shape (batch, n_0).
        tol, max_iter: stopping rule.
        generator: of the orthogonal draws.

    Returns:
        ``{"lsuv_variances": [...]}``: each processed layer's output variance after rescaling.
    """
    _fill(model, lambda w, act: orthogonal_(w, generator=generator))
    _zero_biases(model)
    was_training = model.training
    model.eval()
    variances: list[float] = []

    def rescale(weight: torch.Tensor, layer: Callable[[], torch.Tensor]) -> torch.Tensor:
        out = layer()
        for _ in range(max_iter):
            var = float(out.var())
            if not math.isfinite(var) or var <= 0 or abs(var - 1.0) < tol:
                break
            weight.div_(math.sqrt(var))
            out = layer()
        variances.append(float(out.var()))
        return out

    with torch.no_grad():
        h = z = x.to(model.weight[0].dtype)
        for i in range(model.depth):
            z = rescale(model.weight[i], lambda i=i, h=h, z=z: model.encoder_layer(i, h, z))
            h = model.encoder_activation(i, z)
        if model.dec_weight is not None:
            u = h
            for i in reversed(range(1, model.depth)):
                z = rescale(model.dec_weight[i], lambda i=i, u=u, z=z: model.decoder_layer(i, u, z))
                u = model.decoder_activation(i, z)
    model.train(was_training)
    return {"lsuv_variances": variances}


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
    """Initialise a :class:`~aelab.train.models.DeepAutoencoder` in place by scheme name.

    Schemes: ``gaussian`` (sigma_w_sq, sigma_b_sq; decoder biases v_l = 0 as in Li & Nguyen 2019,
    Sec. 3.5; an untied decoder matrix D_l is drawn like W_l^T, N(0, sigma_w_sq / n_{l-1}), so that
    the untied network starts with the law of the paper's tied one), ``advisor`` (the same with
    the theory's recommended variances for the input variance of ``data``),
    ``xavier``/``xavier_uniform``, ``xavier_normal``, ``he``, ``orthogonal`` (zero biases), ``lsuv``
    (needs ``data``). Greedy layer-wise pretraining is :func:`aelab.train.pretrain.pretrain`,
    which starts from ``xavier``.

    Returns:
        what was chosen (e.g. ``{"sigma_w_sq": 2.0, "sigma_b_sq": 0.0}``), stored in meta.json.
    """
    key = scheme.lower().replace("-", "_")
    if key == "advisor":
        sigma_w_sq, sigma_b_sq = advisor_variances(model, data)
        key = "gaussian"
        info: dict[str, Any] = {"sigma_w_sq": sigma_w_sq, "sigma_b_sq": sigma_b_sq, "source": "advisor"}
    else:
        info = {}
    if key == "gaussian":
        if sigma_w_sq is None:
            raise ConfigError("init.sigma_w_sq: required by scheme 'gaussian'")
        sigma_b_sq = 0.0 if sigma_b_sq is None else sigma_b_sq
        with torch.no_grad():
            for w in model.weight:
                gaussian_(w, sigma_w_sq, generator=generator)
            for d in model.dec_weight if model.dec_weight is not None else ():
                gaussian_(d.t(), sigma_w_sq, generator=generator)  # drawn like W_l^T: variance sigma^2 / n_{l-1}
        _zero_biases(model)
        with torch.no_grad():
            for b in model.enc_bias if model.enc_bias is not None else ():
                gaussian_bias_(b, sigma_b_sq, generator=generator)
        info.update({"sigma_w_sq": sigma_w_sq, "sigma_b_sq": sigma_b_sq})
        return info
    if key in WEIGHT_INITIALISERS:
        fn = WEIGHT_INITIALISERS[key]
        _fill(model, lambda w, act: fn(w, act, generator))
        _zero_biases(model)
        return info
    if key == "lsuv":
        if data is None:
            raise ConfigError("init.scheme: 'lsuv' needs a batch of training data")
        return lsuv_(model, data, tol=lsuv_tol, max_iter=lsuv_iters, generator=generator)
    known = ", ".join(["gaussian", "advisor", *WEIGHT_INITIALISERS, "lsuv", "pretrain"])
    raise ConfigError(f"init.scheme: unknown initialiser {scheme!r} (known: {known})")
