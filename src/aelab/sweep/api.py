"""Sweeps from Python: :func:`run` a grid (a dict, a file or a :class:`~aelab.sweep.grid.Grid`) and get
a :class:`SweepResult` with the table of every point and an xarray Dataset over the grid.

>>> from aelab import sweep
>>> grid = {"experiment": "shallow", "base": {"data": {"D": 200}, "train": {"time": 10}},
...         "axes": {"train.lr": [0.5, 1.0, 2.0], "model.K": [1, 2]}}
>>> result = sweep.run(grid, "runs/lr_K", executor="processes")      # doctest: +SKIP
>>> result.to_xarray()["pmse"].plot(hue="model.K")                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SweepResult", "run"]


class SweepResult:
    """A sweep folder read back: its manifest, every point's row, the Dataset over the grid.

    Attributes:
        root: the sweep folder.
        manifest: ``sweep.json`` (the grid, its dimensions and points).
        report: what the call of :func:`run` did (None for a folder read with :func:`aelab.load`).
    """

    def __init__(self, root: str | Path, report=None):
        from aelab.sweep.store import SweepStore

        self.root = Path(root)
        self.manifest = SweepStore(self.root).read_manifest()
        self.report = report

    @classmethod
    def from_folder(cls, path: str | Path) -> SweepResult:
        return cls(path)

    @property
    def table(self):
        return self.to_dataframe()

    def to_dataframe(self):
        """One row per point: its coordinates, status and final observables (``results.csv``)."""
        from aelab.sweep.aggregate import collect

        return collect(self.root)[0]

    def to_xarray(self):
        """The complete points' observables over the grid's dimensions (``results.nc``)."""
        from aelab.sweep.aggregate import to_dataset

        return to_dataset(self.to_dataframe(), self.manifest)

    def status(self):
        """Counts of complete, failed and pending points (:func:`~aelab.sweep.driver.sweep_status`)."""
        from aelab.sweep.driver import sweep_status

        return sweep_status(self.root)

    def plot(self, y: str, x: str | None = None, **kwargs):
        """A Figure of observable ``y`` against axis ``x`` (default: the first axis), a line per value of
        the others (:func:`~aelab.sweep.plot.plot_sweep`)."""
        from aelab.sweep.plot import plot_sweep

        x = x if x is not None else self.manifest["dims"][0]["fields"][0]
        return plot_sweep(self.root, x=x, y=y, save=False, **kwargs)

    def point(self, coords: Mapping[str, Any]):
        """The result object of the point with these coordinates (``aelab.load`` of its run folder)."""
        from aelab.results import load

        for entry in self.manifest["points"]:
            if all(entry["coords"].get(k) == v for k, v in coords.items()):
                return load(self.root / "points" / entry["id"])
        raise KeyError(f"no point with coordinates {dict(coords)}")

    def __repr__(self) -> str:
        return f"<SweepResult {self.manifest.get('name')!r}: {len(self.manifest['points'])} points at {self.root}>"


def run(grid, out: str | Path, *, executor: str = "serial", max_workers: int | None = None,
        scheduler: str | None = None, retry_failed: bool = True, progress: bool = False,
        device: str | None = None) -> SweepResult:
    """Run every unfinished point of ``grid`` into the sweep folder ``out`` and read it back.

    Args:
        grid: a mapping (as a grid file: ``experiment``, ``base``, ``axes`` ...), a grid file or a
            :class:`~aelab.sweep.grid.Grid`.
        out: the sweep folder (a rerun skips the finished points).
        executor: ``serial``, ``processes`` or ``dask``.
        max_workers: worker processes (runtime option: changes no result).
        scheduler: a Dask scheduler address.
        retry_failed: run failed points again.
        progress: show a progress bar.
        device: a torch device for the points whose kind takes one (runtime option: changes no hash).
    """
    from aelab.sweep.driver import run_sweep

    report = run_sweep(grid, out, executor=executor, max_workers=max_workers, scheduler=scheduler,
                       retry_failed=retry_failed, quiet=not progress, device=device)
    return SweepResult(out, report)
