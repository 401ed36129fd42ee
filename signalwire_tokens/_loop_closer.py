"""Closing what belongs to an event loop (an aiohttp session, a Redis pool) when that loop shuts down."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable

__all__ = ["LoopCloser"]


async def _close_at_the_end(close: Callable[[], Awaitable[object]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await close()


class LoopCloser:
    """Runs ``close`` when the running event loop shuts down, or at :meth:`aclose` if that comes first.

    ``asyncio.run`` and ``asyncio.Runner`` finalize every async generator still suspended while the loop can still
    run the close, so the close rides on one: started by hand up to its yield, on the running loop, the loop tracks
    it (its first-iteration hook runs) without a task that would outlive the caller."""

    __slots__ = ("_generator",)

    def __init__(self, close: Callable[[], Awaitable[object]]) -> None:
        self._generator = _close_at_the_end(close)
        with contextlib.suppress(StopIteration):
            self._generator.asend(None).send(None)

    async def aclose(self) -> None:
        """Close now (on the loop it was made on); a second call does nothing (the generator has finished)."""
        await self._generator.aclose()
