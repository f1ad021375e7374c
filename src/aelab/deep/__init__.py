"""Random deep weight-tied autoencoders (Li & Nguyen, ICLR 2019).

>>> from aelab.deep import EvolveConfig, evolve
>>> result = evolve({"network": {"encoder": "tanh", "decoder": "relu", "depth": 20, "sigma_w_sq": 2.0}})
>>> result.table.tail(); result.to_xarray(); result.plot(); result.save("runs/evolve")   # doctest: +SKIP

Runs, each returning a :class:`~aelab.results.RunResult` (:mod:`~aelab.deep.results`):
:func:`evolve` (Theorem 1 per layer), :func:`simulate` (random networks next to the theory),
:func:`phase_diagram` (Sec. 3.2) and :func:`advise` (Sec. 3.5, Table 1's rule), on the
configurations :class:`EvolveConfig`, :class:`SimulateConfig`, :class:`PhaseDiagramConfig` and
:class:`AdviseConfig` (:mod:`~aelab.deep.config`).

The numerics: :mod:`~aelab.deep.state_evolution` (Theorem 1 at finite depth, :func:`evolve_many`),
:mod:`~aelab.deep.infinite_depth` (the maps T, G, R, fixed points, stability, transitions),
:mod:`~aelab.deep.phases` (phases, Table 1's classification), :mod:`~aelab.deep.diagram` (the
grids of phase diagrams), :mod:`~aelab.deep.monte_carlo`
(real random networks and the estimators of S and V per layer) and :mod:`~aelab.deep.advisor`
(:class:`Advice`, :func:`recommend_init`).

Names are imported lazily, so that ``import aelab.deep`` (and the command line) stays fast.
"""

from __future__ import annotations

from aelab._lazy import lazy_exports

_EXPORTS = {
    "DeepConfig": "config", "MonteCarloConfig": "config", "Setting": "config", "EvolveConfig": "config",
    "SimulateConfig": "config", "PhaseDiagramConfig": "config", "AdviseConfig": "config",
    "evolve": "results", "simulate": "results", "phase_diagram": "results", "advise": "results",
    "EvolveResult": "results", "SimulateResult": "results", "PhaseDiagramResult": "results",
    "AdviceResult": "results",
    "Evolution": "state_evolution", "evolve_many": "state_evolution",
    "transitions": "infinite_depth", "fixed_points": "infinite_depth", "forward_fixed_point": "infinite_depth",
    "sigma_w_max_sq": "infinite_depth", "decoder_maps": "infinite_depth", "iterate_maps": "infinite_depth",
    "PHASES": "phases", "classify_scheme": "phases", "setting_phase": "phases", "bulk_phase": "phases",
    "PhaseDiagram": "diagram", "Simulation": "monte_carlo",
    "Advice": "advisor", "recommend_init": "advisor",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

