"""Checks made before any work starts: an output folder that can be written, enough memory.

Each check fails with a one-line :class:`aelab.errors.ConfigError` (exit code 2) that names
what is wrong and what to change, and creates nothing when it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from aelab.errors import ConfigError

__all__ = ["MAX_POINTS", "check_writable_dir", "available_memory_bytes", "check_memory", "format_bytes",
           "IGNORE_MEMORY_ENV"]

IGNORE_MEMORY_ENV = "AELAB_IGNORE_MEMORY"


#: the largest grid a sweep runs without ``--max-points``: each point is a run folder
MAX_POINTS = 10_000


def check_writable_dir(path: str | Path, option: str = "--out") -> Path:
    """Check that ``path`` is a folder that can be written, or can be created as one.

    Nothing is created: the nearest existing ancestor must be a writable folder. Raises a
    :class:`ConfigError` naming ``option`` and the path otherwise (a regular file on the way, a
    read-only folder or file system). Returns ``path`` as a :class:`Path`.
    """
    target = Path(path)
    probe = target
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: its target's folder would be created
            raise ConfigError(f"{option} {target}: {probe} is a broken symbolic link")
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    if not probe.is_dir():
        where = "exists and is not a folder" if probe == target else f"{probe} is not a folder"
        raise ConfigError(f"{option} {target}: {where}")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "is not writable" if probe == target else f"cannot be created ({probe} is not writable)"
        raise ConfigError(f"{option} {target}: {where}")
    return target


def available_memory_bytes() -> int | None:
    """Memory available to new allocations without swapping (``MemAvailable`` of
    ``/proc/meminfo``; psutil where that file is missing), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - an unknown platform: no check
        return None


def format_bytes(n: float) -> str:
    """``16106127360`` -> ``"15 GiB"`` (three significant digits, binary units)."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value >= 1000 else f"{value:.3g} {unit}"
    return f"{int(n)} B"


def _ignored() -> bool:
    return os.environ.get(IGNORE_MEMORY_ENV, "").strip().lower() not in ("", "0", "false", "no")


def check_memory(needed_bytes: float, *, what: str, hint: str, allow: bool = False) -> None:
    """Refuse a computation whose memory estimate exceeds the memory available now.

    Args:
        needed_bytes: the estimate, computed from the options before anything is allocated.
        what: what needs the memory, e.g. ``"aelab deep simulate"``.
        hint: what to lower, e.g. ``"lower --width or --depth"``.
        allow: skip the check (an ``--ignore-memory`` option); the environment variable
            ``AELAB_IGNORE_MEMORY=1`` skips it too.

    Raises:
        ConfigError: "WHAT needs about 15 GiB, this machine has 8 GiB free; HINT (or --ignore-memory)".
    """
    if allow or _ignored():
        return
    free = available_memory_bytes()
    if free is None or needed_bytes <= free:
        return
    raise ConfigError(f"{what} needs about {format_bytes(needed_bytes)}, this machine has "
                      f"{format_bytes(free)} free; {hint} (or --ignore-memory)")
