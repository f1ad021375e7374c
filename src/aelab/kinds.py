"""Experiment kinds: a named configuration model plus a runner that writes a run folder.

Sweeps (:mod:`aelab.sweep`) and the command line look experiments up here, so every kind of
run is described once. A runner takes ``(config, out_dir, quiet=...)``, writes a complete run
folder and returns a flat mapping of final observables (e.g. ``{"pmse": 0.02}``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aelab.errors import ConfigError

__all__ = ["ExperimentKind", "register_kind", "get_kind", "kind_names"]


@dataclass(frozen=True)
class ExperimentKind:
    """One kind of run: its name, configuration model and runner.

    ``options`` are the runtime options (e.g. ``device``) the runner takes as keywords: they change
    no result and are not part of the configuration, so a sweep passes them to every point without
    changing its hash.
    """

    name: str
    config_model: type[BaseModel]
    run: Callable[..., Mapping[str, Any]]
    description: str = ""
    options: tuple[str, ...] = ()

    def accepted(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The ``options`` this kind's runner takes (the others do not apply to it)."""
        return {k: v for k, v in options.items() if k in self.options and v is not None}


_KINDS: dict[str, ExperimentKind] = {}

# Modules that register kinds when imported; imported lazily so the CLI starts fast.
_PROVIDERS = (
    "aelab.shallow.result",
    "aelab.deep.results",
    "aelab.reversible.results",
    "aelab.train.training",
    "aelab.train.study",
)


def register_kind(name: str, config_model: type[BaseModel], run: Callable[..., Mapping[str, Any]],
                  description: str = "", *, options: tuple[str, ...] = ()) -> ExperimentKind:
    """Register an experiment kind under ``name`` (idempotent for the same objects)."""
    kind = ExperimentKind(name, config_model, run, description, tuple(options))
    _KINDS[name] = kind
    return kind


def _load_providers() -> None:
    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not exc.name or not (module == exc.name or module.startswith(exc.name + ".")):
                raise  # a real missing dependency inside the module


def get_kind(name: str) -> ExperimentKind:
    """The experiment kind called ``name``; a :class:`ConfigError` lists the known ones."""
    if name not in _KINDS:
        _load_providers()
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigError(f"experiment: unknown kind {name!r} (known: {', '.join(kind_names())})") from None


def kind_names() -> list[str]:
    _load_providers()
    return sorted(_KINDS)


def run_kind(name: str, config: BaseModel, out_dir: str | Path, *, quiet: bool = True,
             **options: Any) -> Mapping[str, Any]:
    """Run one configuration of kind ``name`` into ``out_dir`` (runtime ``options`` where the kind takes them)."""
    kind = get_kind(name)
    return kind.run(config, Path(out_dir), quiet=quiet, **kind.accepted(options))
