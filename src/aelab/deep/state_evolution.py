"""Finite-depth state evolution of a random weight-tied autoencoder (Li & Nguyen 2019, Theorem 1).

Forward: taubar_0^2 = ||sigma_0(x)||^2 / n_0, taubar_1^2 = sigma_{W,1}^2 taubar_0^2 + sigma_{b,1}^2,
taubar_l^2 = sigma_{W,l}^2 E sigma_{l-1}(taubar_{l-1} z)^2 + sigma_{b,l}^2.
Backward: gamma_{L+1} = E{z phi_L(taubar_L z)} / taubar_L, rho_{L+1} = E{phi_L(taubar_L z)^2}, and for
l = L..2, with U_l = beta_l gamma_{l+1} sigma_{l-1}(taubar_{l-1} z1) + sqrt(beta_l rho_{l+1} + sigma_{v,l}^2) z2,
gamma_l = E{z1 phi_{l-1}(U_l)} / taubar_{l-1} and rho_l = E{phi_{l-1}(U_l)^2} (beta_l = alpha_l sigma_{W,l}^2).
Then xhat_l ~ S_l sigma_{l-1}(x_{l-1}) + sqrt(V_l) z with S_l = beta_l gamma_{l+1} and
V_l = beta_l rho_{l+1} + sigma_{v,l}^2, and the output is phi_0(S_1 sigma_0(x) + sqrt(V_1) z).

Row l (1..L) of :meth:`Evolution.table` holds everything of layer l: taubar_l^2 (x_l ~ taubar_l z),
the statistics gamma_{l+1}, rho_{l+1} of phi_l(xhat_{l+1}) against x_l (the input of W_l^T in the
decoder), and S_l, V_l (the law of xhat_l).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aelab.activations import Activation, get_activation
from aelab.deep import engine
from aelab.deep.config import DeepConfig, Setting

__all__ = ["Evolution", "evolve", "evolve_many", "COLUMNS"]

COLUMNS = ("layer", "gamma", "rho", "tau_bar_sq", "S", "V")


@dataclass(frozen=True, eq=False)
class Evolution:
    """The scalars of Theorem 1 for one setting.

    Attributes:
        setting: the resolved setting.
        tau_bar_sq: (L+1,) taubar_l^2 for l = 0..L.
        gamma, rho: (L+2,) gamma_l, rho_l at index l (l = 2..L+1; indices 0 and 1 are NaN).
        infinite_layer: the layer where a scalar overflowed (forward: taubar_l; backward:
            gamma_l or rho_l), or None.
        method: "kernel" or "reference".
    """

    setting: Setting
    tau_bar_sq: np.ndarray
    gamma: np.ndarray
    rho: np.ndarray
    infinite_layer: int | None
    method: str
    S: np.ndarray = field(init=False)
    V: np.ndarray = field(init=False)

    def __post_init__(self):
        beta = self.setting.beta
        with np.errstate(over="ignore", invalid="ignore"):
            object.__setattr__(self, "S", beta * self.gamma[2:])
            object.__setattr__(self, "V", beta * self.rho[2:] + self.setting.sigma_v_sq)

    @property
    def depth(self) -> int:
        return self.setting.depth

    @property
    def s_sig(self) -> float:
        """Signal coefficient of the output, S_1 = alpha_1 sigma_{W,1}^2 gamma_2."""
        return float(self.S[0])

    @property
    def s_var(self) -> float:
        """Standard deviation of the output's Gaussian part, sqrt(V_1)."""
        return float(np.sqrt(self.V[0]))

    @property
    def finite(self) -> bool:
        return self.infinite_layer is None

    def columns(self) -> dict[str, np.ndarray]:
        """The per-layer table as columns (rows l = 1..L)."""
        L = self.depth
        return {
            "layer": np.arange(1, L + 1),
            "gamma": self.gamma[2:L + 2],
            "rho": self.rho[2:L + 2],
            "tau_bar_sq": self.tau_bar_sq[1:],
            "S": self.S,
            "V": self.V,
        }

    def table(self):
        """The per-layer table as a pandas DataFrame with columns ``COLUMNS``."""
        import pandas as pd

        return pd.DataFrame(self.columns())

    def reconstruction_error(self) -> float:
        """E ||x - xhat||^2 / n_0 = (S_1 - 1)^2 taubar_0^2 + V_1 (Sec. 3.3; sigma_0 = phi_0 = identity)."""
        return float((self.S[0] - 1.0) ** 2 * self.setting.input_variance + self.V[0])

    def summary(self) -> dict[str, Any]:
        return {
            "S": self.s_sig, "V": float(self.V[0]), "s_sig": self.s_sig, "s_var": self.s_var,
            "tau_bar_sq_top": float(self.tau_bar_sq[-1]), "infinite_layer": self.infinite_layer,
            "method": self.method,
        }


def _setting(setting: Setting | DeepConfig) -> Setting:
    return setting.setting() if isinstance(setting, DeepConfig) else setting


def evolve(setting: Setting | DeepConfig, *, method: str = "auto") -> Evolution:
    """Theorem 1 of Li & Nguyen (2019) for one setting: taubar_l, gamma_l, rho_l, S_l, V_l.

    Args:
        setting: a :class:`Setting` or :class:`DeepConfig`.
        method: "auto" (compiled kernels for registry activations, else the NumPy reference),
            "kernel" or "reference".
    """
    s = _setting(setting)
    tsq, gam, rho, inf = engine.evolve(np.array([s.input_variance]), s.sigma_w_sq[None, :], s.sigma_b_sq[None, :],
                                       s.beta[None, :], s.sigma_v_sq[None, :], s.encoder, s.decoder, method=method)
    used = "kernel" if method != "reference" and engine._codes([*s.encoder, *s.decoder]) is not None else "reference"
    layer = int(inf[0]) or None
    return Evolution(s, tsq[0], gam[0], rho[0], layer, used)


@dataclass(frozen=True, eq=False)
class ManyEvolutions:
    """Theorem 1 for G settings that share depth and activations (arrays with leading axis G).

    Attributes:
        tau_bar_sq: (G, L+1); gamma, rho: (G, L+2) as in :class:`Evolution`; beta, sigma_v_sq: (G, 1),
        the same in every layer; infinite_layer: (G,) with 0 where finite.
    """

    tau_bar_sq: np.ndarray
    gamma: np.ndarray
    rho: np.ndarray
    beta: np.ndarray
    sigma_v_sq: np.ndarray
    infinite_layer: np.ndarray

    @property
    def S(self) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.beta * self.gamma[:, 2:]

    @property
    def V(self) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.beta * self.rho[:, 2:] + self.sigma_v_sq

    def output(self) -> tuple[np.ndarray, np.ndarray]:
        """(S_1, V_1) of every setting: the law of the output, without forming S and V of every layer."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.beta[:, 0] * self.gamma[:, 2], self.beta[:, 0] * self.rho[:, 2] + self.sigma_v_sq[:, 0]


def evolve_many(
    encoder: str | Activation,
    decoder: str | Activation,
    depth: int,
    *,
    sigma_w_sq,
    sigma_b_sq=0.0,
    sigma_v_sq=0.0,
    alpha=1.0,
    input_variance=1.0,
    bottleneck: str | Activation | None = None,
    input_activation: str | Activation = "linear",
    output_activation: str | Activation = "linear",
    method: str = "auto",
    points: int | None = None,
) -> ManyEvolutions:
    """Theorem 1 for many settings at once (phase diagrams): same activations in every layer.

    The numeric arguments broadcast against each other to the settings' shape (flattened to G);
    each is the same in every layer. Arguments are not validated here (see :class:`DeepConfig`).
    ``points``: Gauss-Legendre points per piece of the kernels' rule (default 8; 6 is about 30%
    faster with relative errors near 1e-8, enough for pictures).
    """
    sw, sb, sv, al, t0 = np.broadcast_arrays(*(np.asarray(x, float) for x in
                                               (sigma_w_sq, sigma_b_sq, sigma_v_sq, alpha, input_variance)))
    G, L = sw.size, int(depth)
    col = lambda x: x.reshape(G, 1)  # noqa: E731 - one column: the same in every layer
    sig = get_activation(encoder)
    phi = get_activation(decoder)
    enc = (get_activation(input_activation),) + (sig,) * (L - 1)
    dec = (get_activation(output_activation),) + (phi,) * (L - 1) + (get_activation(bottleneck or phi),)
    beta = col(al * sw)
    sv = col(sv)
    tsq, gam, rho, inf = engine.evolve(t0.ravel(), col(sw), col(sb), beta, sv, enc, dec, method=method, points=points)
    return ManyEvolutions(tsq, gam, rho, beta, sv, inf)
