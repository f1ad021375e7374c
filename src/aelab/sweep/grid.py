"""Grid files: an experiment kind, a base configuration and axes over dotted config fields.

A grid (TOML, YAML or JSON) reads::

    experiment = "shallow"                 # a registered kind, or "package.module:kind"
    base = "shallow.toml"                  # or an inline [base] table; a path is relative to the grid
    seeds = 3                              # optional seeds axis: 3 -> [0, 1, 2], or a list
    seed_field = "train.seed"              # optional when the config has one field called "seed"

    [axes]                                 # cartesian product, first axis slowest
    "model.K" = [1, 2, 4]
    "train.lr" = {logspace = [-2, 0, 9]}   # also linspace, geomspace, range, values

    [[zip]]                                # axes that vary together: one dimension
    "train.lr" = [0.1, 0.2]
    "train.time" = [20, 10]

Each point is the base with its axis values applied as dotted overrides
(:func:`aelab.config.apply_overrides`) and validated by the kind's model
(:func:`aelab.config.validate_config`), so there is one configuration system. Every point is
validated when the grid is loaded; errors name the axis and exit with code 2.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aelab.config import apply_overrides, read_config_file, validate_config
from aelab.errors import ConfigError
from aelab.kinds import ExperimentKind, get_kind
from aelab.limits import MAX_POINTS
from aelab.record import config_hash

__all__ = ["AxisGroup", "Grid", "Point", "load_grid", "grid_from_axes", "expand_axis", "config_hash",
           "resolve_kind", "MAX_POINTS"]


GRID_KEYS = ("experiment", "name", "description", "base", "axes", "zip", "seeds", "seed_field")
SPEC_KEYS = ("values", "linspace", "logspace", "geomspace", "range")
SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True)
class AxisGroup:
    """One dimension of the grid: one axis, or several zipped axes varying together.

    Attributes:
        fields: the dotted config fields set along this dimension (the first names it).
        values: one tuple per position, one entry per field.
    """

    fields: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]

    @property
    def dim(self) -> str:
        return self.fields[0]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Point:
    """One validated point of a grid.

    Attributes:
        id: the stable hash of the resolved configuration (the run folder's name).
        index: position along each dimension of the grid.
        coords: the axis values of this point, by dotted field.
        config: the validated configuration.
    """

    id: str
    index: tuple[int, ...]
    coords: dict[str, Any]
    config: BaseModel

    def config_data(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")


@dataclass(frozen=True)
class Grid:
    """A parsed grid: the kind, the base configuration and the dimensions.

    Attributes:
        kind: the experiment kind every point runs.
        provider: the module that registers ``kind`` (imported by workers that lack it).
        base: the base configuration as a plain mapping (validated).
        groups: the dimensions, slowest first; the seeds axis, if any, is the last.
        seed_field: the dotted field of the seeds axis, or None.
        name: a label for the sweep.
        source: the grid as read (for the sweep's manifest).
    """

    kind: ExperimentKind
    provider: str | None
    base: dict[str, Any]
    groups: tuple[AxisGroup, ...]
    seed_field: str | None = None
    name: str = "sweep"
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(g) for g in self.groups)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @cached_property
    def points(self) -> tuple[Point, ...]:
        """Every point in grid order (last dimension fastest), validated, with unique ids."""
        model = self.kind.config_model
        points: list[Point] = []
        seen: dict[str, dict[str, Any]] = {}
        for index in itertools.product(*(range(len(g)) for g in self.groups)):
            coords: dict[str, Any] = {}
            for group, i in zip(self.groups, index):
                coords.update(zip(group.fields, group.values[i]))
            data = apply_overrides(self.base, [(name.split("."), value) for name, value in coords.items()])
            try:
                config = validate_config(model, data)
            except ConfigError as exc:
                raise ConfigError(f"grid point {_describe(coords)}: {exc}") from None
            pid = config_hash(self.kind.name, config)
            if pid in seen:
                raise ConfigError(f"grid points {_describe(seen[pid])} and {_describe(coords)} resolve to the "
                                  "same configuration (an axis value is repeated or has no effect)")
            seen[pid] = coords
            points.append(Point(pid, tuple(index), coords, config))
        return tuple(points)


def _describe(coords: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in coords.items()) + "}" if coords else "{}"


def resolve_kind(spec: str, provider: str | None = None) -> tuple[ExperimentKind, str | None]:
    """The kind named by ``spec`` ("name" or "package.module:name") and the module that registers it.

    ``provider`` is imported first when given (workers use it to find kinds registered outside
    the package).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("experiment: expected the name of an experiment kind, e.g. experiment = \"shallow\"")
    module, sep, name = spec.strip().rpartition(":")
    if not sep:
        module, name = provider or "", spec.strip()
    if module and module not in ("__main__", "__mp_main__"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise ConfigError(f"experiment: cannot import module {module!r} that should define kind {name!r}") from None
    kind = get_kind(name)
    return kind, getattr(kind.run, "__module__", None)


def _round(value: float) -> float:
    """Round a computed axis value to 12 significant digits, so hashes agree across platforms."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _numbers(axis: str, key: str, args: Any, n: int | tuple[int, ...]) -> list[float]:
    counts = (n,) if isinstance(n, int) else n
    if not isinstance(args, (list, tuple)) or len(args) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise ConfigError(f"axis {axis}: {key} expects a list of {want} numbers, got {args!r}")
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a):
            raise ConfigError(f"axis {axis}: {key} expects finite numbers, got {args!r}")
    return list(args)


def _count(axis: str, key: str, num: float) -> int:
    if num != int(num) or num < 1:
        raise ConfigError(f"axis {axis}: {key} needs a whole number of values >= 1, got {num!r}")
    return int(num)


def _too_many(what: str, count: int, max_points: int) -> ConfigError:
    return ConfigError(f"{what} makes {count:,} points, more than the limit of {max_points:,}; "
                       "pass --max-points N to allow more (max_points= in Python)")


def _check_count(axis: str, key: str, count: int, max_points: int | None) -> None:
    if max_points is not None and count > max_points:
        raise _too_many(f"axis {axis}: {key} of {count:,} values", count, max_points)


def expand_axis(axis: str, spec: Any, *, max_points: int | None = None) -> list[Any]:
    """The values of one axis: a list, or ``{linspace|logspace|geomspace = [a, b, n]}``,
    ``{range = [start, stop(, step)]}`` (integers, stop excluded) or ``{values = [...]}``.

    Computed floats are rounded to 12 significant digits (stable run-folder hashes). An axis of
    more than ``max_points`` values is refused before its values are computed.
    """
    import numpy as np

    if isinstance(spec, Mapping):
        keys = list(spec)
        if len(keys) != 1 or keys[0] not in SPEC_KEYS:
            raise ConfigError(f"axis {axis}: expected a list of values or one of "
                              f"{{{', '.join(SPEC_KEYS)}}} = [...], got keys {keys}")
        key, args = keys[0], spec[keys[0]]
        if key == "values":
            values = args
            if not isinstance(values, (list, tuple)):
                raise ConfigError(f"axis {axis}: values expects a list, got {values!r}")
            values = list(values)
        elif key == "range":
            a = _numbers(axis, key, args, (2, 3))
            if any(float(x) != int(x) for x in a) or any(isinstance(x, float) for x in a):
                raise ConfigError(f"axis {axis}: range expects integers [start, stop(, step)], got {args!r}")
            if len(a) == 3 and a[2] == 0:
                raise ConfigError(f"axis {axis}: range step must not be 0")
            values = range(*(int(x) for x in a))
            _check_count(axis, key, len(values), max_points)
            values = list(values)
        else:
            start, stop, num = _numbers(axis, key, args, 3)
            num = _count(axis, key, num)
            _check_count(axis, key, num, max_points)
            if key == "linspace":
                raw = np.linspace(start, stop, num)
            elif key == "logspace":
                raw = np.logspace(start, stop, num)
            else:
                if start <= 0 or stop <= 0:
                    raise ConfigError(f"axis {axis}: geomspace needs positive end points, got {args!r}")
                raw = np.geomspace(start, stop, num)
            values = [_round(float(v)) for v in raw]
    elif isinstance(spec, (list, tuple)):
        values = list(spec)
    else:
        raise ConfigError(f"axis {axis}: expected a list of values or {{{', '.join(SPEC_KEYS)}}} = [...], "
                          f"got {spec!r}")
    if not values:
        raise ConfigError(f"axis {axis}: empty axis (give at least one value)")
    _check_count(axis, "a list", len(values), max_points)
    seen: set[str] = set()
    for v in values:
        key = json.dumps(v, sort_keys=True, default=str)
        if key in seen:
            raise ConfigError(f"axis {axis}: value {v!r} is repeated")
        seen.add(key)
    return values


def _flatten_axes(table: Any, where: str, prefix: str = "") -> dict[str, Any]:
    """Flatten nested tables (``model.K = [...]`` in TOML) into dotted names; spec tables are leaves."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of axes (\"section.field\" = [values]), got {table!r}")
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if any(not part.strip() for part in str(name).split(".")):
            raise ConfigError(f"{where}: bad axis name {name!r} (expected section.field)")
        if isinstance(value, Mapping) and value and not (set(value) & set(SPEC_KEYS)):
            out.update(_flatten_axes(value, where, name + "."))
        else:
            out[name] = value
    return out


def _seed_values(spec: Any, max_points: int | None) -> list[int]:
    if isinstance(spec, bool):
        raise ConfigError(f"seeds: expected a count or a list of integers, got {spec!r}")
    if isinstance(spec, int):
        if spec < 1:
            raise ConfigError(f"seeds: the count must be >= 1, got {spec}")
        if max_points is not None and spec > max_points:
            raise _too_many(f"seeds: {spec:,} seeds", spec, max_points)
        return list(range(spec))
    values = expand_axis("seeds", spec, max_points=max_points)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"seeds: expected non-negative integers, got {v!r}")
    return values


def _find_seed_field(model: type[BaseModel], prefix: str = "") -> list[str]:
    found = []
    for name, info in model.model_fields.items():
        if name == "seed":
            found.append(prefix + name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(_find_seed_field(annotation, f"{prefix}{name}."))
    return found


def load_grid(source: str | Path | Mapping[str, Any], *, base_dir: str | Path | None = None,
              max_points: int | None = MAX_POINTS) -> Grid:
    """Read and validate a grid file (or mapping); every point is checked before anything runs.

    Args:
        source: a TOML/YAML/JSON grid file, or the grid as a mapping.
        base_dir: folder against which a ``base`` path is resolved (default: the grid's folder).
        max_points: the largest grid accepted (None: no limit); a larger one is refused from
            the lengths of its axes, before its points are computed.
    """
    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                   or max_points < 1):
        raise ConfigError(f"--max-points {max_points!r}: expected a whole number >= 1")
    if isinstance(source, Mapping):
        raw = dict(source)
        where = Path(base_dir) if base_dir is not None else Path.cwd()
        default_name = "sweep"
    else:
        path = Path(source)
        raw = read_config_file(path)
        where = Path(base_dir) if base_dir is not None else path.parent
        default_name = path.stem
    unknown = [k for k in raw if k not in GRID_KEYS]
    if unknown:
        raise ConfigError(f"grid: unknown key {unknown[0]!r} (expected {', '.join(GRID_KEYS)})")
    if "experiment" not in raw:
        raise ConfigError("grid: missing 'experiment' (the kind of run of each point, e.g. \"shallow\")")
    kind, provider = resolve_kind(raw["experiment"])
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name: expected a non-empty string, got {name!r}")

    base_spec = raw.get("base", {})
    if isinstance(base_spec, str):
        base_path = Path(base_spec)
        base = read_config_file(base_path if base_path.is_absolute() else where / base_path)
    elif isinstance(base_spec, Mapping):
        base = apply_overrides(base_spec, [])
    else:
        raise ConfigError(f"base: expected a table or the path of a config file, got {base_spec!r}")
    try:
        validate_config(kind.config_model, base)
    except ConfigError as exc:
        raise ConfigError(f"base: {exc}") from None

    groups: list[AxisGroup] = []
    for axis, spec in _flatten_axes(raw.get("axes", {}), "axes").items():
        groups.append(AxisGroup((axis,), tuple((v,) for v in expand_axis(axis, spec, max_points=max_points))))
    zips = raw.get("zip", [])
    if isinstance(zips, Mapping):
        zips = [zips]
    if not isinstance(zips, list):
        raise ConfigError("zip: expected a list of tables ([[zip]]) of axes of equal length")
    for i, table in enumerate(zips):
        axes = {a: expand_axis(a, s, max_points=max_points) for a, s in _flatten_axes(table, f"zip[{i}]").items()}
        if not axes:
            raise ConfigError(f"zip[{i}]: empty (give at least one axis)")
        lengths = {a: len(v) for a, v in axes.items()}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"zip[{i}]: zipped axes need equal lengths, got "
                              + ", ".join(f"{a} ({n})" for a, n in lengths.items()))
        groups.append(AxisGroup(tuple(axes), tuple(zip(*axes.values()))))

    seed_field = raw.get("seed_field")
    if "seeds" in raw:
        seeds = _seed_values(raw["seeds"], max_points)
        if seed_field is None:
            found = _find_seed_field(kind.config_model)
            if len(found) != 1:
                has = f"several fields called seed ({', '.join(found)})" if found else "no field called seed"
                raise ConfigError(f"seed_field: the {kind.name!r} config has {has}; "
                                  "name the dotted field that the seeds axis sets")
            seed_field = found[0]
        if not isinstance(seed_field, str) or not seed_field:
            raise ConfigError(f"seed_field: expected a dotted config field, got {seed_field!r}")
        groups.append(AxisGroup((seed_field,), tuple((s,) for s in seeds)))
    elif seed_field is not None:
        raise ConfigError("seed_field: given without a seeds axis")

    fields = [f for g in groups for f in g.fields]
    for i, f in enumerate(fields):
        if f in fields[:i]:
            raise ConfigError(f"axis {f}: given twice")
        for other in fields[:i]:
            if f.startswith(other + ".") or other.startswith(f + "."):
                raise ConfigError(f"axis {f}: overlaps axis {other}")

    size = math.prod(len(g) for g in groups)
    if max_points is not None and size > max_points:
        dims = " x ".join(f"{g.dim} ({len(g)})" for g in groups)
        raise _too_many(f"grid: {dims}", size, max_points)

    # Each axis value alone on the base: an error here names exactly one axis.
    for group in groups:
        for values in group.values:
            for axis, value in zip(group.fields, values):
                try:
                    data = apply_overrides(base, [(axis.split("."), value)])
                    validate_config(kind.config_model, data)
                except ConfigError as exc:
                    raise ConfigError(f"axis {axis} = {value!r}: {str(exc).removeprefix('--set ')}") from None

    grid = Grid(kind=kind, provider=provider, base=base, groups=tuple(groups), seed_field=seed_field,
                name=name.strip(), source=json.loads(json.dumps(raw, default=str)))
    grid.points  # validates every combination and checks that ids are unique
    return grid


def grid_from_axes(experiment: str, base: Mapping[str, Any] | None = None,
                   axes: Mapping[str, Any] | None = None, *, max_points: int | None = MAX_POINTS,
                   **extra: Any) -> Grid:
    """Build a grid in Python: ``grid_from_axes("shallow", base, {"train.lr": [0.1, 1.0]})``."""
    raw: dict[str, Any] = {"experiment": experiment, "base": dict(base or {}), "axes": dict(axes or {})}
    raw.update(extra)
    return load_grid(raw, max_points=max_points)


def point_table(points: Sequence[Point]) -> list[dict[str, Any]]:
    """The manifest entries of ``points``: id, index and coordinates."""
    return [{"id": p.id, "index": list(p.index), "coords": p.coords} for p in points]
