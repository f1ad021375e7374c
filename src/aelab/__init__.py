"""aelab: exact theory and practice of autoencoders.

Three research results as tested software, each as config -> run -> result -> save / load / plot:

* shallow non-linear autoencoders trained by online SGD (Refinetti & Goldt, ICML 2022):
  :mod:`aelab.shallow` (:func:`aelab.shallow.run`);
* random deep weight-tied autoencoders (Li & Nguyen, ICLR 2019): :mod:`aelab.deep`;
* reversible random-like nets (Arora, Liang & Ma, 2015): :mod:`aelab.reversible`;

around them :mod:`aelab.train` (deep autoencoders in torch), :mod:`aelab.sweep` (grids from a
laptop to a cluster) and :mod:`aelab.data` (real data sets). :func:`aelab.load` reads any run
folder back into its result object.

>>> import aelab
>>> result = aelab.shallow.run({"model": {"activation": "tanh"}})   # doctest: +SKIP
>>> result.save("runs/tanh"); aelab.load("runs/tanh").theory        # doctest: +SKIP
"""

import importlib as _importlib

AREAS = ("shallow", "deep", "reversible", "train", "sweep", "data")
__all__ = ["__version__", "load", *AREAS]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aelab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str):
    if name == "__version__":  # read from the installed metadata on first use (keeps `import aelab` fast)
        globals()["__version__"] = value = _version()
        return value
    if name in AREAS:
        return _importlib.import_module(f"{__name__}.{name}")  # importing binds the attribute
    if name == "load":
        from aelab.results import load

        globals()["load"] = load
        return load
    raise AttributeError(f"module 'aelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
