"""What RedisRateLimit keeps per event loop: a Redis client's connections belong to the loop they were opened on,
so each loop the limiter is used from gets its own pool, its own loaded bucket and its own FIFO turn."""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from ._loop_closer import LoopCloser

if TYPE_CHECKING:
    from pyrate_limiter.buckets.redis_bucket import RedisBucket
    from redis.asyncio import Redis

__all__ = ["LoopState", "Turns", "guarded", "result"]

T = TypeVar("T")


class Turns:
    """A FIFO turn: one coroutine of this loop asks Redis at a time, the others wait in order, each no longer than
    its deadline. (A lock with a timeout would need ``wait_for`` around ``Lock.acquire``, which can lose the lock on
    Python 3.10 and 3.11 when the timeout and the hand-over race.)"""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: collections.deque[asyncio.Future[bool]] = collections.deque()

    async def take(self, deadline: float | None) -> bool:
        """True once it is this caller's turn; False when ``deadline`` (``loop.time()``) came first."""
        if not self._busy:
            self._busy = True
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_at(deadline, _resolve, waiter, False) if deadline is not None else None
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.give()  # handed the turn, but gone: pass it on
            raise
        finally:
            if timer is not None:
                timer.cancel()

    @property
    def busy(self) -> bool:
        """Whether a coroutine holds the turn now (the next caller will wait for it)."""
        return self._busy

    def give(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._busy = False


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


async def guarded(call: Awaitable[T]) -> T:
    """Await a Redis call in a task of its own, so that cancelling the caller always cancels the caller: redis-py
    was seen to swallow a cancellation that arrived during a command, which left a cancelled batch worker running.
    A call abandoned this way may still take its place in the window: that errs on the safe side."""
    task = asyncio.ensure_future(call)
    task.add_done_callback(_retrieve)  # an abandoned call's failure is nobody's to report
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def result(value: int | Awaitable[int]) -> int:
    """A bucket method's result: pyrate-limiter answers some at once (a wait it recorded) and others after Redis."""
    return await value if inspect.isawaitable(value) else value


class LoopState:
    """What belongs to one event loop: the client, the loaded bucket, the turns. ``owned``: the client was made
    here from a URL, and its pool is closed with the loop (a client given by the user is never closed)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Redis, *, owned: bool) -> None:
        self.loop = loop
        self.client = client
        self.bucket: RedisBucket | None = None
        self.turns = Turns()
        self.last_leak = 0.0
        # Made on this state's loop (the limiter makes it there): the pool closes when that loop shuts down.
        self._closer = LoopCloser(client.aclose) if owned else None

    async def aclose(self) -> None:
        """Close the pool now (on this state's loop), if it is the limiter's own."""
        if self._closer is not None:
            await self._closer.aclose()
