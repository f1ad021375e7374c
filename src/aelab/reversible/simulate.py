"""Monte Carlo of the recovery error of reversible random-like nets, batched over draws and weights.

One draw is (W, h, dropout masks): the codes h are drawn, x generated down through the net and
h^ inferred back up; the error is ||h^ - h||^2/||h||^2 at the top (and at every layer).
``per_matrix`` draws share one weight draw; every ``per_matrix`` draws a fresh net is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aelab.reversible.codes import SparseCodes, draw_codes, get_law
from aelab.reversible.config import NetSpec
from aelab.reversible.model import draw_network, generate, infer

__all__ = ["Simulation", "simulate", "simulate_rules", "simulate_loop", "draw_errors"]

_BUDGET = 1 << 23  # elements of one (G, P, width) layer array per batch


@dataclass(frozen=True)
class Simulation:
    """Per-draw results. Arrays have one entry per draw (``layer_errors``: one column per layer)."""

    relative_error: np.ndarray
    layer_errors: np.ndarray
    exact_support: np.ndarray
    false_positives: np.ndarray
    misses: np.ndarray
    values: np.ndarray
    group: np.ndarray

    @property
    def trials(self) -> int:
        return self.relative_error.size

    def mean(self, name: str = "relative_error"):
        """Mean over draws (an array with one entry per layer for ``layer_errors``)."""
        out = np.mean(np.asarray(getattr(self, name), float), axis=0)
        return float(out) if np.ndim(out) == 0 else out

    def sem(self, name: str = "relative_error"):
        """Standard error of the mean. With several draws per weight matrix and several matrices it is
        the standard error of the per-matrix means (batch means); with one matrix it is conditional on it."""
        return standard_error(np.asarray(getattr(self, name), float), self.group)


def standard_error(values: np.ndarray, group: np.ndarray):
    """Standard error of the mean of ``values`` (axis 0), by batch means over ``group`` when that is valid."""
    count = values.shape[0]
    groups = int(group.max()) + 1 if group.size else 0
    if count < 2:
        return np.full(values.shape[1:], math.nan) if values.ndim > 1 else math.nan
    if 2 <= groups < count:
        sums = np.zeros((groups,) + values.shape[1:])
        np.add.at(sums, group, values)
        sizes = np.bincount(group, minlength=groups).reshape((groups,) + (1,) * (values.ndim - 1))
        means = sums / sizes
        out = np.std(means, axis=0, ddof=1) / math.sqrt(groups)
    else:
        out = np.std(values, axis=0, ddof=1) / math.sqrt(count)
    return float(out) if np.ndim(out) == 0 else out


def _relative(diff2: np.ndarray, norm2: np.ndarray) -> np.ndarray:
    return np.divide(diff2, norm2, out=np.full_like(diff2, np.nan), where=norm2 > 0)


def draw_errors(spec: NetSpec, codes: SparseCodes, layers: list[np.ndarray], estimates: list[np.ndarray]) -> dict:
    """Per-draw error statistics from the true layers and the inferred ones, flattened to (G*P,)."""
    top, top_hat = layers[-1], estimates[-1]
    diff2 = np.sum(np.square(top_hat - top), axis=-1, dtype=np.float64)
    norm2 = np.sum(np.square(top), axis=-1, dtype=np.float64)
    on = top > 0
    fires = top_hat > 0
    false_pos = np.sum(fires & ~on, axis=-1)
    misses = np.sum(~fires & on, axis=-1)
    per_layer = [
        _relative(np.sum(np.square(estimates[ell - 1] - layers[ell]), -1, dtype=np.float64),
                  np.sum(np.square(layers[ell]), -1, dtype=np.float64))
        for ell in range(1, spec.layers + 1)
    ]
    return {
        "relative_error": _relative(diff2, norm2).ravel(),
        "layer_errors": np.stack([e.ravel() for e in per_layer], axis=-1),
        "exact_support": ((false_pos == 0) & (misses == 0)).ravel(),
        "false_positives": false_pos.ravel(),
        "misses": misses.ravel(),
        "values": codes.values.reshape(-1, spec.sparsity),
    }


def _collect(parts: list[dict], groups: list[np.ndarray]) -> Simulation:
    return Simulation(**{key: np.concatenate([p[key] for p in parts]) for key in parts[0]},
                      group=np.concatenate(groups))


def simulate(spec: NetSpec, *, trials: int, rng: np.random.Generator, per_matrix: int | None = None,
             dtype=np.float64) -> Simulation:
    """Simulate ``trials`` draws of (W, h, masks), vectorised: one batched matrix product per layer.

    Args:
        spec: the net.
        trials: number of draws.
        rng: the generator (weights, codes and masks are drawn from it in a fixed order).
        per_matrix: draws per weight matrix (default: all draws share one matrix).
        dtype: float64 or float32 for the weights and activations.
    """
    return simulate_rules([spec], trials=trials, rng=rng, per_matrix=per_matrix, dtype=dtype)[0]


def simulate_rules(specs: list[NetSpec], *, trials: int, rng: np.random.Generator, per_matrix: int | None = None,
                   dtype=np.float64) -> list[Simulation]:
    """Several inference rules (ReLU or not, threshold, bias) on the same generated draws.

    The specs must share the generative model (widths, sparsity, keep-probability, law of the code);
    common draws make the rules' differences precise and cost one generation for all of them.
    """
    spec = specs[0]
    generative = ("widths", "sparsity", "keep_prob", "nonzero")
    for other in specs[1:]:
        if any(getattr(other, f) != getattr(spec, f) for f in generative):
            raise ValueError("simulate_rules: the specs must share widths, sparsity, keep_prob and nonzero")
    law = get_law(spec.nonzero)
    per = min(per_matrix or trials, trials)
    n_groups = math.ceil(trials / per)
    width = max(spec.widths)
    matrix_size = sum(spec.widths[i] * spec.widths[i + 1] for i in range(spec.layers))
    parts: list[list[dict]] = [[] for _ in specs]
    groups = []
    done_groups = 0
    while done_groups < n_groups:
        g_count = max(1, min(n_groups - done_groups, _BUDGET // max(1, per * width), _BUDGET // matrix_size))
        net = draw_network(spec, rng, g_count, dtype)
        draws_left = [min(per, trials - (done_groups + g) * per) for g in range(g_count)]
        step = max(1, _BUDGET // (g_count * width))
        for start in range(0, per, step):
            size = min(step, per - start)
            codes = draw_codes(rng, spec.hidden, spec.sparsity, law, (g_count, size))
            layers = generate(net, spec, codes, rng)
            keep = (start + np.tile(np.arange(size), g_count)) < np.repeat(draws_left, size)
            for rule, part in zip(specs, parts):
                stats = draw_errors(rule, codes, layers, infer(net, rule, layers[0]))
                part.append({k: v[keep] for k, v in stats.items()})
            groups.append(np.repeat(np.arange(done_groups, done_groups + g_count), size)[keep])
        done_groups += g_count
    return [_collect(part, groups) for part in parts]


def simulate_loop(spec: NetSpec, *, trials: int, rng: np.random.Generator, dtype=np.float64) -> Simulation:
    """The same measurement as :func:`simulate` with one matrix, by a Python loop over draws
    (matrix-vector products): the baseline of the speed benchmark."""
    law = get_law(spec.nonzero)
    net = draw_network(spec, rng, 1, dtype)
    parts = []
    for _ in range(trials):
        codes = draw_codes(rng, spec.hidden, spec.sparsity, law, (1, 1))
        layers = generate(net, spec, codes, rng)
        parts.append(draw_errors(spec, codes, layers, infer(net, spec, layers[0])))
    return _collect(parts, [np.zeros(1, dtype=np.int64)] * trials)
