"""The client's rate limit: the :class:`RateLimiter` protocol, :class:`LocalRateLimit` (one process's sliding window,
in memory) and the middleware that holds every attempt of a limited request until the limiter lets it start.

SignalWire states its limit as a sliding window (13,800 POST, PUT and PATCH requests in any 10 seconds), so the
built-in limiters are sliding windows too: a token bucket or GCRA with the same average rate lets up to twice the
limit through inside one window, and the API would answer those with 429s. Within the window the grants are paced
(:class:`Pace`): a sliding window alone hands out a whole window's worth the moment it frees.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._errors import DeadlineExceededError
from ._http import Handler, Request, Response
from ._validate import check_int, check_seconds

__all__ = ["LIMITED_METHODS", "LocalRateLimit", "Pace", "RateLimitGate", "RateLimiter", "deadline_error"]

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

    async def acquire(self, request: Request) -> None:
        """Wait until ``request`` may start (see the class's docstring for the errors)."""
        ...

    async def aclose(self) -> None:
        """Release what the limiter holds (connections); the client calls it when it closes."""
        ...


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


#: The share of the period added to it for the spread of arrivals: 200 ms of SignalWire's 10 s. The spread is the
#: network's and the event loops': a loaded loop wakes its sleepers, and reads what arrived, tens of milliseconds
#: late (up to 42 ms seen on 2 cores), on the client and on the API alike. On SignalWire's window scaled to 2 s, a
#: margin of 0.5 % (10 ms) let 1 to 63 429s through in each of five runs at concurrency 256, 2 % in one of 13
#: (benchmarks/README.md, "Running at the rate limit").
ARRIVAL_MARGIN = 0.02
#: The most starts granted together, as a share of the limit (69 of SignalWire's 13,800: 50 ms of its rate). Small
#: enough that a step's requests leave within a few milliseconds of each other; large enough that a caller who
#: finds the limiter idle never waits for the pace.
BURST_SHARE = 0.005


class Pace:
    """The two windows both built-in limiters keep for the API's ``limit`` per ``period``.

    - The window: at most ``limit`` starts in any ``held`` seconds, ``period`` stretched by :data:`ARRIVAL_MARGIN`.
      Two arrivals are never closer together than their starts by more than the spread of the requests' delays;
      while that spread stays under ``held - period``, every ``period`` of arrivals falls inside one ``held`` of
      starts, so it holds at most ``limit``.
    - The pace: at most ``burst`` starts in any ``burst_span`` seconds, the same rate in steps of ``burst``. A window
      alone grants a whole window's worth the moment it frees (thousands at once, whose arrivals then spread far
      beyond any margin); paced, no more than ``burst`` start together.
    """

    __slots__ = ("burst", "burst_span", "held", "limit")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.held = period * (1 + ARRIVAL_MARGIN)
        self.burst = max(1, math.ceil(limit * BURST_SHARE))
        self.burst_span = self.held * self.burst / limit


class LocalRateLimit:
    """At most ``limit`` starts in any ``period`` seconds for the requests of this process: every client given this
    limiter shares it, on any event loop and thread (two sync clients, say). The defaults are SignalWire's window,
    13,800 POST, PUT and PATCH requests in any 10 seconds.

    ``limit`` and ``period`` are the API's window as the API states it; the limiter keeps the margin that arrivals
    need itself (the API counts arrivals, a limiter counts starts: see :class:`Pace`). Starts are paced: spread at
    the window's rate, at most 0.5 % of the limit together, never a window's worth at once.

    Each ``acquire`` reserves the earliest start that keeps both windows, no earlier than the start reserved before
    it, then sleeps on its own event loop until then: requests start in the order they asked (FIFO, nobody overtakes
    a waiter), and a caller knows at once whether its start would pass its deadline. The reservation is a deque of
    start times (one per start in the last window plus one per waiter) behind a lock held only while reserving.

    ``clock`` (seconds, default ``time.monotonic``: the clock of every default event loop's ``time()``, and so of
    ``Request.deadline``, shared by all loops) and ``sleep`` (default ``asyncio.sleep``) are injectable so that
    tests move time instead of waiting.
    """

    limit: int
    """At most this many starts (the API's own figure)..."""
    period: float
    """...in any this many seconds (the API's own figure: the limiter adds the arrivals' margin itself)."""

    def __init__(
        self,
        limit: int = 13_800,
        period: float = 10.0,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.limit = check_int("limit", limit, minimum=1)
        self.period = check_seconds("period", period, positive=True)
        self._pace = Pace(self.limit, self.period)
        self._clock = clock or time.monotonic
        self._sleep = sleep
        # Start times, oldest first, future reservations included; never decreasing (FIFO).
        self._starts: collections.deque[float] = collections.deque()
        # Loops on other threads reserve too; never held across an await.
        self._lock = threading.Lock()

    def _reserve(self, request: Request) -> tuple[float, float]:
        """Take the earliest place both windows allow, behind every place taken: (now, start). Raises when the
        start would pass the deadline."""
        pace, starts = self._pace, self._starts
        with self._lock:
            now = self._clock()
            horizon = now - pace.held
            while starts and starts[0] <= horizon:
                starts.popleft()
            start = now
            if starts:
                count = len(starts)
                start = max(now, starts[-1])
                if count >= pace.burst:
                    # The start that leaves the pace's span when this one joins it: `burst` places back.
                    start = max(start, starts[count - pace.burst] + pace.burst_span)
                if count >= pace.limit:
                    start = max(start, starts[count - pace.limit] + pace.held)
                if start > now and request.deadline is not None and start > request.deadline:
                    raise deadline_error(request, start - now, describe_window(self.limit, self.period))
            starts.append(start)
        return now, start

    async def acquire(self, request: Request) -> None:
        """Wait until ``request`` may start: at once below the limit, else until its place in the window."""
        now, start = self._reserve(request)
        if start <= now:
            return
        try:
            await (self._sleep or asyncio.sleep)(start - now)
        except asyncio.CancelledError:
            # The reserved place goes unused: give it back (any subset of a valid window is valid). Already gone
            # only if the loop was stalled for a whole period.
            with self._lock, contextlib.suppress(ValueError):
                self._starts.remove(start)
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
