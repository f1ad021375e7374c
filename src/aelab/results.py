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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aelab import __version__
from aelab.errors import ConfigError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "write_table",
    "json_default",
    "RunFolder",
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


def json_default(obj: Any) -> Any:
    """JSON encoding of NumPy values, paths and pydantic models (``json.dumps(default=...)``)."""
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=json_default, allow_nan=True) + "\n")


def write_table(path: str | Path, table: Any) -> Path:
    """Write a pandas DataFrame (or a mapping of equal-length columns) as CSV, atomically."""
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(dict(table))
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.10g")
    return atomic_write_text(path, buf.getvalue())


def git_revision(start: str | Path | None = None) -> str | None:
    """The git revision of the aelab source tree (or ``start``), or None outside a checkout."""
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    if out.returncode != 0 or not rev:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=where, capture_output=True, text=True, timeout=5, check=False,
    ).stdout.strip()
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


class RunFolder:
    """A folder holding one run's configuration, metadata and results.

    Args:
        path: the folder; created if missing.
        overwrite: allow writing into a folder that already holds a finished run.
    """

    CONFIG = "config.json"
    META = "meta.json"

    def __init__(self, path: str | Path, *, overwrite: bool = True):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path}: exists and is not a folder")
        if not overwrite and (self.path / self.META).exists():
            raise ConfigError(f"--out {self.path}: holds a run already (remove it or choose another folder)")
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        """Path of a file inside the run folder."""
        return self.path / name

    def write_config(self, config: Any) -> Path:
        """Write the resolved configuration (a pydantic model or a mapping)."""
        data = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
        return write_json(self.file(self.CONFIG), data)

    def write_meta(self, *, status: str, seeds: Any = None, timings: Mapping[str, float] | None = None,
                   **extra: Any) -> Path:
        """Write ``meta.json``: environment, seeds, timings, status ('complete', 'failed', ...)."""
        meta = environment_metadata()
        meta.update({"status": status, "seeds": seeds, "timings": dict(timings or {})})
        meta.update(extra)
        return write_json(self.file(self.META), meta)

    def write_table(self, name: str, table: Any) -> Path:
        return write_table(self.file(name), table)

    def write_json(self, name: str, obj: Any) -> Path:
        return write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.file(name), text)

    def read_meta(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.file(self.META).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
