"""Executors: where the points of a sweep run.

- ``serial``: one after the other in this process (no start-up cost; easiest to debug).
- ``processes``: a pool of local worker processes (``spawn``, so threads of the parent never
  leak into a fork), all cores by default. The workers exit when the driver dies, even by
  SIGKILL (the parent-death signal on Linux, and a watchdog thread everywhere).
- ``dask``: a Dask distributed cluster, either the scheduler at ``--scheduler ADDRESS``
  (SLURM, PBS, Kubernetes... through ``dask-jobqueue`` and friends) or a ``LocalCluster`` of
  worker processes started here.

Every executor has the same interface: a context manager whose :meth:`imap_unordered` yields
``(task, outcome_or_exception)`` as points finish.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aelab.errors import AelabError, ConfigError

__all__ = ["EXECUTORS", "Executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor",
           "available_cores", "WorkerLost"]

EXECUTORS = ("serial", "processes", "dask")


class WorkerLost(AelabError):
    """A worker process died while running points (killed, out of memory, crashed)."""


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the platform tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


class Executor:
    """Base: runs ``fn(task)`` for each task and yields ``(task, result or exception)``."""

    name = "base"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        """Start workers or connect now (so a bad address fails before anything is written)."""

    def close(self) -> None:
        pass

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError


class SerialExecutor(Executor):
    """Runs every point in this process, in order."""

    name = "serial"

    def imap_unordered(self, fn, tasks):
        for task in tasks:
            try:
                yield task, fn(task)
            except Exception as exc:  # noqa: BLE001 - the driver decides
                yield task, exc


_WATCHDOG_S = 0.5  # how often a worker checks that its driver is alive


def _exit_with_parent(parent: int) -> None:
    """Make this worker process exit when its parent ``parent`` dies: the kernel's parent-death
    signal on Linux (SIGKILL), and a daemon thread polling the parent pid (other platforms, and
    a parent that died before the signal was armed)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the watchdog remains
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_WATCHDOG_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="aelab-parent-watchdog", daemon=True).start()


class ProcessExecutor(Executor):
    """A pool of local worker processes.

    Args:
        max_workers: number of processes (default: the available cores).
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None):
        self.max_workers = max_workers or available_cores()
        self._pool = None

    def start(self) -> None:
        self._start()

    def _start(self):
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.max_workers, mp_context=mp.get_context("spawn"),
                                             initializer=_exit_with_parent, initargs=(os.getpid(),))
        return self._pool

    def imap_unordered(self, fn, tasks):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        tasks = list(tasks)
        if not tasks:
            return
        pool = self._start()
        pending = {pool.submit(fn, task): task for task in tasks}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        raise WorkerLost("a worker process died (killed, out of memory or crashed); "
                                         "the points it left unfinished are pending: run the sweep again") from exc
                    yield task, (exc if exc is not None else future.result())
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Points as tasks on a Dask distributed cluster.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``) or the path of a
            scheduler file; None starts a ``LocalCluster`` of worker processes.
        max_workers: workers of the local cluster (default: the available cores).
        timeout: seconds to wait for the scheduler.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, max_workers: int | None = None, *, timeout: float = 30.0):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError("--executor dask: needs dask.distributed (pip install 'aelab[dask]')") from None
        self.scheduler = scheduler
        self.timeout = timeout
        self.max_workers = max_workers or available_cores()
        self._client = None
        self._cluster = None

    def start(self) -> None:
        self._start()

    def _start(self):
        if self._client is not None:
            return self._client
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            # point failures are recorded by the sweep; the workers' own logs would only add
            # shutdown noise (heartbeats that fail while the cluster closes)
            self._cluster = LocalCluster(n_workers=self.max_workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster)
        else:
            try:
                if os.path.isfile(self.scheduler):
                    self._client = Client(scheduler_file=self.scheduler, timeout=f"{self.timeout}s")
                else:
                    self._client = Client(self.scheduler, timeout=f"{self.timeout}s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
        return self._client

    def imap_unordered(self, fn, tasks):
        from distributed import as_completed

        tasks = list(tasks)
        if not tasks:
            return
        client = self._start()
        tag = uuid.uuid4().hex[:8]
        futures = {}
        for task in tasks:
            key = f"aelab-point-{getattr(task, 'point_id', id(task))}-{tag}"
            futures[client.submit(fn, task, key=key, pure=False)] = task
        try:
            for future in as_completed(futures):
                task = futures.pop(future)
                if future.status == "error":
                    yield task, future.exception()
                else:
                    yield task, future.result()
        finally:
            if futures:
                client.cancel(list(futures))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(name: str = "processes", *, max_workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """The executor called ``name``; options are checked here (errors name the option)."""
    if name not in EXECUTORS:
        raise ConfigError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if max_workers is not None and max_workers < 1:
        raise ConfigError(f"--max-workers {max_workers}: expected a whole number >= 1")
    if scheduler is not None and name != "dask":
        raise ConfigError(f"--scheduler: only the dask executor connects to a scheduler (got --executor {name})")
    if name == "serial":
        if max_workers not in (None, 1):
            raise ConfigError("--max-workers: the serial executor runs one point at a time")
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(max_workers)
    if scheduler is not None and max_workers is not None:
        raise ConfigError("--max-workers: the cluster at --scheduler decides its workers; "
                          "use --max-workers with a local cluster only")
    return DaskExecutor(scheduler, max_workers)
