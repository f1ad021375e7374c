"""Get registered data sets into the data directory, verified, and re-check them later.

Each file is streamed (from a URL or a local mirror folder) into a temporary ``.part`` file
next to its destination while its sha256 is computed; the ``.part`` file is renamed into
place only when the digest is one of the registered ones, and removed on any failure, so the
data directory never holds a half-written or unverified file under a registered name.
Transient failures (time-outs, dropped connections, truncated bodies, HTTP 5xx/429) are
retried with exponential back-off; a wrong checksum or HTTP 404 moves on to the next mirror.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from aelab.data import paths
from aelab.data.checksums import ChecksumError, check_file, file_digest
from aelab.data.registry import REGISTRY, DatasetSpec, FileSpec, Form, get_spec
from aelab.errors import AelabError, ConfigError

__all__ = ["DownloadError", "FileStatus", "fetch", "verify", "status", "dataset_state"]

_CHUNK = 1 << 20


class DownloadError(AelabError):
    """A file could not be fetched from any source (network failure, missing file)."""


@dataclass(frozen=True)
class FileStatus:
    """The state of one registered file in the data directory: ``ok``, ``missing`` or ``mismatch``."""

    dataset: str
    form: str
    file: str
    path: Path
    state: str


# --------------------------------------------------------------------------------------------
# Transfers


class _Retryable(Exception):
    """A transient failure: try the same source again after a pause."""


class _Permanent(Exception):
    """This source cannot deliver the file: go to the next one."""


class _Mismatch(_Permanent):
    """The source delivered other bytes than the registered ones."""


def _is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in ("http", "https", "ftp", "file")


def _open(source: str, timeout: float):
    """(readable stream, size or None) for a URL or a local file."""
    if not _is_url(source):
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            raise _Permanent("no such file") from None
        except OSError as exc:
            raise _Permanent(str(exc.strerror or exc)) from None
        return fh, os.fstat(fh.fileno()).st_size
    from aelab import __version__

    request = urllib.request.Request(source, headers={"User-Agent": f"aelab/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - user-chosen source
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise _Permanent(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise _Retryable(f"timed out after {timeout:g} s") from None
        if isinstance(reason, FileNotFoundError):
            raise _Permanent("no such file") from None
        raise _Retryable(str(reason)) from None
    except (TimeoutError, socket.timeout):
        raise _Retryable(f"timed out after {timeout:g} s") from None
    except (HTTPException, ConnectionError, OSError) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    length = response.headers.get("Content-Length")
    try:
        size = int(length) if length is not None else None
    except ValueError:
        size = None
    return response, size


def _transfer_once(source: str, dest: Path, spec: FileSpec, *, timeout: float, quiet: bool) -> str:
    """Stream ``source`` into a ``.part`` file beside ``dest``; rename it when its sha256 is registered."""
    import hashlib

    from aelab.progress import progress_bar

    stream, size = _open(source, timeout)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        with stream, os.fdopen(fd, "wb") as out, \
                progress_bar(f"{dest.name}", total=size or spec.size, quiet=quiet) as bar:
            while True:
                try:
                    chunk = stream.read(_CHUNK)
                except (TimeoutError, socket.timeout):
                    raise _Retryable(f"stalled: no data for {timeout:g} s after {received} bytes") from None
                except (HTTPException, ConnectionError, OSError) as exc:
                    raise _Retryable(f"connection broken after {received} bytes ({type(exc).__name__})") from None
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
                bar.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if size is not None and received != size:
            raise _Retryable(f"truncated: {received} of {size} bytes")
        actual = digest.hexdigest()
        if actual not in spec.sha256:
            raise _Mismatch(f"sha256 {actual} ({received} bytes), expected {' or '.join(spec.sha256)}")
        os.replace(tmp, dest)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


def _transfer(sources: Iterable[str], dest: Path, spec: FileSpec, *, retries: int, timeout: float,
              backoff: float, quiet: bool) -> None:
    """Try each source in turn, each up to ``retries + 1`` times; raise one error naming them all."""
    failures: list[str] = []
    mismatch_only = True
    for source in sources:
        for attempt in range(retries + 1):
            try:
                _transfer_once(source, dest, spec, timeout=timeout, quiet=quiet)
                return
            except _Mismatch as exc:
                failures.append(f"{source}: {exc}")
                break
            except _Permanent as exc:
                mismatch_only = False
                failures.append(f"{source}: {exc}")
                break
            except _Retryable as exc:
                if attempt == retries:
                    mismatch_only = False
                    tries = f" ({retries + 1} attempts)" if retries else ""
                    failures.append(f"{source}: {exc}{tries}")
                else:
                    time.sleep(min(backoff * 2**attempt, 60.0))
    message = f"{dest}: could not fetch: " + "; ".join(failures)
    raise (ChecksumError if failures and mismatch_only else DownloadError)(message)


# --------------------------------------------------------------------------------------------
# Planning: which form, which sources


def _local_form(spec: DatasetSpec, folder: Path, forms: tuple[Form, ...]) -> tuple[Form, Path]:
    """The first form whose files are all in ``folder`` or in its sub-folder named like the form's."""
    for form in forms:
        for where in (folder, folder / form.folder):
            if all((where / f.name).is_file() for f in form.files):
                return form, where
    wanted = "; or ".join(", ".join(f.name for f in form.files) for form in forms)
    raise ConfigError(f"--source {folder}: does not hold the files of {spec.name} (expected {wanted})")


def _plan(spec: DatasetSpec, source: str | Path | None, form_name: str | None) -> tuple[Form, dict[str, list[str]]]:
    """The form to fetch and, per file name, the sources to try in order."""
    forms = spec.forms if form_name is None else (spec.form(form_name),)
    if source is None:
        form = next((f for f in forms if f.downloadable), None)
        if form is None:
            raise ConfigError(
                f"{spec.name}: the {'/'.join(f.name for f in forms)} form has no public address; "
                f"use --source FOLDER-OR-URL (e.g. `aelab data fetch {spec.name} --source ../mirror/{forms[0].folder}`)"
            )
        return form, {f.name: list(f.urls) for f in form.files}
    text = str(source)
    if _is_url(text):
        stripped = text.rstrip("/")
        base, _, last = stripped.rpartition("/")
        by_name = [f for f in forms if any(x.name == last for x in f.files)]
        if by_name and not text.endswith("/"):  # the address of one registered file
            form = by_name[0]
        else:  # a mirror's base address
            form, base = forms[0], stripped
        return form, {f.name: [f"{base}/{f.name}"] for f in form.files}
    path = Path(text).expanduser()
    if path.is_file():
        candidates = tuple(f for f in forms if any(x.name == path.name for x in f.files))
        if not candidates:
            known = ", ".join(x.name for f in forms for x in f.files)
            raise ConfigError(f"--source {path}: not a file of {spec.name} (expected one of {known})")
        form, where = _local_form(spec, path.parent, candidates)
        return form, {f.name: [str(where / f.name)] for f in form.files}
    if path.is_dir():
        form, where = _local_form(spec, path, forms)
        return form, {f.name: [str(where / f.name)] for f in form.files}
    raise ConfigError(f"--source {source}: no such folder or file, and not a URL (http://, https://, file://)")


def _prepare_folder(folder: Path, root: Path) -> bool:
    """Create ``folder``; True when it did not exist (so a failed fetch can remove it again)."""
    existed = folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--data-dir {root}: cannot create {folder} ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"--data-dir {root}: {folder} is not writable")
    return not existed


def fetch(
    name: str,
    *,
    source: str | Path | None = None,
    data_dir: str | Path | None = None,
    form: str | None = None,
    force: bool = False,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 1.0,
    quiet: bool = False,
    cache_dir: str | Path | None = None,
) -> list[Path]:
    """Download (or copy from a mirror) the files of data set ``name`` into the data directory.

    Files already present with a registered sha256 are kept unless ``force``; a present file
    with another digest is replaced.

    Args:
        name: a registered data set.
        source: None for the registered public addresses; a URL (a mirror's base address or
            the address of one registered file) or a local folder/file of a mirror.
        data_dir: the data directory (default ``$AELAB_DATA`` or the per-user folder).
        form: fetch this form (``idx``, ``python``, ``jpeg-zip``) rather than the first that fits.
        force: fetch again even when the files are present and verified.
        retries: extra attempts per source after a transient failure.
        timeout: seconds of silence (connecting or reading) before an attempt fails.
        backoff: pause before the first retry; doubled for each further retry.
        quiet: no progress bars.
        cache_dir: where the record of verified files lives.

    Returns:
        The paths of the form's files.
    """
    if retries < 0:
        raise ConfigError(f"--retries: {retries}, expected >= 0")
    if not timeout > 0:
        raise ConfigError(f"--timeout: {timeout}, expected > 0 seconds")
    if backoff < 0:
        raise ConfigError(f"backoff: {backoff}, expected >= 0 seconds")
    spec = get_spec(name)
    chosen, sources = _plan(spec, source, form)
    root = paths.data_dir(data_dir)
    folder = spec.folder(root, chosen)
    created = _prepare_folder(folder, root)
    out = []
    try:
        for file in chosen.files:
            dest = folder / file.name
            if not force and check_file(dest, file.sha256, cache=cache_dir) == "ok":
                out.append(dest)
                continue
            _transfer(sources[file.name], dest, file, retries=retries, timeout=timeout, backoff=backoff, quiet=quiet)
            file_digest(dest, cache=cache_dir)  # record the verified digest
            out.append(dest)
    finally:
        if created and not any(folder.iterdir()):
            folder.rmdir()
    return out


# --------------------------------------------------------------------------------------------
# Checking what is there


def _statuses(spec: DatasetSpec, root: Path, *, use_record: bool, cache_dir: str | Path | None) -> list[FileStatus]:
    """The state of each file; a mismatch drops the file's record of verification (in
    :func:`check_file`) and the arrays decoded from it, so neither is served again."""
    from aelab.data.datasets import drop_cached

    out = []
    for form in spec.forms:
        folder = spec.folder(root, form)
        for file in form.files:
            path = folder / file.name
            state = check_file(path, file.sha256, cache=cache_dir, use_record=use_record)
            if use_record is False and state == "ok":
                file_digest(path, cache=cache_dir)  # refresh the record
            if state == "mismatch":
                drop_cached(spec.name, [s for s, names in form.splits.items() if file.name in names],
                            cache_dir=cache_dir)
            out.append(FileStatus(spec.name, form.name, file.name, path, state))
    return out


def status(name: str | None = None, *, data_dir: str | Path | None = None,
           cache_dir: str | Path | None = None) -> list[FileStatus]:
    """The state of every registered file (of ``name``, or of all data sets), using the record
    of verified files: a file hashed before and unchanged since is not hashed again."""
    specs = [get_spec(name)] if name is not None else list(REGISTRY.values())
    root = paths.data_dir(data_dir)
    return [s for spec in specs for s in _statuses(spec, root, use_record=True, cache_dir=cache_dir)]


def verify(name: str | None = None, *, data_dir: str | Path | None = None,
           cache_dir: str | Path | None = None) -> list[FileStatus]:
    """Hash every present registered file again (of ``name``, or of all data sets).

    Returns the state of each file of each form; absent forms show as ``missing``.
    """
    specs = [get_spec(name)] if name is not None else list(REGISTRY.values())
    root = paths.data_dir(data_dir)
    return [s for spec in specs for s in _statuses(spec, root, use_record=False, cache_dir=cache_dir)]


def dataset_state(statuses: list[FileStatus]) -> str:
    """One word for a data set from its file states: ``verified (form)``, ``corrupt``,
    ``incomplete`` or ``missing``."""
    if any(s.state == "mismatch" for s in statuses):
        return "corrupt"
    forms: dict[str, list[str]] = {}
    for s in statuses:
        forms.setdefault(s.form, []).append(s.state)
    complete = [f for f, states in forms.items() if all(x == "ok" for x in states)]
    if complete:
        return f"verified ({', '.join(complete)})"
    if any(x == "ok" for states in forms.values() for x in states):
        return "incomplete"
    return "missing"
