"""Reversible random-like nets (Arora, Liang & Ma 2015): generative model, inference, exact error
theory, and training with synthetic ("shadow") data.

>>> from aelab.reversible import error, scan
>>> result = error({"hidden": 200, "sparsity": 5, "visible": 1000, "trials": 400})
>>> result.observables["relative_error"], result.observables["theory"]   # doctest: +SKIP
>>> result.table; result.plot(); result.save("runs/error")                # doctest: +SKIP

Public names:

* :func:`error`, :func:`scan` — a measurement and a scan as result objects
  (:class:`ErrorResult`, :class:`ScanResult`, :mod:`aelab.reversible.results`);
* :class:`NetSpec`, :class:`ErrorConfig`, :class:`ScanConfig` — the settings, read by theory and simulation;
* :func:`draw_network`, :func:`generate`, :func:`infer` — the model, batched (NumPy);
* :mod:`aelab.reversible.simulate` — Monte Carlo of the recovery error (``simulate.simulate``);
* :func:`predict`, :func:`error_given_codes`, :func:`conditional_moments`, :func:`optimal_threshold`,
  :func:`state_evolution`, :func:`linear_error` — the closed forms (:mod:`aelab.reversible.theory`).

Names are imported lazily.
"""

from aelab._lazy import lazy_exports

_EXPORTS = {
    "error": "results", "scan": "results", "ErrorResult": "results", "ScanResult": "results",
    "NetSpec": "config", "ErrorConfig": "config", "ScanConfig": "scans",
    "SparseCodes": "codes", "draw_codes": "codes", "get_law": "codes",
    "Network": "model", "draw_network": "model", "generate": "model", "infer": "model",
    "Simulation": "simulate",
    "predict": "theory", "error_given_codes": "theory", "conditional_moments": "theory", "linear_error": "theory",
    "optimal_threshold": "theory", "state_evolution": "theory",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
