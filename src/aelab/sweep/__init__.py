"""Parameter sweeps: grids over any config field, run serially, on local processes or on a
Dask cluster, resumable, aggregated into one table and one xarray Dataset.

>>> from aelab.sweep import load_grid, run_sweep
>>> report = run_sweep(load_grid("grid.toml"), "runs/sweep", executor="processes")  # doctest: +SKIP

The public names are imported lazily so that the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Grid", "AxisGroup", "Point", "load_grid", "expand_axis", "config_hash", "grid_from_axes",
    "run_sweep", "sweep_status", "SweepReport", "SweepStatus",
    "make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "EXECUTORS",
    "SweepStore", "PointTask", "PointOutcome", "execute_point",
    "collect", "to_dataset", "write_results",
    "plot_sweep",
]

_WHERE = {
    **dict.fromkeys(["Grid", "AxisGroup", "Point", "load_grid", "expand_axis", "config_hash", "grid_from_axes"],
                    "grid"),
    **dict.fromkeys(["run_sweep", "sweep_status", "SweepReport", "SweepStatus"], "driver"),
    **dict.fromkeys(["make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "EXECUTORS"],
                    "executors"),
    **dict.fromkeys(["SweepStore", "PointTask", "PointOutcome", "execute_point"], "store"),
    **dict.fromkeys(["collect", "to_dataset", "write_results"], "aggregate"),
    "plot_sweep": "plot",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'aelab.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
