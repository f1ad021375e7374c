"""Data sets for the experiments: real images (readers, registry, download, preprocessing,
spectra, a torch bridge) and synthetic models.

Importing this package is cheap: names are loaded from their modules on first use.

* :func:`load_dataset` / :class:`Dataset` (:mod:`aelab.data.datasets`): one split of a
  registered data set as uint8 images and int64 labels, memory-mapped after the first load.
* :mod:`aelab.data.readers`: IDX, image folders and zips, CIFAR python archives, npy/npz.
* :mod:`aelab.data.registry`: names, files, checksums, addresses, licences.
* :mod:`aelab.data.fetch`: verified download or copy from a mirror (``aelab data fetch``).
* :mod:`aelab.data.preprocess`: grayscale, scaling, centring, whitening, subsets, splits.
* :mod:`aelab.data.spectra`: covariance eigen-decomposition, cached, and its plot.
* :mod:`aelab.data.torch_bridge`: a torch ``Dataset`` and seeded ``DataLoader`` (imports torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Dataset",
    "load_dataset",
    "fetch",
    "verify",
    "covariance_spectrum",
    "cached_covariance_spectrum",
    "dataset_names",
    "get_spec",
    "data_dir",
    "cache_dir",
    "DataFormatError",
    "ChecksumError",
    "readers",
    "registry",
    "preprocess",
    "spectra",
    "torch_bridge",
]

_NAMES = {
    "Dataset": "aelab.data.datasets",
    "load_dataset": "aelab.data.datasets",
    "fetch": "aelab.data.fetch",
    "verify": "aelab.data.fetch",
    "covariance_spectrum": "aelab.data.spectra",
    "cached_covariance_spectrum": "aelab.data.spectra",
    "dataset_names": "aelab.data.registry",
    "get_spec": "aelab.data.registry",
    "data_dir": "aelab.data.paths",
    "cache_dir": "aelab.data.paths",
    "DataFormatError": "aelab.data.readers",
    "ChecksumError": "aelab.data.checksums",
}
_SUBMODULES = {"readers", "registry", "preprocess", "spectra", "torch_bridge", "datasets", "fetch", "paths",
               "checksums", "synthetic", "cli"}

if TYPE_CHECKING:  # pragma: no cover
    from aelab.data import preprocess, readers, registry, spectra, torch_bridge  # noqa: F401
    from aelab.data.checksums import ChecksumError  # noqa: F401
    from aelab.data.datasets import Dataset, load_dataset  # noqa: F401
    from aelab.data.fetch import fetch, verify  # noqa: F401
    from aelab.data.paths import cache_dir, data_dir  # noqa: F401
    from aelab.data.readers import DataFormatError  # noqa: F401
    from aelab.data.registry import dataset_names, get_spec  # noqa: F401
    from aelab.data.spectra import cached_covariance_spectrum, covariance_spectrum  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
