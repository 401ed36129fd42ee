"""The client's rate limit: the :class:`RateLimiter` protocol, :class:`LocalRateLimit` (one process's sliding window,
in memory) and the middleware that holds every attempt of a limited request until the limiter lets it start.

SignalWire states its limit as a sliding window (13,800 POST, PUT and PATCH requests in any 10 seconds), so the
built-in limiters are sliding windows too: a token bucket or GCRA with the same average rate lets up to twice the
limit through inside one window, and the API would answer those with 429s.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._errors import DeadlineExceededError
from ._http import Handler, Request, Response
from ._validate import check_int, check_seconds

__all__ = ["LIMITED_METHODS", "LocalRateLimit", "RateLimitGate", "RateLimiter", "deadline_error"]

#: What SignalWire's limit counts. It documents GET and DELETE as effectively unlimited.
LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH"})

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class RateLimiter(Protocol):
    """What ``SignalWireClient(rate_limit=...)`` takes. The client calls ``acquire`` before every attempt of a POST,
    PUT or PATCH (retries included) and sends the attempt when it returns; ``aclose`` when the client closes.

    ``acquire`` waits until the request may start. When that wait would pass ``request.deadline`` (``loop.time()``
    seconds, or None), it raises :class:`DeadlineExceededError` at once, so nothing is sent; when the limiter cannot
    tell (its store is unreachable) it raises :class:`RateLimiterError`, and never lets the request through unasked.
    A limiter that made the request wait tells ``request.extensions.observer`` (when there is one) how long, with
    ``observer.waited(request, seconds)``: the client's telemetry shows it on the call's span.
    """

    async def acquire(self, request: Request) -> None: ...

    async def aclose(self) -> None: ...


def deadline_error(request: Request, wait: float, window: str) -> DeadlineExceededError:
    """The error for a start the rate limit would delay past the call's deadline: nothing was sent."""
    return DeadlineExceededError(
        f"the rate limit ({window}) would delay this request {wait:.3g} s, past the call's deadline",
        method=request.method,
        url=str(request.url),
        request_sent=False,
    )


def describe_window(limit: int, period: float) -> str:
    return f"{limit:,} per {period:g} s"


class LocalRateLimit:
    """At most ``limit`` starts in any ``period`` seconds, for the requests of this process (every client given this
    limiter shares it).

    Each ``acquire`` reserves the earliest start that keeps the window, no earlier than the start reserved before
    it, then sleeps until then: requests start in the order they asked (FIFO, nobody overtakes a waiter), and a
    caller knows at once whether its start would pass its deadline. The window is a deque of start times, one per
    start in the last ``period`` seconds plus one per waiter: exact, and at most ``limit`` plus the waiters long.

    ``clock`` (seconds, default: the running loop's ``time()``, the clock of ``Request.deadline``) and ``sleep``
    (default ``asyncio.sleep``) are injectable so that tests move time instead of waiting.

    The API counts arrivals, the limiter counts starts: two requests' network delays can differ, so two arrivals
    can be closer together than their starts. Against the real API, a ``period`` about 1 % longer than SignalWire's
    (``LocalRateLimit(13_800, period=10.1)``) absorbs that.
    """

    def __init__(self, limit: int, period: float = 10.0, *, clock: Clock | None = None, sleep: Sleep | None = None):
        self.limit = check_int("limit", limit, minimum=1)
        self.period = check_seconds("period", period, positive=True)
        self._clock = clock
        self._sleep = sleep
        # Start times, oldest first, future reservations included; never decreasing (FIFO).
        self._starts: collections.deque[float] = collections.deque()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def acquire(self, request: Request) -> None:
        now = self._now()
        starts = self._starts
        horizon = now - self.period
        while starts and starts[0] <= horizon:
            starts.popleft()
        if not starts:
            starts.append(now)  # the common case below the limit: no wait, nothing to compute
            return
        start = max(now, starts[-1])
        if len(starts) >= self.limit:
            # The start that leaves the window when this one joins it: `limit` places back from the end.
            start = max(start, starts[len(starts) - self.limit] + self.period)
        if start > now and request.deadline is not None and start > request.deadline:
            raise deadline_error(request, start - now, describe_window(self.limit, self.period))
        starts.append(start)
        if start > now:
            try:
                await (self._sleep or asyncio.sleep)(start - now)
            except asyncio.CancelledError:
                # The reserved place goes unused: give it back (any subset of a valid window is valid). Already gone
                # only if the loop was stalled for a whole period.
                with contextlib.suppress(ValueError):
                    starts.remove(start)
                raise
            observer = request.extensions.observer
            if observer is not None:
                observer.waited(request, start - now)

    async def aclose(self) -> None:
        """Nothing to release: the window lives in this object."""

    def __repr__(self) -> str:
        return f"LocalRateLimit({self.limit}, period={self.period:g})"


class RateLimitGate:
    """The middleware in the chain's rate-limit slot (below retry, so it sees every attempt): a POST, PUT or PATCH
    waits for the limiter; anything else passes. Only in the chain when the client has a limiter."""

    __slots__ = ("limiter",)

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        if request.method in LIMITED_METHODS:
            await self.limiter.acquire(request)
        return await call_next(request)

    def __repr__(self) -> str:
        return f"RateLimitGate({self.limiter!r})"
