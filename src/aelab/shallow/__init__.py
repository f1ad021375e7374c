"""Shallow autoencoders trained by online SGD (Refinetti & Goldt, ICML 2022).

* :mod:`aelab.shallow.config`: the configuration read by theory and simulation;
* :mod:`aelab.shallow.state`: the state in the eigenbasis, order parameters, population error;
* :mod:`aelab.shallow.ode`: the exact ODEs and their integrator;
* :mod:`aelab.shallow.sgd`: the online SGD step (numba kernel and NumPy reference);
* :mod:`aelab.shallow.theory` / :mod:`aelab.shallow.simulate`: both sides on one time grid;
* :mod:`aelab.shallow.run`: run folders and figures.

The main names are importable from here (loaded on first use, so that ``aelab --help`` stays fast)::

    from aelab.shallow import ShallowConfig, run_theory, simulate, run_shallow
"""

from importlib import import_module

_EXPORTS = {
    "ShallowConfig": "aelab.shallow.config",
    "State": "aelab.shallow.state",
    "order_parameters": "aelab.shallow.state",
    "state_from_weights": "aelab.shallow.state",
    "OdeSystem": "aelab.shallow.ode",
    "integrate": "aelab.shallow.ode",
    "sgd_steps": "aelab.shallow.sgd",
    "run_theory": "aelab.shallow.theory",
    "initial_state": "aelab.shallow.theory",
    "simulate": "aelab.shallow.simulate",
    "run_shallow": "aelab.shallow.run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aelab.shallow' has no attribute {name!r}")
