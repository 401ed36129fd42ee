"""Batch flow control: a requests-per-second ceiling, and a concurrency limit that backs off on 429.

One :class:`FlowControl` belongs to one ``create_many`` batch. Its calls carry it on the request
(``request.extensions.flow``), and the :func:`pace` middleware (below retry, so it sees every attempt) makes each
attempt wait for its turn and reports the answer back. Calls outside a batch carry none and pass straight through.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable

from ._http import Handler, Request, Response
from ._validate import check_number

__all__ = ["FlowControl", "pace"]


class FlowControl:
    """At most ``limit`` attempts in flight and, with ``max_rate``, at most that many started per second.

    ``limit`` follows additive increase, multiplicative decrease: a 429 halves it (once per window: only a 429 to
    an attempt started after the last cut counts, so one burst of 429s is one signal), and each success adds
    ``1/limit`` back, up to ``concurrency``. While a row waits out a 429's ``Retry-After``, or an unreachable rate
    limiter (:meth:`sit_out`), no attempt of the batch starts. Only the event loop's thread touches it.
    """

    #: The ``concurrency`` asked for: ``limit`` grows back up to it.
    ceiling: int
    #: Attempts allowed in flight now (fractional: the additive increase adds ``1/limit`` per success).
    limit: float
    #: Attempts started and not yet answered.
    in_flight: int
    #: 429s this batch was answered.
    throttled: int
    #: Times ``limit`` was halved: the window an attempt started in, so one burst of 429s is one cut.
    cuts: int

    def __init__(self, concurrency: int, max_rate: float | None = None) -> None:
        self.ceiling = concurrency
        self.limit = float(concurrency)
        self.in_flight = 0
        self.throttled = 0
        self.cuts = 0
        self._sitting_out = 0  # rows waiting out a 429 or the limiter: while any is, the batch starts nothing
        self._interval = (
            1.0 / check_number("max_rate", max_rate, unit="requests per second", positive=True)
            if max_rate is not None
            else 0.0
        )
        self._next_start = 0.0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_acquire(self) -> int | None:
        """A place at once, when one is free and no rate is kept (the common case): the window, else None."""
        if self.in_flight < self.limit and not self._interval and not self._sitting_out:
            self.in_flight += 1
            return self.cuts
        return None

    async def acquire(self) -> int:
        """Wait for a place and for this attempt's turn; the window it started in (for :meth:`release`)."""
        while self.in_flight >= int(self.limit) or self._sitting_out:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # it was woken, but is gone: pass the turn on
                raise
        self.in_flight += 1
        if self._interval:
            try:
                await self._take_turn()
            except asyncio.CancelledError:
                self.release(self.cuts, None)
                raise
        return self.cuts

    async def sit_out(self, wait: Awaitable[None]) -> None:
        """Run ``wait`` (a row's sleep until its 429's ``Retry-After``, or its backoff from an unreachable rate
        limiter) with the whole batch paused: no attempt starts before every such wait under way has ended. The
        waits overlap, so the pause lasts until the latest."""
        self._sitting_out += 1
        try:
            await wait
        finally:
            self._sitting_out -= 1
            self._wake()

    async def _take_turn(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_start)
        self._next_start = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)

    def release(self, window: int, status: int | None) -> None:
        """An attempt started in ``window`` ended with ``status`` (None: no answer): a 429 halves ``limit`` (once
        per window), a success adds ``1/limit`` back, and a waiting attempt may start."""
        self.in_flight -= 1
        if status == 429:
            self.throttled += 1
            if window == self.cuts:
                self.limit = max(1.0, self.limit / 2)
                self.cuts += 1
        elif status is not None and 200 <= status < 300 and self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
        self._wake()

    def _wake(self) -> None:
        if self._sitting_out:
            return  # the end of the pause wakes them, in their order
        free = int(self.limit) - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


def pace(request: Request, call_next: Handler) -> Awaitable[Response]:
    """A batch's attempt waits for its turn and reports its answer; any other call passes straight through, with no
    coroutine of its own (a plain function returning the next link's awaitable)."""
    flow = request.extensions.flow
    if flow is None:
        return call_next(request)
    return _paced(flow, request, call_next)


async def _paced(flow: FlowControl, request: Request, call_next: Handler) -> Response:
    window = flow.try_acquire()
    if window is None:
        window = await flow.acquire()
    status = None
    try:
        response = await call_next(request)
        status = response.status
        return response
    finally:
        flow.release(window, status)
