"""Reversible random-like nets (Arora, Liang & Ma 2015): generative model, inference, exact error
theory, and training with synthetic ("shadow") data.

Public names:

* :class:`NetSpec`, :class:`ErrorConfig` — the settings, read by theory and simulation;
* :func:`draw_network`, :func:`generate`, :func:`infer` — the model, batched (NumPy);
* :mod:`aelab.reversible.simulate` — Monte Carlo of the recovery error (``simulate.simulate``);
* :func:`predict`, :func:`error_given_codes`, :func:`conditional_moments`, :func:`optimal_threshold`,
  :func:`state_evolution`, :func:`linear_error` — the closed forms (:mod:`aelab.reversible.theory`).
"""

from aelab.reversible.codes import SparseCodes, draw_codes, get_law
from aelab.reversible.config import ErrorConfig, NetSpec
from aelab.reversible.model import Network, draw_network, generate, infer
from aelab.reversible.simulate import Simulation
from aelab.reversible.theory import (
    conditional_moments,
    error_given_codes,
    linear_error,
    optimal_threshold,
    predict,
    state_evolution,
)

__all__ = [
    "NetSpec",
    "ErrorConfig",
    "SparseCodes",
    "draw_codes",
    "get_law",
    "Network",
    "draw_network",
    "generate",
    "infer",
    "Simulation",
    "predict",
    "error_given_codes",
    "conditional_moments",
    "linear_error",
    "optimal_threshold",
    "state_evolution",
]
