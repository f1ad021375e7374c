"""Shallow autoencoders trained by online SGD (Refinetti & Goldt, ICML 2022).

* :mod:`aelab.shallow.config`: the configuration read by theory and simulation;
* :mod:`aelab.shallow.state`: the state in the eigenbasis, order parameters, population error;
* :mod:`aelab.shallow.ode`: the exact ODEs and their integrator;
* :mod:`aelab.shallow.sgd`: the online SGD step (numba kernel and NumPy reference);
* :mod:`aelab.shallow.theory` / :mod:`aelab.shallow.simulate`: both sides on one time grid;
* :mod:`aelab.shallow.run`: run folders and figures.
"""
