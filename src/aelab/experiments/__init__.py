"""One entry per published figure or table: ``aelab reproduce NAME``.

Each module in this package registers its entries with :func:`reproduction`. An entry is a
function ``run(out_dir: Path, *, quick: bool, seed: int, quiet: bool) -> None`` that writes a
run folder (``config.json``, ``meta.json``, data files and a figure). ``quick`` selects a
CI-sized version that finishes in seconds to a minute; the full version reproduces the paper.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aelab.errors import ConfigError

__all__ = ["Reproduction", "reproduction", "get_reproduction", "all_reproductions"]


@dataclass(frozen=True)
class Reproduction:
    """A reproducible figure or table."""

    name: str
    paper: str
    description: str
    run: Callable[..., None]


_REGISTRY: dict[str, Reproduction] = {}


def reproduction(name: str, *, paper: str, description: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator registering ``run(out_dir, *, quick, seed, quiet)`` as ``aelab reproduce NAME``."""

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        _REGISTRY[name] = Reproduction(name, paper, description, func)
        return func

    return decorate


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def all_reproductions() -> list[Reproduction]:
    """Every registered entry, sorted by name."""
    _discover()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_reproduction(name: str) -> Reproduction:
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown figure {name!r}; `aelab reproduce --list` shows them") from None


def run_reproduction(name: str, out_dir: str | Path, *, quick: bool = False, seed: int = 0,
                     quiet: bool = False, overwrite: bool = False, resume: bool = False) -> Path:
    """Run one entry into ``out_dir`` and return the folder.

    The folder is started with a ``running`` record of kind ``reproduce:NAME`` before the entry
    runs; the entry writes its files and marks it complete; a failure is recorded as such. A folder
    that holds a run is refused unless ``overwrite`` (cleared first) or ``resume`` (the same entry and
    options again: entries built on sweeps reuse their finished runs).
    """
    from aelab.errors import ConfigError
    from aelab.record import RunRecord
    from aelab.results import RunFolder

    if overwrite and resume:
        raise ConfigError("--overwrite and --resume exclude each other")
    entry = get_reproduction(name)
    out = Path(out_dir)
    options = {"name": name, "quick": quick, "seed": seed}
    record = RunRecord.start(f"reproduce:{name}", options, seeds=[seed])
    if resume and (out / RunFolder.META).exists():
        folder = RunFolder.resume(out, record, options)
    else:
        folder = RunFolder.create(out, record, overwrite=overwrite)
    try:
        entry.run(out, quick=quick, seed=seed, quiet=quiet)
    except BaseException as exc:
        RunFolder(out).fail(exc)
        raise
    if RunFolder(out).record.status != "complete":
        folder.finish()
    return out
