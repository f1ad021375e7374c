"""Checks of what a run needs from the machine, made before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from aelab.errors import ConfigError

__all__ = ["check_writable_dir", "check_memory", "available_memory_bytes"]


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


def available_memory_bytes() -> int | None:
    """The memory this machine can give a new allocation (MemAvailable of /proc/meminfo), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**28 else f"{n / 2**20:.3g} MiB"


def check_memory(needed_bytes: float, *, what: str, hint: str, allow: bool = False) -> None:
    """Refuse work whose memory estimate exceeds what the machine has free (a :class:`ConfigError`,
    before anything is allocated). ``allow`` (``--ignore-memory``) or ``AELAB_IGNORE_MEMORY=1`` skips it."""
    if allow or os.environ.get("AELAB_IGNORE_MEMORY") == "1":
        return
    free = available_memory_bytes()
    if free is not None and needed_bytes > free:
        raise ConfigError(f"{what} needs about {_gib(needed_bytes)}, this machine has {_gib(free)} free; {hint} "
                          "(or --ignore-memory)")
