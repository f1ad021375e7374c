"""The generative model and the feed-forward inference of reversible random-like nets (NumPy, batched).

Arora, Liang & Ma (2015), Sec. 2: x = s * relu(alpha W h) with s_j ~ Bernoulli(rho) and
alpha = 2/(rho n); inference h^ = relu(W^T x + b). Iterated over L layers:
h^(l-1) = s * relu(alpha_l W_l h^(l)) going down, h^_l = relu(W_l^T h^_{l-1} + b_l) going up.

Arrays are batched as (G, P, width): G independent nets (weight draws) with P draws each, so
every layer is one batched matrix product. The forward (recognition) matrices A_l = W_l^T of
shape (n_l, n_{l-1}) are stored, so rows of A_l are the columns of W_l.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aelab.normal_draws import NormalStream
from aelab.reversible.codes import SparseCodes
from aelab.reversible.config import NetSpec

__all__ = ["Network", "draw_network", "generate", "infer"]

_GATHER_BUDGET = 1 << 22  # elements of the gathered top-layer rows per chunk


@dataclass(frozen=True)
class Network:
    """Weights of G independent nets: ``forward[l-1]`` is A_l = W_l^T, shape (G, n_l, n_{l-1})."""

    forward: tuple[np.ndarray, ...]

    @property
    def count(self) -> int:
        return self.forward[0].shape[0]


def draw_network(spec: NetSpec, rng: np.random.Generator, count: int = 1, dtype=np.float64) -> Network:
    """Draw ``count`` nets with i.i.d. N(0, 1) weights (the random-like assumption), by the
    compiled sampler of :mod:`aelab.normal_draws` seeded from ``rng``."""
    stream = NormalStream(rng)
    return Network(tuple(
        stream.fill(np.empty((count, spec.widths[ell], spec.widths[ell - 1]), dtype=dtype))
        for ell in range(1, spec.layers + 1)
    ))


def _top_product(forward: np.ndarray, codes: SparseCodes) -> np.ndarray:
    """W h for sparse codes: sum_i h_i (row i of A), gathering only the k rows used. (G, P, n).

    Codes that are not very sparse (k > m/16) go through one dense matrix product instead.
    """
    count, draws, k = codes.indices.shape
    width = forward.shape[2]
    if 16 * k > forward.shape[1]:
        return np.matmul(codes.dense(forward.dtype), forward)
    out = np.empty((count, draws, width), dtype=forward.dtype)
    step = max(1, _GATHER_BUDGET // max(1, count * k * width))
    g = np.arange(count)[:, None, None]
    for start in range(0, draws, step):
        sl = slice(start, start + step)
        rows = forward[g, codes.indices[:, sl]]  # (G, p, k, n)
        out[:, sl] = np.einsum("gpkn,gpk->gpn", rows, codes.values[:, sl].astype(forward.dtype))
    return out


def generate(net: Network, spec: NetSpec, codes: SparseCodes, rng: np.random.Generator) -> list[np.ndarray]:
    """Run the generative model down from the top codes, with fresh dropout masks on every layer.

    Args:
        net: G nets.
        spec: the net's description (widths, rho).
        codes: top codes with indices/values of shape (G, P, k).
        rng: draws the dropout masks.

    Returns:
        [h^(0) = x, h^(1), ..., h^(L)], each of shape (G, P, n_l) (the top one dense).
    """
    rho = spec.keep_prob
    L = spec.layers
    dtype = net.forward[0].dtype
    layers: list[np.ndarray] = [None] * (L + 1)  # type: ignore[list-item]
    layers[L] = codes.dense(dtype)
    for ell in range(L, 0, -1):
        if ell == L:
            pre = _top_product(net.forward[L - 1], codes)
        else:
            pre = np.matmul(layers[ell], net.forward[ell - 1])  # (G,P,n_l) @ (G,n_l,n_{l-1})
        np.maximum(pre, 0.0, out=pre)
        pre *= spec.alpha(ell)
        if rho < 1.0:
            pre *= rng.random(pre.shape, dtype=dtype) < rho
        layers[ell - 1] = pre
    return layers


def infer(net: Network, spec: NetSpec, x: np.ndarray) -> list[np.ndarray]:
    """Feed-forward inference h^_l = relu(A_l h^_{l-1} + b_l), b_l = bias - tau ||h^_{l-1}||.

    Returns [h^_1, ..., h^_L], each of shape (G, P, n_l).
    """
    out = []
    current = x
    for ell in range(1, spec.layers + 1):
        forward = net.forward[ell - 1]
        pre = np.matmul(current, np.swapaxes(forward, 1, 2))  # (G,P,n_{l-1}) @ (G,n_{l-1},n_l)
        if spec.threshold != 0.0:
            pre -= spec.threshold * np.linalg.norm(current, axis=-1, keepdims=True)
        if spec.bias != 0.0:
            pre += spec.bias
        if spec.relu:
            np.maximum(pre, 0.0, out=pre)
        out.append(pre)
        current = pre
    return out
