"""The run record: one model for every ``meta.json`` that aelab writes.

A run folder's ``meta.json`` says what ran (``kind``, ``config_hash``), how it ended (``status``
and, for a failure, ``failure``), with which randomness (``seeds``), how long it took
(``timings_s``), what it found (``observables``, the final values) and on what (versions, git
revision, platform, command). Runtime options that do not change the result (worker count,
device, progress bars) are kept apart in ``options`` and are not part of the configuration's
hash. Area-specific details (PCA errors, gaps, initialisation choices) go in ``details``.

Life cycle: :class:`aelab.results.RunFolder` writes the record with status ``running`` before
any data file and replaces it at the end with ``complete`` or ``failed``; a run killed in
between leaves ``running`` behind, never ``complete``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SCHEMA", "Failure", "RunRecord", "config_hash", "jsonable", "STATUSES", "FAILURE_KINDS"]

#: version of the record's layout; bumped when a field changes meaning
SCHEMA = 1
STATUSES = ("running", "complete", "failed")
FAILURE_KINDS = ("divergence", "error", "interrupted")


def jsonable(value: Any, *, finite: bool = True) -> Any:
    """``value`` as plain JSON data (a deep copy): NumPy scalars and arrays, paths, pydantic models and
    tuples converted, non-finite floats as None (kept with ``finite=False``); TypeError for anything else."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, finite=finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, finite=finite) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) or not finite else None
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"), finite=finite)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        return jsonable(value.tolist(), finite=finite)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def config_hash(kind: str, config: Any, length: int = 16) -> str:
    """Stable hash of a resolved configuration: SHA-256 of its canonical JSON with the kind name."""
    data = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
    text = json.dumps({"kind": kind, "config": data}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:length]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Failure(BaseModel):
    """How a run failed.

    Attributes:
        kind: ``divergence`` (overflow, NaN: the numbers left the model), ``error`` (anything
            else raised) or ``interrupted`` (Ctrl-C, a signal).
        where: the position of the failure on the run's axis, e.g. ``{"time": 3.2}`` (ODE or SGD
            time), ``{"step": 1200}`` (training) or ``{"layer": 7}`` (a deep network).
        cause: a short description ("non-finite weights").
        message: the full one-line message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["divergence", "error", "interrupted"]
    where: dict[str, float | int | str | None] = Field(default_factory=dict)
    cause: str = ""
    message: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        """The failure an exception describes (a :class:`~aelab.errors.DivergenceError` keeps its place)."""
        from aelab.errors import DivergenceError

        if isinstance(exc, DivergenceError):
            return cls(kind="divergence", where=dict(exc.where), cause=exc.cause, message=str(exc))
        if isinstance(exc, KeyboardInterrupt):
            return cls(kind="interrupted", cause="interrupted", message="interrupted")
        return cls(kind="error", cause=type(exc).__name__, message=str(exc))


class RunRecord(BaseModel):
    """The content of ``meta.json`` (schema :data:`SCHEMA`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    schema_version: int = Field(SCHEMA, alias="schema")
    kind: str
    status: Literal["running", "complete", "failed"]
    failure: Failure | None = None
    config_hash: str | None = None
    seeds: list[int] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)
    observables: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    git_revision: str | None = None
    platform: str = ""
    command: list[str] = Field(default_factory=list)
    created: str = Field(default_factory=now)
    updated: str = Field(default_factory=now)

    @classmethod
    def start(cls, kind: str, config: Any = None, *, seeds: list[int] | None = None,
              options: Mapping[str, Any] | None = None) -> RunRecord:
        """A ``running`` record for a run of ``kind`` on ``config``, with this process's environment."""
        from aelab.results import environment_metadata

        env = environment_metadata()
        return cls(kind=kind, status="running", config_hash=None if config is None else config_hash(kind, config),
                   seeds=list(seeds or []), options=jsonable(dict(options or {})), versions=env["versions"],
                   git_revision=env["git_revision"], platform=env["platform"], command=env["command"])

    def finish(self, *, observables: Mapping[str, Any] | None = None, timings_s: Mapping[str, float] | None = None,
               details: Mapping[str, Any] | None = None, failure: Failure | None = None) -> RunRecord:
        """The record at the end of the run: ``complete``, or ``failed`` when ``failure`` is given."""
        return self.model_copy(update={
            "status": "failed" if failure is not None else "complete",
            "failure": failure,
            "observables": {**self.observables, **jsonable(dict(observables or {}))},
            "timings_s": {**self.timings_s, **{k: float(v) for k, v in (timings_s or {}).items()}},
            "details": {**self.details, **jsonable(dict(details or {}))},
            "updated": now(),
        })

    def to_json(self) -> str:
        """The record as ``meta.json`` text."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        return cls.model_validate_json(text)
