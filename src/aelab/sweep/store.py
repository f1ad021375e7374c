"""The sweep folder: a manifest, one run folder per point, and atomic completion.

Layout of ``DIR``::

    sweep.json              the grid, its dimensions and every point (id, index, coordinates)
    points/<id>/            one run folder per finished point, <id> the hash of its resolved config:
        config.json, meta.json, the runner's data files,
        result.json         status ("complete" or "failed"), coordinates, final observables
        traceback.txt       for a failed point
    results.csv, results.nc the aggregated table and dataset

A point runs inside ``points/.tmp-<id>-<random>/`` and the finished folder is renamed into
place in one step, so ``points/<id>/`` either holds a whole run or does not exist: a sweep
killed at any moment (SIGKILL included) leaves only temporary folders, removed on the next run.
The sweep's own files are not fsynced: a killed process loses nothing the kernel holds, and
after a power cut a ``result.json`` that cannot be read makes its point pending, so it runs
again (runners that write through :class:`aelab.results.RunFolder` fsync their own files).
If two workers finish the same point (a retried task), the second rename fails and its copy
is discarded, so each point is stored exactly once.

A worker holds an exclusive claim on its point while running it (``points/.claim-<id>``, an
``flock`` that the kernel releases when the worker dies, and removed when the point is done).
A worker left running by a killed driver therefore never runs a point at the same time as a
worker of the rerun: the second waits for the claim, then finds the point complete and skips
it; and the rerun's clean-up leaves the temporary folder of a claimed point alone.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import socket
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.errors import ConfigError, DivergenceError
from aelab.record import Failure, RunRecord, config_hash, jsonable, now
from aelab.results import RunFolder, write_json

__all__ = [
    "PointTask",
    "PointOutcome",
    "SweepStore",
    "execute_point",
    "record_failure",
    "COMPLETE",
    "FAILED",
    "PENDING",
]

COMPLETE, FAILED, PENDING = "complete", "failed", "pending"
RESULT = "result.json"
CLAIM = ".claim-"
MANIFEST = "sweep.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point; plain data, cheap to send to another process or host.

    Attributes:
        kind: the experiment kind's name.
        provider: the module that registers the kind (imported by a worker that lacks it).
        config: the resolved configuration as JSON-ready data.
        point_id: the hash of the resolved configuration (the run folder's name).
        coords: the axis values of the point.
        root: the sweep folder.
        options: runtime options for the runner (``device``): not part of the configuration or its hash.
    """

    kind: str
    provider: str | None
    config: dict[str, Any]
    point_id: str
    coords: dict[str, Any]
    root: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PointOutcome:
    """What became of one point: ``status`` is "complete" or "failed"; ``stored`` is False when
    another worker had already stored the point (its copy was discarded)."""

    point_id: str
    status: str
    observables: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    elapsed_s: float = 0.0
    stored: bool = True


class SweepStore:
    """The folder of one sweep.

    Args:
        root: the sweep folder (created by :meth:`prepare`).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.points_dir = self.root / "points"

    # ---- manifest -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def write_manifest(self, manifest: Mapping[str, Any]) -> Path:
        return write_json(self.manifest_path, {"format": MANIFEST_FORMAT, **manifest})

    def read_manifest(self) -> dict[str, Any]:
        """The manifest; a :class:`ConfigError` when ``root`` is not a sweep folder."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"{self.root}: not a sweep folder (it is a file)")
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            raise ConfigError(f"{self.root}: not a sweep folder (no {MANIFEST}); run `aelab sweep run` first") from None
        except OSError as exc:
            raise ConfigError(f"{self.manifest_path}: cannot read ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.manifest_path}: unreadable ({exc})") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("points"), list):
            raise ConfigError(f"{self.manifest_path}: not a sweep manifest")
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ConfigError(f"{self.manifest_path}: unknown format {manifest.get('format')!r}")
        return manifest

    # ---- points ---------------------------------------------------------------------------
    def point_dir(self, point_id: str) -> Path:
        return self.points_dir / point_id

    def read_result(self, point_id: str) -> dict[str, Any] | None:
        """The stored ``result.json`` of a point, or None while the point is pending."""
        try:
            return json.loads((self.point_dir(point_id) / RESULT).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):  # cannot happen with atomic completion; pending
            return None

    def status(self, point_id: str) -> str:
        result = self.read_result(point_id)
        return PENDING if result is None else str(result.get("status", PENDING))

    # ---- preparation and locking ----------------------------------------------------------
    def prepare(self) -> None:
        """Create the folder and remove what a killed sweep left: temporary folders and files."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"--out {self.root}: exists and is not a folder")
        self.points_dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.points_dir.glob(".*"):
            if tmp.name.startswith(CLAIM):
                self._remove_stale_claim(tmp)
        for tmp in self.points_dir.glob(".*"):
            if tmp.name.startswith((".tmp-", ".old-")):
                point_id = tmp.name.split("-")[1] if tmp.name.count("-") >= 2 else ""
                if point_id and self._claimed(point_id):
                    continue  # a worker is running this point (one left by a killed driver)
                shutil.rmtree(tmp, ignore_errors=True)
        for folder in (self.root, self.points_dir):
            for tmp in folder.glob(".*.tmp"):  # atomic writes interrupted by a kill
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the sweep folder (one driver at a time; released on kill)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ConfigError(f"--out {self.root}: the folder is in use (another sweep is running "
                                      "in it)") from None
                # file systems without locks: go on unlocked
            yield
        finally:
            os.close(fd)

    # ---- claims of points -----------------------------------------------------------------
    def _claim_path(self, point_id: str) -> Path:
        return self.points_dir / f"{CLAIM}{point_id}"

    def _claimed(self, point_id: str) -> bool:
        """Whether a live process holds the claim of ``point_id``."""
        import fcntl

        try:
            fd = os.open(self._claim_path(point_id), os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
        finally:
            os.close(fd)  # closing releases the probe's lock
        return False

    def _remove_stale_claim(self, path: Path) -> None:
        """Remove a claim file that its dead worker left, keeping those that are held."""
        import fcntl

        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    @contextmanager
    def claim(self, point_id: str) -> Iterator[None]:
        """Hold the exclusive claim of one point (waiting while another process holds it).

        The claim file is removed on release; a waiter that wakes on a removed file claims anew.
        """
        import fcntl

        path = self._claim_path(point_id)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    os.close(fd)
                    raise
                break  # file systems without locks: go on unclaimed
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                break
            os.close(fd)  # released and removed by its holder meanwhile: claim the new file
        try:
            yield
        finally:
            try:
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)

    # ---- completion -----------------------------------------------------------------------
    def commit(self, tmp: Path, point_id: str) -> bool:
        """Rename the finished folder ``tmp`` to ``points/<id>`` in one step.

        A failed record already there is replaced; a complete one is kept and ``tmp`` is
        discarded (another worker finished the point first). Returns whether ``tmp`` was stored.
        """
        final = self.point_dir(point_id)
        old = None
        if final.exists():
            if self.status(point_id) == COMPLETE:
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            old = self.points_dir / f".old-{point_id}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(final, old)
            except FileNotFoundError:  # someone else moved it meanwhile
                old = None
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # a concurrent worker stored it first
            stored = False
        else:
            stored = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return stored

    def new_tmp(self, point_id: str) -> Path:
        tmp = self.points_dir / f".tmp-{point_id}-{uuid.uuid4().hex[:12]}"
        tmp.mkdir(parents=True)
        return tmp


@functools.cache
def _environment_record() -> RunRecord:
    """A running record with this process's environment, made once per process (it runs git)."""
    return RunRecord.start("")


def _start_record(kind: str, config: dict[str, Any]) -> RunRecord:
    return _environment_record().model_copy(update={"kind": kind, "config_hash": config_hash(kind, config),
                                                    "created": now(), "updated": now()})


def _error_record(exc: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "failure": Failure.from_exception(exc),
    }
    if isinstance(exc, DivergenceError):
        record.update({"divergence_time": exc.time, "cause": exc.cause})
    return record


def _write_in_tmp(path: Path, text: str) -> None:
    """Write a file inside a point's temporary folder: no rename of its own is needed, the
    folder's rename commits it (and no fsync: see the module's docstring)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str) + "\n"


def _write_point_files(folder: RunFolder, task: PointTask, status: str, observables: dict[str, Any],
                       error: dict[str, Any] | None, elapsed: float) -> None:
    """Complete a point's run folder: config and meta if the runner did not write them, the
    traceback of a failure, and ``result.json`` last."""
    if not folder.file(RunFolder.CONFIG).exists():
        _write_in_tmp(folder.file(RunFolder.CONFIG), _json(task.config))
    record = RunFolder(folder.path).record  # what the runner wrote
    if record is None or record.status != status:  # keep the runner's own record
        record = _start_record(task.kind, task.config) if record is None else record
        failure = None if error is None else (error["failure"] or Failure(kind="error", cause=error["type"],
                                                                          message=error["message"]))
        folder.write_record(record.finish(timings_s={"run": elapsed}, failure=failure))
    if error is not None:
        _write_in_tmp(folder.file("traceback.txt"), error["traceback"])
    _write_in_tmp(folder.file(RESULT), _json({
        "point": task.point_id,
        "kind": task.kind,
        "status": status,
        "coords": task.coords,
        "observables": observables,
        "error": None if error is None else {k: v for k, v in error.items() if k not in ("traceback", "failure")},
        "elapsed_s": elapsed,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "finished": now(),
    }))


@functools.cache
def _kind(name: str, provider: str | None):
    from aelab.sweep.grid import resolve_kind

    try:
        return resolve_kind(name)[0]
    except ConfigError:
        if not provider:
            raise
        return resolve_kind(f"{provider}:{name}")[0]


def execute_point(task: PointTask) -> PointOutcome:
    """Run one point into its own run folder, recording a failure instead of raising.

    The runner writes into a temporary folder; the folder is renamed into place only when
    complete (see :class:`SweepStore`). Runs in the driver or in any worker process, holding
    the point's claim.
    """
    store = SweepStore(task.root)
    with store.claim(task.point_id):
        return _execute_claimed(store, task)


def _execute_claimed(store: SweepStore, task: PointTask) -> PointOutcome:
    from aelab.config import validate_config
    from aelab.sweep.grid import config_hash

    if store.status(task.point_id) == COMPLETE:  # finished meanwhile (a retried task, a leftover worker)
        return PointOutcome(task.point_id, COMPLETE, stored=False)
    tmp = store.new_tmp(task.point_id)
    folder = RunFolder(tmp)
    start = time.perf_counter()
    observables: dict[str, Any] = {}
    error: dict[str, Any] | None = None
    try:
        kind = _kind(task.kind, task.provider)
        config = validate_config(kind.config_model, task.config)
        if config_hash(task.kind, config) != task.point_id:
            raise ConfigError(f"the {task.kind!r} config changes when validated again (a validator that is "
                              "not idempotent): the point cannot be stored under a stable name")
        result = kind.run(config, tmp, quiet=True, **kind.accepted(task.options))
        if result is None:
            result = {}
        if not isinstance(result, Mapping):
            raise TypeError(f"the {task.kind!r} runner returned {type(result).__name__}, expected a mapping "
                            "of final observables")
        observables = jsonable(result, finite=False)  # inf (a diverged run) is a result
        status = COMPLETE
    except Exception as exc:  # noqa: BLE001 - every failure of a point is recorded, the others go on
        error = _error_record(exc)
        status, observables = FAILED, {}
    elapsed = time.perf_counter() - start
    _write_point_files(folder, task, status, observables, error, elapsed)
    stored = store.commit(tmp, task.point_id)
    message = None if error is None else f"{error['type']}: {error['message']}"
    return PointOutcome(task.point_id, status, observables, message, elapsed, stored)


def record_failure(task: PointTask, exc: BaseException) -> PointOutcome:
    """Record a failure that happened outside the point's runner (e.g. its worker was killed)."""
    store = SweepStore(task.root)
    with store.claim(task.point_id):
        if store.status(task.point_id) == COMPLETE:
            return PointOutcome(task.point_id, COMPLETE, stored=False)
        tmp = store.new_tmp(task.point_id)
        error = _error_record(exc)
        _write_point_files(RunFolder(tmp), task, FAILED, {}, error, 0.0)
        stored = store.commit(tmp, task.point_id)
    return PointOutcome(task.point_id, FAILED, {}, f"{error['type']}: {error['message']}", 0.0, stored)
