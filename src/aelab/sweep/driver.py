"""Run a grid: validate, skip finished points, run the rest through an executor, aggregate."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.config import validate_config
from aelab.progress import progress_bar
from aelab.sweep.executors import Executor, make_executor
from aelab.sweep.grid import MAX_POINTS, Grid, load_grid, point_table
from aelab.sweep.store import COMPLETE, FAILED, PENDING, PointOutcome, PointTask, SweepStore, execute_point, \
    record_failure

__all__ = ["SweepReport", "run_sweep", "sweep_status", "SweepStatus"]


@dataclass
class SweepReport:
    """What one call of :func:`run_sweep` did.

    Attributes:
        root: the sweep folder.
        total: points in the grid.
        skipped: points not run: complete already (or failed, with ``retry_failed=False``).
        ran: points run by this call.
        failed: ids of the points that are failed after this call.
        outcomes: the outcome of each point run by this call.
        elapsed_s: wall-clock time of the call.
    """

    root: Path
    total: int
    skipped: int = 0
    ran: int = 0
    failed: list[str] = field(default_factory=list)
    outcomes: list[PointOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def _manifest(grid: Grid, executor: str) -> dict[str, Any]:
    return {
        "name": grid.name,
        "experiment": grid.kind.name,
        "provider": grid.provider,
        "seed_field": grid.seed_field,
        "base": validate_config(grid.kind.config_model, grid.base).model_dump(mode="json"),
        "dims": [{"dim": g.dim, "fields": list(g.fields), "values": [list(v) for v in g.values]}
                 for g in grid.groups],
        "points": point_table(grid.points),
        "grid": grid.source,
        "executor": executor,
    }


def run_sweep(grid: Grid | str | Path | Mapping[str, Any], out: str | Path, *,
              executor: str | Executor = "serial", max_workers: int | None = None,
              scheduler: str | None = None, retry_failed: bool = True, quiet: bool = False,
              aggregate: bool = True, max_points: int | None = MAX_POINTS, device: str | None = None) -> SweepReport:
    """Run every unfinished point of ``grid`` into the sweep folder ``out``.

    Finished points (``points/<id>/result.json`` with status "complete") are skipped; failed
    points are run again unless ``retry_failed`` is False. A point that raises is recorded
    with its error and traceback and the others go on.

    Args:
        grid: a :class:`Grid`, a grid file or a grid mapping.
        out: the sweep folder.
        executor: "serial", "processes", "dask" or an :class:`Executor`.
        max_workers: worker processes of the local pool or cluster.
        scheduler: a Dask scheduler address (with ``executor="dask"``).
        retry_failed: run failed points again.
        quiet: no progress bar.
        aggregate: write ``results.csv`` and ``results.nc`` at the end.
        max_points: the largest grid loaded from a file or mapping (see :func:`load_grid`).
        device: a torch device for the points whose kind takes one (``train``, ``deep-simulate``):
            a runtime option, not part of the points' configurations or hashes.
    """
    from aelab.limits import check_writable_dir

    start = time.perf_counter()
    options = {} if device is None else {"device": device}
    if not isinstance(grid, Grid):
        grid = load_grid(grid, max_points=max_points)
    owned = not isinstance(executor, Executor)
    pool = make_executor(executor, max_workers=max_workers, scheduler=scheduler) if owned else executor
    store = SweepStore(check_writable_dir(out, "--out"))
    report = SweepReport(root=store.root, total=grid.size)

    def unfinished(point) -> bool:
        status = store.status(point.id)
        return not (status == COMPLETE or (status == FAILED and not retry_failed))

    with closing(pool) if owned else nullcontext(pool):
        if any(unfinished(p) for p in grid.points):
            pool.start()  # a scheduler that cannot be reached fails here, before anything is written
        with store.lock():
            store.prepare()
            store.write_manifest(_manifest(grid, pool.name))
            todo: list[PointTask] = []
            for point in grid.points:
                if unfinished(point):
                    todo.append(PointTask(grid.kind.name, grid.provider, point.config_data(), point.id,
                                          point.coords, str(store.root), options))
                else:
                    report.skipped += 1
                    if store.status(point.id) == FAILED:
                        report.failed.append(point.id)
            with progress_bar(f"sweep {grid.name}", grid.size, quiet=quiet or not todo) as bar:
                bar.update(report.skipped)
                for task, outcome in pool.imap_unordered(execute_point, todo):
                    if isinstance(outcome, BaseException):  # the worker itself failed (e.g. killed)
                        outcome = record_failure(task, outcome)
                    report.ran += 1
                    report.outcomes.append(outcome)
                    if outcome.status == FAILED:
                        report.failed.append(outcome.point_id)
                    bar.advance()
            if aggregate:
                from aelab.sweep.aggregate import write_results

                write_results(store.root)
    report.elapsed_s = time.perf_counter() - start
    return report


@dataclass
class SweepStatus:
    """Counts of a sweep folder's points and the failed ones with their errors."""

    total: int
    complete: int
    failed: int
    pending: int
    errors: list[tuple[dict[str, Any], str]]

    @property
    def ok(self) -> bool:
        return self.failed == 0


def sweep_status(out: str | Path) -> SweepStatus:
    """Count done / failed / pending points of the sweep folder ``out``."""
    store = SweepStore(out)
    manifest = store.read_manifest()
    counts = {COMPLETE: 0, FAILED: 0, PENDING: 0}
    errors = []
    for entry in manifest["points"]:
        result = store.read_result(entry["id"])
        status = PENDING if result is None else result.get("status", PENDING)
        counts[status] = counts.get(status, 0) + 1
        if status == FAILED:
            err = result.get("error") or {}
            errors.append((entry["coords"], f"{err.get('type', 'Error')}: {err.get('message', '')}"))
    return SweepStatus(len(manifest["points"]), counts[COMPLETE], counts[FAILED], counts[PENDING], errors)
