"""Studies of many training runs on :mod:`aelab.sweep`: a labelled grid of training configurations.

A study (``aelab reproduce li-nguyen-training``, ``pretraining-question``) is a product of
labelled factors (setting x scheme, data set x depth x ... x seed); :func:`study_grid` turns
it into a sweep grid whose points are the :class:`~aelab.train.config.TrainConfig` of each cell,
:func:`run_study_grid` runs it with :func:`aelab.sweep.run_sweep` (finished points are reused,
the others run; ``aelab sweep status DIR`` reports on it) and returns the collected table with
the cells' labels. The points run as the kind ``train-study``: an ``aelab train`` run whose
divergence, or an advisor without a recommendation, is a result of the study rather than a
failure, without per-run figures, with its wall and CPU time. In a sweep folder a run that is
interrupted keeps its checkpoints under ``DIR/partial/<point>/`` and resumes from them.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.errors import AelabError, ConfigError, DivergenceError
from aelab.kinds import register_kind
from aelab.train.config import TrainConfig

__all__ = ["StudyRun", "StudyGrid", "study_grid", "run_study_grid", "pending_configs", "run_point", "device_name",
           "KIND"]

KIND = "train-study"
OUTCOMES = ("complete", "diverged", "not applicable")


class StudyRun(TrainConfig):
    """A training run of a study: an ``aelab train`` configuration (its own kind, ``train-study``,
    whose runner counts a divergence as a result); the device is a runtime option of the sweep."""


def device_name(name: str) -> str:
    """The device ``cpu``, ``cuda[:N]`` or ``auto`` resolves to, as a name."""
    from aelab.devices import resolve_device

    return str(resolve_device(name))


def _partial_folder(out_dir: Path, config: StudyRun) -> Path | None:
    """Where a sweep point's run keeps its checkpoints until it finishes (None outside a sweep).

    A sweep runs a point in ``DIR/points/.tmp-<id>-<random>/`` and renames it when done, so an
    interrupted run would lose its checkpoints with that folder; they live in
    ``DIR/partial/<id>/`` instead.
    """
    from aelab.sweep.grid import config_hash

    if out_dir.parent.name != "points" or not out_dir.name.startswith(".tmp-"):
        return None
    return out_dir.parent.parent / "partial" / config_hash(KIND, config)


def run_point(config: StudyRun, out_dir: str | Path, *, quiet: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Run one training of a study into ``out_dir`` on ``device`` (the runner of the kind ``train-study``).

    Returns the observables: ``outcome`` (``complete``, ``diverged``, or ``not applicable`` when
    the theory advisor has no recommendation), ``final_test_loss`` (inf when diverged),
    ``min_test_loss``, ``initial_test_loss``, ``diverged_at`` (the step, NaN), ``note``,
    ``seconds`` (training), ``wall_seconds`` and ``cpu_seconds`` (the whole run, pretraining
    included).
    """
    from aelab.results import RunFolder
    from aelab.train.training import run_training

    out_dir = Path(out_dir)
    train_config = TrainConfig.model_validate(config.model_dump(mode="json"))
    work = _partial_folder(out_dir, config)
    resume = False
    if work is not None:
        resume = (work / "checkpoints").is_dir() and any((work / "checkpoints").iterdir())
        if work.exists() and not resume:  # started but never checkpointed: start again
            shutil.rmtree(work)
    folder = work if work is not None else out_dir
    nan = math.nan
    obs: dict[str, Any] = {"outcome": "complete", "final_test_loss": nan, "min_test_loss": nan,
                           "initial_test_loss": nan, "diverged_at": nan, "note": "", "seconds": nan}
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        out = run_training(train_config, folder, resume=resume, device=device, quiet=quiet,
                           figures=False)
        o = out.observables
        obs.update(final_test_loss=o["test_loss"], min_test_loss=o["min_test_loss"],
                   initial_test_loss=o["initial_test_loss"], seconds=o["seconds"])
    except DivergenceError as exc:
        record = RunFolder(folder).record
        history = exc.partial
        obs.update(outcome="diverged", final_test_loss=math.inf, diverged_at=float(exc.time),
                   note=f"step {exc.time}: {exc.cause}", seconds=record.timings_s.get("train", nan))
        if history is not None and len(history):
            obs.update(min_test_loss=float(history["test_loss"].min()),
                       initial_test_loss=float(history["test_loss"].iloc[0]))
        # the point is a finished result of the study: its record says so, and keeps the divergence
        RunFolder(folder).write_record(record.model_copy(update={
            "status": "complete", "failure": None,
            "details": {**record.details, "outcome": "diverged", "divergence": record.failure.model_dump()}}))
    except ConfigError as exc:  # the advisor may have no recommendation for an activation pair
        if config.init.scheme != "advisor":
            raise
        obs.update(outcome="not applicable", note=str(exc)[:200])
    obs["wall_seconds"] = time.perf_counter() - start
    obs["cpu_seconds"] = time.process_time() - cpu_start
    if work is not None:  # the finished run goes into the point's folder
        out_dir.mkdir(parents=True, exist_ok=True)
        for child in work.iterdir():
            shutil.move(str(child), str(out_dir / child.name))
        shutil.rmtree(work)
        try:
            work.parent.rmdir()  # the last partial run
        except OSError:
            pass
    return obs


register_kind(KIND, StudyRun, run_point, "a training run of a study (aelab reproduce): divergence is a result",
              options=("device",))


@dataclass(frozen=True)
class StudyGrid:
    """A study's sweep grid and the labels of its cells.

    Attributes:
        grid: the :class:`aelab.sweep.Grid` of :class:`StudyRun` points.
        labels: per point id, the labels of its cell (e.g. ``{"setting": 1, "scheme": 4}``).
    """

    grid: Any
    labels: dict[str, dict[str, Any]]


def study_grid(name: str, dims: Sequence[Sequence[Mapping[str, Any]]],
               make_config: Callable[..., Mapping[str, Any] | TrainConfig]) -> StudyGrid:
    """The sweep grid of ``make_config(**labels)`` over the product of the labelled dimensions.

    Args:
        name: the sweep's name.
        dims: per dimension, the labels of its positions (one mapping each; several labels that
            vary together share a dimension), slowest first.
        make_config: the training configuration of a cell, from all its labels.

    Each dimension becomes one axis group of the grid: the config fields that change along it
    (the others at their first position). Every point is checked against ``make_config`` of its
    cell, so a study whose configurations are not such a product is refused.
    """
    from aelab.sweep.aggregate import flatten
    from aelab.sweep.grid import AxisGroup, Grid, resolve_kind

    kind, provider = resolve_kind(KIND)

    def config_of(labels: Mapping[str, Any]) -> dict[str, Any]:
        cfg = make_config(**labels)
        data = cfg.model_dump(mode="json") if isinstance(cfg, TrainConfig) else dict(cfg)
        return StudyRun.model_validate(data).model_dump(mode="json")

    def cell(index: Sequence[int]) -> dict[str, Any]:
        return {k: v for d, i in zip(dims, index) for k, v in d[i].items()}

    first = [0] * len(dims)
    base = config_of(cell(first))
    flat_base = flatten(base)
    groups, kept = [], []
    for k, dim in enumerate(dims):
        if len(dim) == 1:
            continue
        variants = [flatten(config_of(cell([*first[:k], i, *first[k + 1:]]))) for i in range(len(dim))]
        fields = [f for f in dict.fromkeys(f for v in variants for f in v) if any(
            v.get(f) != flat_base.get(f) for v in variants)]
        if not fields:
            raise ConfigError(f"study {name}: dimension {k} ({', '.join(dim[0])}) changes no configuration field")
        groups.append(AxisGroup(tuple(fields), tuple(tuple(v.get(f) for f in fields) for v in variants)))
        kept.append(k)
    source = {"study": name, "dims": [[dict(labels) for labels in dim] for dim in dims]}
    grid = Grid(kind=kind, provider=provider, base=base, groups=tuple(groups), name=name, source=source)
    labels: dict[str, dict[str, Any]] = {}
    for point in grid.points:
        index = list(first)
        for k, i in zip(kept, point.index):
            index[k] = i
        labels_here = cell(index)
        if point.config_data() != config_of(labels_here):
            raise ConfigError(f"study {name}: the configuration of {labels_here} is not the product of its "
                              "dimensions' fields")
        labels[point.id] = labels_here
    return StudyGrid(grid, labels)


def pending_configs(study: StudyGrid, root: str | Path) -> list[StudyRun]:
    """The configurations of the points of ``study`` that the sweep folder ``root`` has not finished."""
    from aelab.sweep.store import COMPLETE, SweepStore

    store = SweepStore(root)
    return [p.config for p in study.grid.points if store.status(p.id) != COMPLETE]


def run_study_grid(study: StudyGrid, root: str | Path, *, quiet: bool = False, executor: str = "serial",
                   device: str = "cpu"):
    """Run the unfinished points of ``study`` into the sweep folder ``root``; the collected table.

    Returns a pandas DataFrame with one row per point in grid order: the labels, the
    observables of :func:`run_point` and ``point`` (the run folder's name under ``root/points``).

    Raises:
        AelabError: a point failed (its error and traceback are in its run folder).
    """
    from aelab.sweep import collect, run_sweep

    report = run_sweep(study.grid, root, executor=executor, quiet=quiet, device=device)
    frame, _ = collect(root)
    failed = frame[frame["status"] != "complete"]
    if len(failed) or not report.ok:
        detail = ""
        if len(failed):
            first = failed.iloc[0]
            detail = f": {first['error']} (run folder {Path(root) / 'points' / first['point']})"
        raise AelabError(f"study {study.grid.name}: {len(failed)} of {len(frame)} runs failed{detail}; "
                         "running the study again retries them")
    names = list(next(iter(study.labels.values())))
    label_rows = [study.labels[p] for p in frame["point"]]
    observables = frame.attrs.get("observables", [])
    table = frame[["point", *observables]].copy()
    for name in reversed(names):
        table.insert(0, name, [row[name] for row in label_rows])
    return table
