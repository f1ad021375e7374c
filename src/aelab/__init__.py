"""aelab: exact theory and practice of autoencoders.

Three research results as tested software:

* shallow non-linear autoencoders trained by online SGD (Refinetti & Goldt, ICML 2022):
  :mod:`aelab.shallow`;
* random deep weight-tied autoencoders (Li & Nguyen, ICLR 2019): :mod:`aelab.deep`;
* reversible random-like nets (Arora, Liang & Ma, 2015): :mod:`aelab.reversible`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aelab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
