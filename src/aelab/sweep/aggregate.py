"""Aggregation: one tidy table of all points (``results.csv``) and an xarray Dataset
(``results.nc``) with the grid's axes as dimensions.

Table: one row per point, columns ``point`` (run folder id) and ``status``, the config fields
(dotted names, the axes first), the final observables, then ``error`` and ``elapsed_s``.
Failed and pending points have empty observables. Dataset: one dimension per axis (zipped
axes share one, named by the first; the others are coordinates along it), each numeric
observable as a variable (NaN where a point is not complete), and ``status``. The file is
netCDF 3 written with SciPy, so reading it back needs nothing beyond xarray and SciPy:
``xarray.open_dataset("DIR/results.nc", engine="scipy")``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aelab.results import atomic_write_bytes, write_table
from aelab.sweep.store import COMPLETE, PENDING, SweepStore

__all__ = ["collect", "to_dataset", "write_results", "flatten", "RESULTS_CSV", "RESULTS_NC"]

RESULTS_CSV = "results.csv"
RESULTS_NC = "results.nc"


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections as dotted keys: ``{"train": {"lr": 0.1}} -> {"train.lr": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _cell(value: Any) -> Any:
    """A table cell: scalars as they are, lists and tables as JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, str)


def collect(root: str | Path):
    """The tidy table of the sweep folder ``root`` (a pandas DataFrame) and its manifest."""
    import pandas as pd

    store = SweepStore(root)
    manifest = store.read_manifest()
    axis_fields = [f for d in manifest["dims"] for f in d["fields"]]
    base = manifest.get("base") or {}
    rows, config_cols, obs_cols = [], {}, {}
    for entry in manifest["points"]:
        result = store.read_result(entry["id"])
        status = PENDING if result is None else result.get("status", PENDING)
        config: dict[str, Any] = {}
        if result is not None:
            try:
                config = flatten(json.loads((store.point_dir(entry["id"]) / "config.json").read_text("utf-8")))
            except (FileNotFoundError, json.JSONDecodeError):
                config = {}
        if not config:
            config = {**flatten(base), **entry["coords"]}
        row: dict[str, Any] = {"point": entry["id"], "status": status}
        for name in axis_fields:
            row[name] = _cell(entry["coords"].get(name))
        for name, value in config.items():
            if name not in axis_fields:
                config_cols.setdefault(name, None)
                row[name] = _cell(value)
        observables = (result or {}).get("observables") or {}
        for name, value in observables.items():
            col = name if name not in row or name in obs_cols else f"result.{name}"
            obs_cols.setdefault(col, None)
            row[col] = float(value) if _is_number(value) else _cell(value)
        err = (result or {}).get("error")
        row["error"] = f"{err.get('type', 'Error')}: {err.get('message', '')}" if err else None
        row["elapsed_s"] = (result or {}).get("elapsed_s")
        rows.append(row)
    columns = ["point", "status", *axis_fields, *config_cols, *obs_cols, "error", "elapsed_s"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["observables"] = list(obs_cols)
    frame.attrs["axes"] = axis_fields
    return frame, manifest


def _coord_values(values: list[Any]):
    """An array for a coordinate: ints, floats, bools or strings; anything else as JSON text."""
    import numpy as np

    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(_is_number(v) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=str)
    return np.asarray([json.dumps(v, sort_keys=True) for v in values], dtype=str)


def to_dataset(frame, manifest: Mapping[str, Any]):
    """The sweep as an xarray Dataset: axes as dimensions, numeric observables as variables."""
    import numpy as np
    import xarray as xr

    dims = [d["dim"] for d in manifest["dims"]]
    shape = tuple(len(d["values"]) for d in manifest["dims"])
    coords: dict[str, Any] = {}
    for d in manifest["dims"]:
        for j, name in enumerate(d["fields"]):
            coords[name] = (d["dim"], _coord_values([v[j] for v in d["values"]]))
    index = {e["id"]: tuple(e["index"]) for e in manifest["points"]}
    positions = [index[p] for p in frame["point"]]
    data_vars: dict[str, Any] = {}
    for name in frame.attrs.get("observables", []):
        column = frame[name]
        values = [v for v, s in zip(column, frame["status"]) if s == COMPLETE]
        if not values or not all(_is_number(v) for v in values):
            continue  # text or list observables stay in the table only
        array = np.full(shape, np.nan)
        for pos, value, status in zip(positions, column, frame["status"]):
            if status == COMPLETE and _is_number(value):
                array[pos] = float(value)
        data_vars[name] = (dims, array)
    status = np.full(shape, PENDING, dtype=object)
    point = np.full(shape, "", dtype=object)
    for pos, s, p in zip(positions, frame["status"], frame["point"]):
        status[pos], point[pos] = s, p
    data_vars["status"] = (dims, status.astype(str))
    data_vars["point"] = (dims, point.astype(str))
    attrs = {
        "name": manifest.get("name", ""),
        "experiment": manifest.get("experiment", ""),
        "seed_field": manifest.get("seed_field") or "",
        "grid": json.dumps(manifest.get("grid", {}), sort_keys=True),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def write_results(root: str | Path) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.nc`` of the sweep folder ``root`` (atomically)."""
    root = Path(root)
    frame, manifest = collect(root)
    csv_path = write_table(root / RESULTS_CSV, frame)
    dataset = to_dataset(frame, manifest)
    data = dataset.to_netcdf(None, engine="scipy")
    nc_path = atomic_write_bytes(root / RESULTS_NC, bytes(data))
    return csv_path, nc_path
