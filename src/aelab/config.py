"""Validated configurations: one frozen pydantic model per experiment, read by theory and simulation.

Files may be TOML, YAML or JSON; ``--set section.key=value`` overrides are applied before
validation, so every value is checked in one place and errors name the field.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema

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


_SCALARS = ("int", "bool", "float")


def _plain_number(value: Any) -> Any:
    """NumPy scalars as Python numbers (``np.int64(3)`` -> 3), so strict fields accept them."""
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def _strict_scalars(schema: Any) -> Any:
    """Make every int, bool and float of a core schema strict (in place): an integer field takes
    only integers (not True, 3.0 or "3"), a boolean only true/false (not 0, 1 or -0.0), a float
    any real number but not a boolean or a string. NumPy scalars are converted first."""
    if isinstance(schema, dict):
        for key, value in list(schema.items()):
            if key == "metadata":
                continue
            if isinstance(value, dict) and value.get("type") in _SCALARS:
                value["strict"] = True
                schema[key] = core_schema.no_info_before_validator_function(_plain_number, value)
            else:
                _strict_scalars(value)
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            if isinstance(value, dict) and value.get("type") in _SCALARS:
                value["strict"] = True
                schema[i] = core_schema.no_info_before_validator_function(_plain_number, value)
            else:
                _strict_scalars(value)
    return schema


class StrictModel(BaseModel):
    """Base for all configuration sections: frozen, unknown keys rejected, finite floats only,
    strict integers and booleans (floats still accept integers: ``lr = 1``)."""

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

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return _strict_scalars(handler(source))


# YAML 1.2 floats: PyYAML (YAML 1.1) reads 1e-3 and 1E5 as strings, which strict floats refuse.
_YAML_FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class _Loader(yaml.SafeLoader):
    """The safe YAML loader, refusing duplicate keys and reading ``1e-3`` as a float."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:  # the keys written here; merged ones (<<) may be overridden
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(f"line {line}: duplicate key {key!r} (first given at line {first})")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    pass


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "-+0123456789.":
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, regexp) for tag, regexp in _Loader.yaml_implicit_resolvers.get(_first, [])
        if tag != "tag:yaml.org,2002:float"
    ]
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789."))


def _yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a subclass of the safe loader


def _yaml_error(exc: yaml.YAMLError) -> str:
    """A YAML parser error in one line: where and what."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = " ".join(str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
    if not what:
        what = " ".join(str(exc).split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {what}" if mark is not None else what


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON file into a dict, with a clear error on failure."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(f"{path}: unknown config format {suffix!r} (use .toml, .yaml, .yml or .json)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a text file (it holds NUL bytes)")
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text, object_pairs_hook=_json_pairs)
        else:
            data = _yaml_load(text)
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: cannot parse: {_yaml_error(exc)}") from None
    except Exception as exc:  # parser errors of the TOML and JSON libraries
        raise ConfigError(f"{path}: cannot parse: {' '.join(str(exc).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table of sections, got {type(data).__name__}")
    return data


def _parse_value(text: str) -> Any:
    """Parse an override value as a YAML scalar or flow collection ('0.1', 'true', '[1, 2]')."""
    try:
        return _yaml_load(text) if text.strip() else ""
    except (yaml.YAMLError, _DuplicateKey):
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
