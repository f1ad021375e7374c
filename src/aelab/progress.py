"""Progress bars for long work (rich), silenced by ``--quiet`` or when nothing is a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["progress_bar", "stderr_console"]

stderr_console = Console(stderr=True)


class _Bar:
    def __init__(self, progress: Progress | None, task: int | None):
        self._progress, self._task = progress, task

    def advance(self, amount: float = 1.0) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def update(self, completed: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed)


@contextmanager
def progress_bar(description: str, total: float, *, quiet: bool = False) -> Iterator[_Bar]:
    """A progress bar on stderr; a no-op when ``quiet``."""
    if quiet:
        yield _Bar(None, None)
        return
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=stderr_console, transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield _Bar(progress, task)
