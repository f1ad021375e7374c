"""sha256 of data files, with a record of files already verified so that listing stays fast.

The record (``verified.json`` in the cache directory) maps a file's absolute path to its size,
modification time and digest; a file whose size or time changed is hashed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aelab.data.paths import cache_dir as _cache_dir
from aelab.errors import ConfigError

__all__ = ["ChecksumError", "sha256_file", "file_digest", "check_file", "forget", "mismatch_message"]

_CHUNK = 1 << 20


class ChecksumError(ConfigError):
    """A file's sha256 is not one of the registered digests."""


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _record_path(cache: str | Path | None) -> Path:
    return _cache_dir(cache) / "verified.json"


def _load_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, OSError):
        return {}


def _store(record_file: Path, key: str, entry: dict | None) -> None:
    from aelab.results import atomic_write_text

    record = _load_record(record_file)
    if entry is None:
        record.pop(key, None)
    else:
        record[key] = entry
    try:
        atomic_write_text(record_file, json.dumps(record, indent=1, sort_keys=True))
    except OSError:  # a read-only cache only costs speed
        pass


def file_digest(path: str | Path, *, cache: str | Path | None = None) -> str:
    """The sha256 of ``path``, from the record when its size and mtime are unchanged."""
    path = Path(path).resolve()
    st = path.stat()
    record_file = _record_path(cache)
    key = str(path)
    entry = _load_record(record_file).get(key)
    if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
        return entry["sha256"]
    digest = sha256_file(path)
    _store(record_file, key, {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
    return digest


def forget(path: str | Path, *, cache: str | Path | None = None) -> None:
    """Drop ``path`` from the record (it will be hashed again)."""
    _store(_record_path(cache), str(Path(path).resolve()), None)


def check_file(path: str | Path, expected: tuple[str, ...], *, cache: str | Path | None = None,
               use_record: bool = True) -> str:
    """'ok', 'missing' or 'mismatch' for ``path`` against the accepted digests ``expected``."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    digest = file_digest(path, cache=cache) if use_record else sha256_file(path)
    if digest in expected:
        return "ok"
    # never keep a record of a file that does not match: it may say "ok" for a file changed with
    # its size and modification time kept; the next check hashes it again
    forget(path, cache=cache)
    return "mismatch"


def mismatch_message(path: str | Path, expected: tuple[str, ...], actual: str | None = None) -> str:
    """One line: the file, its digest and the accepted ones."""
    actual = actual if actual is not None else sha256_file(path)
    accepted = " or ".join(expected)
    return f"{path}: sha256 {actual} does not match the registry (expected {accepted})"

