"""Greedy layer-wise pretraining: each layer trained as a shallow autoencoder, then fine-tuning.

The historical recipe (Hinton & Salakhutdinov 2006; Bengio et al. 2007), adapted to the model of
:mod:`aelab.train.models`. Layer l is trained as the shallow autoencoder

    x_l = W_l a_{l-1} + b_l,    r_l = W_l^T phi_l(x_l) + v_l     (D_l instead of W_l^T when untied)

on the codes of the trained layers below: the input is a_{l-1} = sigma_{l-1}(x_{l-1})
(a_0 = x) and the target is x_{l-1}, the pre-activation that the deep decoder's layer l must
reproduce, because the deep decoder feeds xhat_l into phi_{l-1}: if every shallow
autoencoder were exact (r_l = x_{l-1}), the stacked deep autoencoder would be exact too. For
l = 1 the target is the data and the output activation phi_0 is applied to r_1; phi_L is the
bottleneck activation. Layers start from the model's current weights (``aelab train`` draws
them Xavier-uniform, with zero biases); a layer's codes
for the whole training set are computed once after it is trained.
"""

from __future__ import annotations

from typing import Any

import torch

from aelab.errors import ConfigError
from aelab.train.loop import EpochSampler, loss_function, make_optimizer

__all__ = ["pretrain"]


def _shallow(model, i: int, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_{i+1}, r_{i+1}): the shallow autoencoder of layer i+1 on inputs ``a``."""
    z = model.encoder_layer(i, a, a)
    r = model.decoder_layer(i, model.phi(i + 1, z), z)
    return z, (model.phi(0, r) if i == 0 else r)


def pretrain(
    model,
    x: torch.Tensor,
    *,
    steps_per_layer: int,
    batch_size: int,
    optimizer: str,
    lr: float,
    momentum: float = 0.0,
    loss: str = "normalised",
    seed: int = 0,
    progress=None,
    chunk: int = 4096,
) -> dict[str, Any]:
    """Greedy layer-wise pretraining of a :class:`~aelab.train.models.DeepAutoencoder` in place.

    Args:
        model: without batch norm or residual connections.
        x: training inputs (N, n_0) on the model's device.
        steps_per_layer: optimiser steps for each layer.
        batch_size, optimizer, lr, momentum, loss: as in the training loop.
        seed: batches of layer l come from ``EpochSampler(seed=(seed, 1, l))``.
        progress: an object with ``advance()`` (a progress bar), optional.

    Returns:
        ``{"pretrain_losses": [...]}``: per layer, the mean loss over its last 10 % of steps.
    """
    if model.enc_norm is not None or any(model._enc_residual) or any(model._dec_residual):
        raise ConfigError("init.scheme: 'pretrain' is not combined with model.batch_norm or model.residual")
    loss_fn = loss_function(loss)
    inputs, targets = x, x
    losses: list[float] = []
    was_training = model.training
    model.eval()  # no dropout while pretraining
    for i in range(model.depth):
        params = [model.weight[i]]
        if model.dec_weight is not None:
            params.append(model.dec_weight[i])
        for group in (model.enc_bias, model.dec_bias):
            if group is not None:
                params.append(group[i])
        opt = make_optimizer(params, optimizer, lr, momentum)
        sampler = EpochSampler(len(inputs), batch_size, (seed, 1, i), device=x.device)
        tail = max(1, steps_per_layer // 10)
        tail_sum = torch.zeros((), dtype=torch.float64, device=x.device)
        for t in range(steps_per_layer):
            idx = sampler.indices(t)
            _, r = _shallow(model, i, inputs.index_select(0, idx))
            batch_loss = loss_fn(r, targets.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            if t >= steps_per_layer - tail:
                tail_sum += batch_loss.detach().double()
            if progress is not None:
                progress.advance()
        losses.append(float(tail_sum) / tail)
        if i < model.depth - 1:
            with torch.no_grad():
                codes = torch.cat([model.encoder_layer(i, inputs[s:s + chunk], inputs[s:s + chunk])
                                   for s in range(0, len(inputs), chunk)])
                targets, inputs = codes, model.sigma(codes)
    model.train(was_training)
    return {"pretrain_losses": losses}
