"""Checks of what a run needs from the machine, made before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from aelab.errors import ConfigError

__all__ = ["check_writable_dir"]


def check_writable_dir(path: str | Path, option: str = "--out") -> None:
    """Raise a :class:`ConfigError` naming ``path`` unless it is (or can be created as) a writable folder.

    Nothing is created: the nearest existing ancestor must be a writable folder.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{option} {path}: exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {path}: the folder is not writable")
        return
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: cannot create it ({parent} is not writable)")
