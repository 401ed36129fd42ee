"""Progress for long batches: a rich progress bar on a terminal, plain lines otherwise (or without rich)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

from .._batch import BatchProgress

__all__ = ["Progress"]


def _waits(count: int) -> str:
    return f"{count} rate limit {'wait' if count == 1 else 'waits'}"


class Progress:
    """A context manager whose ``update`` shows a :class:`BatchProgress` (``create_many``'s progress callback, or
    the batch command's count of the result lines it wrote)."""

    def __init__(self, total: int | None, description: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.description = description
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._task: Any = None
        self._last_line = 0.0
        self.started = time.perf_counter()
        if self.stream.isatty():
            try:
                from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
                from rich.progress import Progress as RichProgress
            except ImportError:  # pragma: no cover - rich comes with the cli extra
                return
            from rich.console import Console

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[failed]} failed, concurrency {task.fields[concurrency]}, {task.fields[waits]}"
                ),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(
                self.description, total=self.total, failed=0, concurrency="-", waits=_waits(0)
            )
        return self

    def update(self, progress: BatchProgress) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=progress.done,
                failed=progress.failed,
                concurrency=progress.concurrency,
                waits=_waits(progress.throttled),
            )
            return
        now = time.perf_counter()
        if now - self._last_line >= 1.0 or progress.done == self.total:
            self._last_line = now
            of = f"/{self.total}" if self.total else ""
            waits = f", {_waits(progress.throttled)}" if progress.throttled else ""
            print(f"{self.description}: {progress.done}{of} done, {progress.failed} failed{waits}", file=self.stream)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
