"""Validated configurations: one frozen pydantic model per experiment, read by theory and simulation.

Files may be TOML, YAML or JSON; ``--set section.key=value`` overrides are applied before
validation, so every value is checked in one place and errors name the field.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from aelab.errors import ConfigError
from aelab.record import jsonable

__all__ = [
    "StrictModel",
    "load_config",
    "parse_overrides",
    "apply_overrides",
    "read_config_file",
    "validate_config",
    "as_config",
]

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for all configuration sections: frozen, unknown keys rejected, finite floats only."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_default=True,
        str_strip_whitespace=True,
    )

    def with_overrides(self, overrides: Mapping[str, Any] | Iterable[str]):
        """A copy with some keys replaced, validated again: ``{"model.K": 3}`` or ``["model.K=3"]``, the
        meaning of ``--set model.K=3`` on the source this configuration was built from."""
        if isinstance(overrides, Mapping):
            pairs = [(str(k).split("."), v) for k, v in overrides.items()]
            for path, _ in pairs:
                if any(not part for part in path):
                    raise ConfigError(f"override {'.'.join(path)!r}: expected section.key")
        else:
            pairs = parse_overrides(overrides)
        # the keys set so far (defaults stay free to follow, e.g. data.D the number of eigenvalues)
        return validate_config(type(self), apply_overrides(self.model_dump(mode="json", exclude_unset=True), pairs))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON file into a dict, with a clear error on failure."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: unknown config format {suffix!r} (use .toml, .yaml, .yml or .json)")
    except ConfigError:
        raise
    except Exception as exc:  # parser errors of three libraries
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table of sections, got {type(data).__name__}")
    return data


def _parse_value(text: str) -> Any:
    """Parse an override value as a YAML scalar or flow collection ('0.1', 'true', '[1, 2]')."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def parse_overrides(items: Iterable[str]) -> list[tuple[list[str], Any]]:
    """Parse ``section.key=value`` strings into (path, value) pairs."""
    parsed = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        parsed.append((key.split("."), _parse_value(value)))
    return parsed


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[tuple[list[str], Any]]) -> dict[str, Any]:
    """Return a deep copy of ``data`` with each (path, value) set, creating sections as needed."""
    out = jsonable(data, finite=False)
    for path, value in overrides:
        node = out
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"--set {'.'.join(path)}: {'.'.join(path[: i + 1])} is not a section")
            node = child
        node[path[-1]] = value
    return out


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        named = not loc or msg.startswith((f"{loc}.", f"{loc} ", f"{loc}:"))  # a model check names its fields
        lines.append(msg if named else f"{loc}: {msg}")
    return "invalid configuration: " + "; ".join(lines)


def validate_config(model: type[T], data: Mapping[str, Any]) -> T:
    """Validate a plain mapping into ``model``, turning any failure into a :class:`ConfigError`."""
    _reject_non_finite(data, [])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None
    except (TypeError, ValueError) as exc:  # validators raising outside pydantic's wrapping
        raise ConfigError(f"invalid configuration: {exc}") from None


def _reject_non_finite(data: Any, path: list[str]) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(f"invalid configuration: {'.'.join(path)}: value must be finite, got {data}")
    if isinstance(data, Mapping):
        for k, v in data.items():
            _reject_non_finite(v, [*path, str(k)])
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            _reject_non_finite(v, [*path, str(i)])


def load_config(
    model: type[T],
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> T:
    """Load and validate a configuration.

    Args:
        model: the pydantic model class of the experiment.
        source: a file path, a mapping, or None for the model's defaults.
        overrides: ``section.key=value`` strings applied on top of the source.
    """
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        data = read_config_file(source)
    data = apply_overrides(data, parse_overrides(overrides))
    return validate_config(model, data)


def as_config(model: type[T], config: T | str | Path | Mapping[str, Any] | None) -> T:
    """``config`` as a validated ``model``: an instance as it is, a mapping of fields or a config
    file through :func:`load_config` (what every area's run function accepts)."""
    return config if isinstance(config, model) else load_config(model, config)
