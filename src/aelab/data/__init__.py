"""Data sets for the experiments: real images (readers, registry, download, preprocessing,
spectra, a torch bridge) and synthetic models.

>>> from aelab.data import load_dataset, covariance_spectrum
>>> train = load_dataset("fashion-mnist", "train")            # doctest: +SKIP
>>> eigenvalues, eigenvectors = covariance_spectrum(train.images.reshape(len(train.images), -1) / 255.0)  # doctest: +SKIP

Importing this package is cheap: names are loaded from their modules on first use. Modules:
:mod:`~aelab.data.datasets` (:func:`load_dataset`, memory-mapped after the first load),
:mod:`~aelab.data.readers` (IDX, image folders and zips, CIFAR archives, npy/npz),
:mod:`~aelab.data.registry` (names, files, checksums, addresses, licences),
:mod:`~aelab.data.download` (verified download or copy from a mirror), :mod:`~aelab.data.preprocess`,
:mod:`~aelab.data.spectra`, :mod:`~aelab.data.synthetic` (spiked covariances) and
:mod:`~aelab.data.torch_bridge` (a torch ``Dataset`` and seeded ``DataLoader``; imports torch).
"""

from aelab._lazy import lazy_exports

_EXPORTS = {
    "Dataset": "datasets",
    "load_dataset": "datasets",
    "fetch": "download",
    "verify": "download",
    "covariance_spectrum": "spectra",
    "cached_covariance_spectrum": "spectra",
    "dataset_names": "registry",
    "get_spec": "registry",
    "data_dir": "paths",
    "cache_dir": "paths",
    "DataFormatError": "readers",
    "ChecksumError": "checksums",
    "Covariance": "synthetic",
    "spiked_covariance": "synthetic",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
