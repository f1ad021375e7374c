"""Shallow autoencoders trained by online SGD (Refinetti & Goldt, ICML 2022): the exact ODEs in the
high-dimensional limit next to real SGD, from one configuration.

>>> from aelab.shallow import ShallowConfig, run
>>> config = ShallowConfig().with_overrides({"model.activation": "tanh", "train.time": 20})
>>> result = run(config)                       # doctest: +SKIP
>>> result.theory.tail(); result.plot(); result.save("runs/tanh")   # doctest: +SKIP

Modules: :mod:`~aelab.shallow.config` (the configuration), :mod:`~aelab.shallow.problem` (its
resolved objects), :mod:`~aelab.shallow.sources` (sample sources), :mod:`~aelab.shallow.state`
(order parameters, population error), :mod:`~aelab.shallow.ode` (the ODEs), :mod:`~aelab.shallow.sgd`
(the SGD kernel), :mod:`~aelab.shallow.theory` / :mod:`~aelab.shallow.simulation` (both sides on one
time grid), :mod:`~aelab.shallow.result` (:func:`run` and :class:`ShallowResult`),
:mod:`~aelab.shallow.real_data`, :mod:`~aelab.shallow.finite_data`, :mod:`~aelab.shallow.fixed_points`.
"""

from aelab._lazy import lazy_exports

_EXPORTS = {
    "ShallowConfig": "config",
    "ShallowResult": "result",
    "run": "result",
    "RealDataConfig": "real_data",
    "RealDataResult": "real_data",
    "compare_real_data": "real_data",
    "Problem": "problem",
    "resolve": "problem",
    "GaussianSource": "sources",
    "FiniteSource": "sources",
    "ImageSource": "sources",
    "State": "state",
    "order_parameters": "state",
    "state_from_weights": "state",
    "OdeSystem": "ode",
    "integrate": "ode",
    "sgd_steps": "sgd",
    "run_theory": "theory",
    "initial_state": "theory",
    "simulate": "simulation",
    "find_fixed_point": "fixed_points",
    "jacobian": "fixed_points",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
