"""The training loop: mini-batches addressed by step, losses, optimisers, history, divergence.

A step is: take batch ``step`` of the seeded epoch permutation, reconstruct it, compute the
loss, back-propagate, stop if the loss is not finite, update. Every ``log_every`` steps a
history row records the mean training loss since the last row, the test loss, the gradient
norm of that step (also checked for finiteness) and the time; the gradient norm costs a pass
over all gradients, which is why it is not computed on every step. Everything that determines
the next step (parameters and buffers, the optimiser's state, the dropout generator, the step
counter) is in :meth:`Trainer.state_dict`, so a run resumed from a checkpoint continues
bit-identically. Batches need no state: batch ``t`` is
a function of (seed, t).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from aelab.errors import DivergenceError

__all__ = [
    "EpochSampler",
    "normalised_loss",
    "mse_loss",
    "loss_function",
    "make_optimizer",
    "Trainer",
    "HISTORY_COLUMNS",
    "diagnose",
]

#: Columns of ``history.csv``.
HISTORY_COLUMNS = ("step", "epoch", "train_loss", "test_loss", "lr", "grad_norm", "seconds")


class EpochSampler:
    """Mini-batch indices by step: batch ``t`` is slice ``t mod k`` of epoch ``t // k``'s permutation.

    Epoch ``e`` uses the permutation of ``numpy.random.default_rng([*seed, e])``; the last partial
    batch of an epoch is dropped (``k = n // batch_size`` batches per epoch), so every batch has
    ``batch_size`` rows and batch ``t`` depends only on (seed, t).

    Args:
        n: number of samples.
        batch_size: rows per batch (at most n).
        seed: an int or a sequence of ints.
        device: where the index tensors live.
    """

    def __init__(self, n: int, batch_size: int, seed: int | tuple[int, ...], *, device: torch.device | str = "cpu"):
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be in 1..{n}, got {batch_size}")
        self.n, self.batch_size = int(n), int(batch_size)
        self.seed = (int(seed),) if isinstance(seed, int) else tuple(int(s) for s in seed)
        self.per_epoch = self.n // self.batch_size
        self.device = torch.device(device)
        self._epoch = -1
        self._perm: torch.Tensor | None = None

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            perm = np.random.default_rng([*self.seed, epoch]).permutation(self.n)
            self._perm = torch.from_numpy(perm).to(self.device)
            self._epoch = epoch
        return self._perm

    def indices(self, step: int) -> torch.Tensor:
        """Row indices of batch ``step`` (0-based)."""
        epoch, k = divmod(step, self.per_epoch)
        start = k * self.batch_size
        return self.permutation(epoch)[start:start + self.batch_size]

    def epoch(self, steps_done: int) -> float:
        """Epochs completed after ``steps_done`` steps (fractional; an epoch is ``n // batch_size`` steps)."""
        return steps_done / self.per_epoch


def normalised_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Batch mean of ||x_hat - x||^2 / ||x||^2 (Li & Nguyen 2019, Sec. 3.5); an all-zero x counts as ||x||^2 = 1e-12."""
    return ((x_hat - x).square().sum(dim=1) / x.square().sum(dim=1).clamp_min(1e-12)).mean()


def mse_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error per entry."""
    return torch.nn.functional.mse_loss(x_hat, x)


def loss_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``normalised`` or ``mse``."""
    return {"normalised": normalised_loss, "mse": mse_loss}[name]


def make_optimizer(params, name: str, lr: float, momentum: float = 0.0) -> torch.optim.Optimizer:
    """``sgd`` (with ``momentum``) or ``adam`` (default betas) over ``params``."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def _forward_parameters(model) -> list[tuple[str, torch.Tensor]]:
    """(description, parameter) in forward order: encoder layers 1..L, then decoder layers L..1."""
    names = dict(model.named_parameters())
    ordered: list[tuple[str, torch.Tensor]] = []
    L = model.depth
    for i in range(L):
        for key in (f"weight.{i}", f"enc_bias.{i}", f"enc_norm.{i}.weight", f"enc_norm.{i}.bias"):
            if key in names:
                ordered.append((model.describe_parameter(key), names[key]))
    for i in reversed(range(L)):
        for key in (f"dec_weight.{i}", f"dec_bias.{i}", f"dec_norm.{i - 1}.weight", f"dec_norm.{i - 1}.bias"):
            if key in names:
                ordered.append((model.describe_parameter(key), names[key]))
    return ordered


def diagnose(model, x: torch.Tensor) -> tuple[str, str]:
    """(the first place where values stop being finite, what is non-finite) for batch ``x``.

    Looks, in forward order, for non-finite parameters, then for the first pre-activation of a
    forward pass that is non-finite or so large that its square overflows (> sqrt(max float)/1000,
    which makes the loss infinite), then for non-finite gradients of the last backward pass.
    """
    ordered = _forward_parameters(model)
    for name, p in ordered:
        if not bool(torch.isfinite(p).all()):
            return name, "non-finite weights"
    huge = math.sqrt(torch.finfo(x.dtype).max) / 1000.0
    found: list[tuple[str, str]] = []

    def trace(name: str, t: torch.Tensor) -> None:
        if found:
            return
        if not bool(torch.isfinite(t).all()):
            found.append((name, "non-finite values (overflow in the forward pass)"))
        elif float(t.abs().max()) > huge:
            found.append((name, f"values up to {float(t.abs().max()):.3g}, whose squares overflow"))

    with torch.no_grad():
        was_training = model.training
        model.eval()
        model(x, trace=trace)
        model.train(was_training)
    if found:
        return found[0]
    for name, p in ordered:
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            return name, "non-finite gradient (overflow in the backward pass)"
    return "the loss", "a non-finite loss with finite layers"


@dataclass
class _Pending:
    loss_sum: float = 0.0
    count: int = 0
    grad_norm: float = math.nan


class Trainer:
    """Trains a model on in-memory data, logging a history row every ``log_every`` steps.

    Args:
        model: a :class:`~aelab.train.models.DeepAutoencoder` on its device.
        optimizer: over the model's parameters.
        x_train, x_test: (N, D) tensors on the model's device.
        loss: ``normalised`` or ``mse``.
        batch_size, seed: of the :class:`EpochSampler`.
        log_every: steps between history rows (each with a test-loss evaluation).
        checkpoint: ``fn(trainer)`` called every ``checkpoint_every`` steps and at the end of
            :meth:`run` (e.g. to save :meth:`state_dict`); None for no checkpoints.
        checkpoint_every: steps between checkpoints.
    """

    def __init__(self, model, optimizer: torch.optim.Optimizer, x_train: torch.Tensor, x_test: torch.Tensor, *,
                 loss: str = "normalised", batch_size: int, seed: int | tuple[int, ...], log_every: int = 100,
                 checkpoint: Callable[[Trainer], Any] | None = None, checkpoint_every: int = 1000):
        self.model = model
        self.optimizer = optimizer
        self.x_train, self.x_test = x_train, x_test
        self.loss_name = loss
        self.loss_fn = loss_function(loss)
        self.sampler = EpochSampler(len(x_train), batch_size, seed, device=x_train.device)
        self.log_every = int(log_every)
        self.checkpoint = checkpoint
        self.checkpoint_every = int(checkpoint_every)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.step = 0
        self.seconds = 0.0
        self.history: list[dict[str, float]] = []
        self._pending = _Pending()

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, *, chunk: int = 2000) -> float:
        """Mean loss over the rows of ``x`` (model in eval mode)."""
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros((), dtype=torch.float64, device=x.device)
        for start in range(0, len(x), chunk):
            xb = x[start:start + chunk]
            total += self.loss_fn(self.model(xb), xb).double() * len(xb)
        self.model.train(was_training)
        return float(total) / len(x)

    def _row(self, train_loss: float, grad_norm: float) -> dict[str, float]:
        test_loss = self.evaluate(self.x_test)
        return {
            "step": self.step,
            "epoch": self.sampler.epoch(self.step),
            "train_loss": train_loss,
            "test_loss": test_loss,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "grad_norm": grad_norm,
            "seconds": self.seconds,
        }

    def _log(self) -> None:
        p = self._pending
        row = self._row(p.loss_sum / p.count, p.grad_norm)
        self._pending = _Pending()
        self.history.append(row)
        if not math.isfinite(row["test_loss"]):
            self._diverged(self.x_test[: self.sampler.batch_size], "test loss", row["test_loss"])

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue bit-identically."""
        gen = self.model.dropout_generator(self.x_train.device)
        return {
            "step": self.step,
            "seconds": self.seconds,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "dropout_rng": gen.get_state(),
            "history": [dict(r) for r in self.history],
            "pending": [self._pending.loss_sum, self._pending.count],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.model.dropout_generator(self.x_train.device).set_state(state["dropout_rng"].cpu())
        self.step = int(state["step"])
        self.seconds = float(state["seconds"])
        self.history = [dict(r) for r in state["history"]]
        loss_sum, count = state["pending"]
        self._pending = _Pending(float(loss_sum), int(count))

    # ------------------------------------------------------------------ divergence
    def _diverged(self, x: torch.Tensor, what: str, value: float) -> None:
        where, cause = diagnose(self.model, x)
        raise DivergenceError(
            f"diverged at step {self.step}: {what} is {value}; first affected: {where} ({cause})",
            time=self.step, cause=where, partial=list(self.history),
        )

    def params_finite(self) -> bool:
        return bool(torch.stack([torch.isfinite(p).all() for p in self.params]).all())

    # ------------------------------------------------------------------ the loop
    def run(self, steps: int, *, progress=None) -> list[dict[str, float]]:
        """Train until ``steps`` steps are done; returns the history.

        Raises:
            DivergenceError: a non-finite loss, gradient or weight, with the step and the
                first layer affected; nothing is updated with the bad step.
        """
        model, opt, loss_fn, sampler, x_train = self.model, self.optimizer, self.loss_fn, self.sampler, self.x_train
        params = self.params
        model.train()
        tick = time.perf_counter()
        if self.step == 0 and not self.history:
            first = self.x_train[: len(self.x_test)]
            self.history.append(self._row(self.evaluate(first), math.nan))
        while self.step < steps:
            xb = x_train.index_select(0, sampler.indices(self.step))
            loss = loss_fn(model(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            self.step += 1
            loss_value = loss.item()
            logging = self.step % self.log_every == 0 or self.step == steps
            grad_value = math.nan
            if logging:  # one pass over every gradient: only on logged steps
                grad_value = float(torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None]))
            if not math.isfinite(loss_value) or (logging and not math.isfinite(grad_value)):
                self.seconds += time.perf_counter() - tick
                what, value = ("train loss", loss_value) if not math.isfinite(loss_value) else ("gradient norm", grad_value)
                self._diverged(xb, what, value)
            opt.step()
            p = self._pending
            p.loss_sum += loss_value
            p.count += 1
            if progress is not None:
                progress.advance()
            if logging:
                p.grad_norm = grad_value
                now = time.perf_counter()
                self.seconds += now - tick
                tick = now
                self._log()
            if self.checkpoint is not None and (self.step % self.checkpoint_every == 0 or self.step == steps):
                now = time.perf_counter()
                self.seconds += now - tick
                tick = now
                if not self.params_finite():
                    self._diverged(xb, "a weight", math.inf)
                self.checkpoint(self)
        self.seconds += time.perf_counter() - tick
        return self.history
