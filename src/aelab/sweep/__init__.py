"""Parameter sweeps: grids over any config field, run serially, on local processes or on a Dask
cluster, resumable, aggregated into one table and one xarray Dataset.

>>> from aelab import sweep
>>> result = sweep.run({"experiment": "shallow", "axes": {"train.lr": [0.5, 1, 2]}}, "runs/lr")  # doctest: +SKIP
>>> result.to_dataframe(); result.to_xarray()                                                 # doctest: +SKIP
"""

from aelab._lazy import lazy_exports

_EXPORTS = {
    "run": "api",
    "SweepResult": "api",
    **dict.fromkeys(["Grid", "AxisGroup", "Point", "load_grid", "expand_axis", "grid_from_axes"], "grid"),
    "config_hash": "aelab.record",
    **dict.fromkeys(["run_sweep", "sweep_status", "SweepReport", "SweepStatus"], "driver"),
    **dict.fromkeys(["make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "EXECUTORS"], "executors"),
    **dict.fromkeys(["SweepStore", "PointTask", "PointOutcome", "execute_point"], "store"),
    **dict.fromkeys(["collect", "to_dataset", "write_results"], "aggregate"),
    "plot_sweep": "plot",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
