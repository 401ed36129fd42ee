"""Testing mode: retries without waits, attempts capped, for the code inside one ``with`` block only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._retry import TESTING_MODE, TestingMode
from .._validate import check_int

__all__ = ["fast_retries"]


@contextlib.contextmanager
def fast_retries(*, max_attempts: int | None = None) -> Iterator[None]:
    """Within the block, every client skips the waits between retries and makes at most ``max_attempts`` attempts.

    The mode lives in a context variable: it covers the current task and the tasks it starts, and is undone when
    the block ends, so it never leaks into another test. (stamina's ``set_testing`` is the model; this one is
    scoped rather than process-wide.)
    """
    if max_attempts is not None:
        check_int("max_attempts", max_attempts, minimum=1)
    token = TESTING_MODE.set(TestingMode(max_attempts))
    try:
        yield
    finally:
        TESTING_MODE.reset(token)
