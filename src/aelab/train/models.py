"""Deep fully-connected autoencoders in torch, weight-tied (Li & Nguyen 2019) or untied.

The weight-tied model is the paper's (Sec. 2.1), with batch-first tensors::

    x_0 = x,   x_l = W_l sigma_{l-1}(x_{l-1}) + b_l                 l = 1..L  (sigma_0 = identity)
    xhat_L = W_L^T phi_L(x_L) + v_L,   xhat_l = W_l^T phi_l(xhat_{l+1}) + v_l,   l = L-1..1
    x_hat = phi_0(xhat_1)

sigma is the encoder activation, phi_L the bottleneck, phi_l (l = 1..L-1) the decoder and
phi_0 the output activation. The untied model replaces W_l^T by its own matrix D_l.
Practitioners' options: batch normalisation of every pre-activation that enters a hidden
activation (x_1..x_L and xhat_L..xhat_2), residual shortcuts ``x_l = x_{l-1} + s (W_l a + b_l)``
around hidden layers whose input and output widths agree (encoder layers 2..L, decoder layers
L-1..2; never across the bottleneck or at the input/output layer), and dropout on hidden
activations (drawn from the model's own generator, so a checkpoint can restore it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aelab.activations import get_activation
from aelab.errors import ConfigError

__all__ = ["DeepAutoencoder", "Trace"]

#: A callback ``trace(name, tensor)`` called with every layer's pre-activation during a forward pass.
Trace = Callable[[str, torch.Tensor], None]


class DeepAutoencoder(nn.Module):
    """A deep fully-connected autoencoder with 2L weight layers (Li & Nguyen 2019, Sec. 2.1).

    Args:
        widths: n_0, n_1, ..., n_L (input dimension first).
        encoder, bottleneck, decoder, output: activation names of :mod:`aelab.activations`
            (sigma_l, phi_L, phi_l, phi_0).
        tied: decoder weights are W_l^T (else separate matrices D_l).
        bias: encoder biases b_l and decoder biases v_l.
        batch_norm, residual, residual_scale, dropout: see the module docstring
            (``residual_scale`` None means 1/sqrt(L)).
        dtype, device: of the parameters.

    Parameters are created with Xavier-uniform weights and zero biases from a fixed seed; use
    :func:`aelab.train.init.init_autoencoder_` for any other scheme.
    """

    def __init__(
        self,
        widths: Sequence[int],
        *,
        encoder: str = "tanh",
        bottleneck: str = "relu",
        decoder: str = "tanh",
        output: str = "linear",
        tied: bool = True,
        bias: bool = True,
        batch_norm: bool = False,
        residual: bool = False,
        residual_scale: float | None = None,
        dropout: float = 0.0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2:
            raise ConfigError(f"model.depth: the encoder depth L must be at least 1 (widths {widths})")
        if any(w < 1 for w in widths):
            raise ConfigError(f"model.width: widths must be positive, got {widths}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout: must be in [0, 1), got {dropout}")
        self.widths = widths
        self.depth = L = len(widths) - 1
        self.tied = tied
        self.activation_names = {"encoder": encoder, "bottleneck": bottleneck, "decoder": decoder,
                                 "output": output}
        self._sigma = get_activation(encoder).torch
        self._phi_bottleneck = get_activation(bottleneck).torch
        self._phi = get_activation(decoder).torch
        self._phi_out = get_activation(output).torch
        self.dropout = float(dropout)
        self.dropout_seed = 0
        self._generator: torch.Generator | None = None
        factory = {"dtype": dtype, "device": device}

        def matrix(rows: int, cols: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(rows, cols, **factory))

        def vector(n: int) -> nn.Parameter:
            return nn.Parameter(torch.zeros(n, **factory))

        self.weight = nn.ParameterList([matrix(widths[l + 1], widths[l]) for l in range(L)])
        self.dec_weight = None if tied else nn.ParameterList([matrix(widths[l], widths[l + 1]) for l in range(L)])
        self.enc_bias = nn.ParameterList([vector(widths[l + 1]) for l in range(L)]) if bias else None
        self.dec_bias = nn.ParameterList([vector(widths[l]) for l in range(L)]) if bias else None
        self.enc_norm = self.dec_norm = None
        if batch_norm:
            self.enc_norm = nn.ModuleList([nn.BatchNorm1d(widths[l + 1], **factory) for l in range(L)])
            # dec_norm[j] normalises xhat_{j+2} (width n_{j+1}), which enters phi_{j+1}
            self.dec_norm = nn.ModuleList([nn.BatchNorm1d(widths[j + 1], **factory) for j in range(L - 1)])
        self.residual_scale = float(residual_scale) if residual_scale is not None else 1.0 / math.sqrt(L)
        # index l-1 <-> layer l (1-based): encoder layer l maps n_{l-1} -> n_l, decoder layer l maps n_l -> n_{l-1}
        self._enc_residual = [residual and 2 <= l <= L and widths[l] == widths[l - 1] for l in range(1, L + 1)]
        self._dec_residual = [residual and 2 <= l <= L - 1 and widths[l] == widths[l - 1] for l in range(1, L + 1)]
        generator = torch.Generator(device="cpu").manual_seed(0)
        with torch.no_grad():
            for w in self.decoder_weights() if not tied else ():
                w.copy_(nn.init.xavier_uniform_(torch.empty(w.shape, dtype=w.dtype), generator=generator))
            for w in self.weight:
                w.copy_(nn.init.xavier_uniform_(torch.empty(w.shape, dtype=w.dtype), generator=generator))

    # ------------------------------------------------------------------ structure
    def encoder_weights(self) -> list[nn.Parameter]:
        """W_1..W_L."""
        return list(self.weight)

    def decoder_weights(self) -> list[torch.Tensor]:
        """The decoder matrices D_1..D_L (untied), or the views W_l^T (tied)."""
        if self.dec_weight is None:
            return [w.t() for w in self.weight]
        return list(self.dec_weight)

    def describe_parameter(self, name: str) -> str:
        """A readable name for a parameter from :meth:`named_parameters` ('weight.3' -> 'layer 4: W_4')."""
        head, _, index = name.partition(".")
        labels = {"weight": "W", "dec_weight": "D", "enc_bias": "b", "dec_bias": "v"}
        if head in labels and index.isdigit():
            l = int(index) + 1
            return f"layer {l}: {labels[head]}_{l}"
        if head in ("enc_norm", "dec_norm"):
            j = int(index.split(".")[0])
            return f"batch norm of {'x' if head == 'enc_norm' else 'xhat'}_{j + 1 if head == 'enc_norm' else j + 2}"
        return name

    # ------------------------------------------------------------------ dropout with its own generator
    def set_dropout_seed(self, seed: int) -> None:
        """Seed the generator of the dropout masks."""
        self.dropout_seed = int(seed)
        self._generator = None

    def dropout_generator(self, device: torch.device) -> torch.Generator:
        """The dropout generator on ``device`` (created from the seed on first use)."""
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.dropout_seed)
        return self._generator

    def _drop(self, h: torch.Tensor) -> torch.Tensor:
        if self.dropout == 0.0 or not self.training:
            return h
        keep = torch.rand(h.shape, generator=self.dropout_generator(h.device), device=h.device, dtype=h.dtype)
        return h * (keep >= self.dropout) / (1.0 - self.dropout)

    # ------------------------------------------------------------------ layers
    def encoder_layer(self, i: int, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x_{i+1} = W_{i+1} h + b_{i+1} (plus the shortcut ``z = x_i`` on residual layers)."""
        b = self.enc_bias[i] if self.enc_bias is not None else None
        branch = F.linear(h, self.weight[i], b)
        return z + self.residual_scale * branch if self._enc_residual[i] else branch

    def encoder_activation(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """sigma_{i+1}(x_{i+1}) for i < L-1, phi_L(x_L) for the last layer (after batch norm, dropout)."""
        a = self.enc_norm[i](z) if self.enc_norm is not None else z
        return self._drop(self._sigma(a) if i < self.depth - 1 else self._phi_bottleneck(a))

    def decoder_layer(self, i: int, u: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """xhat_{i+1} = W_{i+1}^T u + v_{i+1} (or D_{i+1} u + v_{i+1}; shortcut ``z = xhat_{i+2}``)."""
        v = self.dec_bias[i] if self.dec_bias is not None else None
        w = self.weight[i].t() if self.dec_weight is None else self.dec_weight[i]
        branch = F.linear(u, w, v)
        return z + self.residual_scale * branch if self._dec_residual[i] else branch

    def decoder_activation(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """phi_i(xhat_{i+1}) for i >= 1 (after batch norm, dropout)."""
        a = self.dec_norm[i - 1](z) if self.dec_norm is not None else z
        return self._drop(self._phi(a))

    def output_activation(self, z: torch.Tensor) -> torch.Tensor:
        """phi_0(xhat_1)."""
        return self._phi_out(z)

    def sigma(self, z: torch.Tensor) -> torch.Tensor:
        """The encoder activation sigma (no batch norm, no dropout)."""
        return self._sigma(z)

    def phi(self, l: int, z: torch.Tensor) -> torch.Tensor:
        """phi_l: the output activation (l = 0), the decoder's (1 <= l < L) or the bottleneck's (l = L)."""
        if l == 0:
            return self._phi_out(z)
        return self._phi_bottleneck(z) if l == self.depth else self._phi(z)

    # ------------------------------------------------------------------ forward
    def encode(self, x: torch.Tensor, trace: Trace | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_L, phi_L(x_L)) for a batch ``x``."""
        h = z = x  # sigma_0 = identity
        for i in range(self.depth):
            z = self.encoder_layer(i, h, z)
            if trace is not None:
                trace(f"encoder layer {i + 1} (x_{i + 1})", z)
            h = self.encoder_activation(i, z)
        return z, h

    def decode(self, z: torch.Tensor, u: torch.Tensor, trace: Trace | None = None) -> torch.Tensor:
        """x_hat from the code: ``z = x_L`` and ``u = phi_L(x_L)``."""
        for i in reversed(range(self.depth)):
            z = self.decoder_layer(i, u, z)
            if trace is not None:
                trace(f"decoder layer {i + 1} (xhat_{i + 1})", z)
            if i > 0:
                u = self.decoder_activation(i, z)
        out = self._phi_out(z)
        if trace is not None and self.activation_names["output"] not in ("linear", "identity"):
            trace("output", out)
        return out

    def forward(self, x: torch.Tensor, trace: Trace | None = None) -> torch.Tensor:
        """Reconstruct a batch ``x`` of shape (batch, n_0); ``trace(name, t)`` sees every pre-activation."""
        z, u = self.encode(x, trace)
        return self.decode(z, u, trace)

    def extra_repr(self) -> str:
        names = self.activation_names
        return (f"widths={self.widths}, tied={self.tied}, encoder={names['encoder']}, "
                f"bottleneck={names['bottleneck']}, decoder={names['decoder']}, output={names['output']}")
