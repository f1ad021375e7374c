"""Random deep weight-tied autoencoders (Li & Nguyen, ICLR 2019).

* :mod:`~aelab.deep.config`: the setting (activations, variances, widths) as a validated config;
* :mod:`~aelab.deep.state_evolution`: Theorem 1 at finite depth (:func:`evolve`, :func:`evolve_many`);
* :mod:`~aelab.deep.infinite_depth`: the maps T, G, R, fixed points, stability, transitions;
* :mod:`~aelab.deep.phases`: phases, Table 1's classification (:func:`classify_scheme`);
* :mod:`~aelab.deep.phase_diagram`: phase diagrams over (sigma_W^2, sigma_b^2) or (beta, taubar^2);
* :mod:`~aelab.deep.monte_carlo`: real random networks and the estimators of S and V per layer;
* :mod:`~aelab.deep.advisor`: :func:`advise` and :func:`recommend_init` for initialisation.

Names are imported lazily, so that ``import aelab.deep`` (and the command line) stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DeepConfig": "config", "MonteCarloConfig": "config", "Setting": "config",
    "Evolution": "state_evolution", "evolve": "state_evolution", "evolve_many": "state_evolution",
    "transitions": "infinite_depth", "fixed_points": "infinite_depth", "forward_fixed_point": "infinite_depth",
    "sigma_w_max_sq": "infinite_depth", "decoder_maps": "infinite_depth", "iterate_maps": "infinite_depth",
    "PHASES": "phases", "classify_scheme": "phases", "setting_phase": "phases", "bulk_phase": "phases",
    "phase_diagram": "phase_diagram",
    "simulate": "monte_carlo",
    "Advice": "advisor", "advise": "advisor", "recommend_init": "advisor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
