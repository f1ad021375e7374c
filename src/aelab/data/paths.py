"""Where data sets and decoded-array caches live.

The data directory is, in order: the ``data_dir`` argument (``--data-dir`` on the command
line), the environment variable ``AELAB_DATA``, or ``<user cache dir>/aelab/data`` from
:mod:`platformdirs`. Decoded arrays and spectra are cached under ``AELAB_CACHE``, else
``<user cache dir>/aelab/arrays``; the cache never lives in the data directory, so a
read-only mirror can serve as data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "CACHE_ENV", "data_dir", "cache_dir", "default_data_dir"]

DATA_ENV = "AELAB_DATA"
CACHE_ENV = "AELAB_CACHE"


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("aelab", appauthor=False))


def default_data_dir() -> Path:
    """The data directory used when neither an argument nor ``AELAB_DATA`` is given."""
    return _user_cache() / "data"


def data_dir(path: str | Path | None = None) -> Path:
    """The data directory: ``path``, else ``$AELAB_DATA``, else the per-user default."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return default_data_dir()


def cache_dir(path: str | Path | None = None) -> Path:
    """The cache of decoded arrays and spectra: ``path``, else ``$AELAB_CACHE``, else per-user."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return _user_cache() / "arrays"
