"""Run folders: the resolved configuration, metadata and data files, each written atomically.

A run folder holds ``config.json`` (the resolved configuration), ``meta.json`` (versions,
seeds, git revision, timings, status) and the data files of the experiment (CSV tables,
figures). Every file is written to a temporary name in the same folder and renamed into
place, so a reader never sees a half-written file.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from aelab import __version__
from aelab.errors import ConfigError
from aelab.record import Failure, RunRecord, jsonable

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "write_table",
    "RunFolder",
    "RunResult",
    "RESULT_CLASSES",
    "result_class",
    "run_in_folder",
    "run_into_folder",
    "load",
    "environment_metadata",
    "git_revision",
]


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (:func:`aelab.record.jsonable`: non-finite floats become null), atomically."""
    return atomic_write_text(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_table(path: str | Path, table: Any) -> Path:
    """Write a pandas DataFrame (or a mapping of equal-length columns) as CSV, atomically."""
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(dict(table))
    buf = io.StringIO()
    frame.to_csv(buf, index=False)  # shortest repr: floats read back exactly
    return atomic_write_text(path, buf.getvalue())


def git_revision(start: str | Path | None = None) -> str | None:
    """The git revision of the aelab source tree (or ``start``), or None outside a checkout."""
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # a read-only look: never take (or leave) index.lock
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5,
                             check=False, env=env)
        rev = out.stdout.strip()
        if out.returncode != 0 or not rev:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5, check=False, env=env).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("-dirty" if dirty else "")


def environment_metadata() -> dict[str, Any]:
    """Versions of Python, aelab and the numerical libraries that are loaded, host and time."""
    versions: dict[str, str] = {"python": platform.python_version(), "aelab": __version__}
    for name in ("numpy", "scipy", "numba", "pandas", "torch", "pydantic"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return {
        "versions": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git_revision": git_revision(),
        "command": sys.argv,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _is_run_file(path: Path) -> bool:
    """Whether ``path`` inside a folder is part of a run (everything but leftovers of atomic writes)."""
    return not (path.name.startswith(".") and path.name.endswith(".tmp"))


class RunFolder:
    """A folder holding exactly one run: ``meta.json`` (the :class:`~aelab.record.RunRecord`),
    ``config.json`` and the run's data files.

    Open one with :meth:`create` (a new run: the record is written with status ``running`` before
    anything else), :meth:`resume` (the same configuration again) or :meth:`open` (read only). The
    folder is the only writer of ``meta.json``.
    """

    CONFIG = "config.json"
    META = "meta.json"

    def __init__(self, path: str | Path, record: RunRecord | None = None):
        self.path = Path(path)
        self.record = record if record is not None else self._read_record()

    def _read_record(self) -> RunRecord | None:
        try:
            return RunRecord.from_json((self.path / self.META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # ---- opening --------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, record: RunRecord, config: Any = None, *, overwrite: bool = False,
               option: str = "--out") -> RunFolder:
        """Start a new run in ``path``: check it, clear it (``overwrite``), write ``meta.json``
        (status ``running``) and then ``config.json``.

        Raises:
            ConfigError: ``path`` is not a writable folder, holds a run (and not ``overwrite``), or
                holds files that are not a run's.
        """
        from aelab.limits import check_writable_dir

        path = Path(path)
        check_writable_dir(path, option=option)
        entries = [p for p in path.iterdir() if _is_run_file(p)] if path.is_dir() else []
        if entries:
            holds_run = (path / cls.META).exists() or (path / cls.CONFIG).exists()
            if not holds_run:
                raise ConfigError(f"{option} {path}: the folder holds other files; choose a new or empty folder")
            if not overwrite:
                raise ConfigError(f"{option} {path}: holds a run already (use --overwrite to replace it, or "
                                  "choose another folder)")
            _clear(path)
        path.mkdir(parents=True, exist_ok=True)
        for leftover in path.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        folder = cls(path, record)
        folder.write_record(record)
        if config is not None:
            folder.write_config(config)
        return folder

    @classmethod
    def resume(cls, path: str | Path, record: RunRecord, config: Any, *, option: str = "--resume",
               same_hash: bool = True) -> RunFolder:
        """Go on with the run in ``path`` of the same configuration (its record becomes ``running`` again).

        ``same_hash=False``: the caller has compared the configurations itself (a run whose length may
        grow on resume).

        Raises:
            ConfigError: ``path`` holds no run, or a run of another kind or configuration.
        """
        path = Path(path)
        old = cls.open(path, option=option).record
        if old.kind != record.kind or (same_hash and old.config_hash != record.config_hash):
            raise ConfigError(f"{option}: {path} holds a {old.kind} run of another configuration "
                              f"(hash {old.config_hash}, this one {record.config_hash})")
        folder = cls(path, record.model_copy(update={"created": old.created}))
        folder.write_record(folder.record)
        folder.write_config(config)
        return folder

    @classmethod
    def open(cls, path: str | Path, *, option: str = "path") -> RunFolder:
        """An existing run folder with its record (read only)."""
        path = Path(path)
        try:
            text = (path / cls.META).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            raise ConfigError(f"{option} {path}: holds no run (no {cls.META})") from None
        try:
            record = RunRecord.from_json(text)
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{option} {path / cls.META}: not a run record of this version ({first})") from None
        return cls(path, record)

    # ---- files ----------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """Path of a file inside the run folder."""
        return self.path / name

    def write_config(self, config: Any) -> Path:
        """Write the resolved configuration (a pydantic model or a mapping)."""
        return write_json(self.file(self.CONFIG), config)

    def read_config(self) -> dict[str, Any]:
        return json.loads(self.file(self.CONFIG).read_text(encoding="utf-8"))

    def write_table(self, name: str, table: Any) -> Path:
        return write_table(self.file(name), table)

    def write_json(self, name: str, obj: Any) -> Path:
        return write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.file(name), text)

    # ---- the record -----------------------------------------------------------------------------
    def write_record(self, record: RunRecord) -> Path:
        """Replace ``meta.json`` with ``record``."""
        self.record = record
        return atomic_write_text(self.file(self.META), record.to_json())

    def finish(self, *, observables: Mapping[str, Any] | None = None, timings_s: Mapping[str, float] | None = None,
               seeds: list[int] | None = None, **details: Any) -> RunRecord:
        """Mark the run ``complete`` (the last file written); keywords beyond these are ``details``."""
        record = self._require_record()
        if seeds is not None:
            record = record.model_copy(update={"seeds": [int(s) for s in seeds]})
        record = record.finish(observables=observables, timings_s=timings_s, details=details)
        self.write_record(record)
        return record

    def fail(self, exc: BaseException, *, timings_s: Mapping[str, float] | None = None,
             details: Mapping[str, Any] | None = None) -> RunRecord:
        """Mark the run ``failed`` with what ``exc`` says; a divergence's tables are written first
        (``<name>.csv`` for the finished ones, ``<side>.partial.csv`` for the one that diverged)."""
        from aelab.errors import DivergenceError

        if isinstance(exc, DivergenceError):
            for name, table in (exc.completed or {}).items():
                if table is not None:
                    self.write_table(f"{name}.csv", table)
            if exc.partial is not None and len(exc.partial):
                self.write_table(f"{exc.side or 'run'}.partial.csv", exc.partial)
        record = self._require_record().finish(failure=Failure.from_exception(exc), timings_s=timings_s,
                                               details=details)
        self.write_record(record)
        return record

    def _require_record(self) -> RunRecord:
        if self.record is None:
            raise RuntimeError(f"{self.path}: no run record (open the folder with RunFolder.create or resume)")
        return self.record


def _clear(path: Path) -> None:
    """Remove everything inside ``path`` (the folder of a previous run)."""
    import shutil

    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# ---- result objects -------------------------------------------------------------------------------

#: result classes by record kind, imported on first use
RESULT_CLASSES: dict[str, str] = {
    "shallow": "aelab.shallow.result:ShallowResult",
    "shallow-real-data": "aelab.shallow.real_data:RealDataResult",
    "deep-evolve": "aelab.deep.results:EvolveResult",
    "deep-simulate": "aelab.deep.results:SimulateResult",
    "deep-phase-diagram": "aelab.deep.results:PhaseDiagramResult",
    "deep-advise": "aelab.deep.results:AdviceResult",
    "reversible-error": "aelab.reversible.results:ErrorResult",
    "reversible-scan": "aelab.reversible.results:ScanResult",
    "train": "aelab.train.training:TrainResult",
}


class RunResult:
    """What a run produced: its configuration, named tables (pandas DataFrames, one CSV file each)
    and its :class:`~aelab.record.RunRecord`.

    Subclasses name their tables in ``tables_order`` (the first is :attr:`table`), validate the
    configuration with ``config_model`` on :func:`load`, and draw their figure in :meth:`plot`.
    """

    kind: ClassVar[str] = ""
    config_model: ClassVar[type | None] = None
    tables_order: ClassVar[tuple[str, ...]] = ()
    figure_file: ClassVar[str | None] = "figure.png"

    def __init__(self, config: Any, tables: Mapping[str, Any], record: RunRecord):
        self.config = config
        self.tables: dict[str, Any] = {k: v for k, v in tables.items() if v is not None}
        self.record = record

    @property
    def table(self):
        """The main table."""
        for name in self.tables_order or tuple(self.tables):
            if name in self.tables:
                return self.tables[name]
        raise AttributeError(f"this {self.kind or 'run'} result holds no table")

    @property
    def observables(self) -> dict[str, Any]:
        """The final values (``record.observables``)."""
        return self.record.observables

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.shape[0]}×{v.shape[1]}" for k, v in self.tables.items())
        obs = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in list(self.observables.items())[:6])
        return f"<{type(self).__name__} {self.record.status} [{shapes}] {obs}>"

    # ---- conversions ----------------------------------------------------------------------------
    def to_xarray(self):
        """The main table as an :class:`xarray.Dataset` indexed by its first column."""
        table = self.table
        return table.set_index(table.columns[0]).to_xarray()

    def plot(self):
        """A matplotlib Figure of the main table: every numeric column against the first."""
        from aelab.plots import new_figure

        table = self.table
        fig, axes = new_figure(1, 1, width=5.2, height=3.4)
        ax = axes[0, 0]
        x = table.columns[0]
        for col in table.columns[1:]:
            if table[col].dtype.kind in "fiu":
                ax.plot(table[x], table[col], label=col)
        ax.set_xlabel(x)
        ax.legend(fontsize=7)
        return fig

    # ---- files ----------------------------------------------------------------------------------
    def save(self, path: str | Path | RunFolder, *, overwrite: bool = False, figure: bool = True) -> Path:
        """Write the run folder: ``config.json``, the tables as ``<name>.csv``, the files of
        :meth:`write_files`, ``figure.png`` and, last, ``meta.json``. Returns the folder.

        ``path`` may be a :class:`RunFolder` already started for this run (what the command line
        does, so that a killed run leaves a ``running`` record); a folder that holds a run is
        refused unless ``overwrite``.
        """
        if isinstance(path, RunFolder):
            folder = path
            folder.write_config(self.config)
        else:
            folder = RunFolder.create(path, self.record.model_copy(update={"status": "running", "failure": None}),
                                      self.config, overwrite=overwrite, option="path")
        for name, table in self.tables.items():
            folder.write_table(f"{name}.csv", table)
        self.write_files(folder)
        if figure and self.figure_file:
            from aelab.plots import save_figure

            save_figure(self.plot(), folder.file(self.figure_file))
        folder.write_record(self.record)
        return folder.path

    def write_files(self, folder: RunFolder) -> None:
        """Files beyond the tables (subclasses)."""

    @classmethod
    def read_files(cls, folder: RunFolder) -> dict[str, Any]:
        """Keyword arguments beyond config, tables and record read back from the folder (subclasses)."""
        return {}

    @classmethod
    def from_folder(cls, path: str | Path) -> RunResult:
        """Read a run folder written by :meth:`save` back into its result."""
        import pandas as pd

        from aelab.config import validate_config

        folder = RunFolder.open(path)
        data = folder.read_config() if folder.file(RunFolder.CONFIG).exists() else {}
        config = validate_config(cls.config_model, data) if cls.config_model is not None else data
        names = cls.tables_order or tuple(sorted(p.stem for p in folder.path.glob("*.csv")))
        tables = {n: pd.read_csv(folder.file(f"{n}.csv")) for n in names if folder.file(f"{n}.csv").exists()}
        return cls(config, tables, folder.record, **cls.read_files(folder))


def run_in_folder(folder: RunFolder, compute: Callable[[], RunResult]) -> RunResult:
    """Run ``compute()`` for a started ``folder``: save its result there, or record the failure (a
    divergence's tables included) and re-raise."""
    try:
        result = compute()
    except BaseException as exc:
        folder.fail(exc)
        raise
    result.save(folder)
    return result


def run_into_folder(kind: str, config: Any, out_dir: str | Path, compute: Callable[[], RunResult], *,
                    seeds=(), options: Mapping[str, Any] | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Start a run folder of ``kind`` (record ``running``, before any work), then :func:`run_in_folder`;
    returns the result's observables (what an experiment kind's runner returns)."""
    record = RunRecord.start(kind, config, seeds=list(seeds), options=options)
    folder = RunFolder.create(out_dir, record, config, overwrite=overwrite)
    return dict(run_in_folder(folder, compute).observables)


def result_class(kind: str) -> type[RunResult]:
    """The result class of a record kind (:data:`RESULT_CLASSES`; the generic one for other kinds)."""
    import importlib

    where = RESULT_CLASSES.get(kind)
    if where is None:
        return RunResult
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


def load(path: str | Path):
    """Read any run folder (or sweep folder) back into its result object.

    >>> result = aelab.load("runs/demo")          # doctest: +SKIP
    >>> result.theory.tail()                       # doctest: +SKIP
    """
    path = Path(path)
    if (path / "sweep.json").exists() and not (path / RunFolder.META).exists():
        from aelab.sweep.api import SweepResult

        return SweepResult.from_folder(path)
    record = RunFolder.open(path).record
    return result_class(record.kind).from_folder(path)
