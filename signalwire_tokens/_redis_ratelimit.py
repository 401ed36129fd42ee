"""RedisRateLimit: one paced sliding window shared by every process that uses the same Redis and key (the `redis`
extra).

The window is pyrate-limiter's Redis sliding-window log (a sorted set of start times) over redis-py's asyncio client:
a maintained library rather than a script of ours. Both are imported only when a RedisRateLimit is made, so
``import signalwire_tokens`` works without them.

Design note, pacing: pyrate-limiter's RedisBucket takes a list of rates and its one Lua script counts every rate's
window and adds the start only if all of them have room, atomically. So the pace is a second, short rate on the
same sorted set (:class:`Pace`: at most ``burst`` starts in a few milliseconds) next to the window itself, and no
script of our own is needed. The short rate is a little looser than the window's rate (:data:`REDIS_PACE_SLACK`):
each start costs a round trip and a wake-up of a few hundred microseconds that a limit of exactly the window's rate
would lose for good, step after step; looser, the window itself sets the long-run rate and the pace only bounds the
bursts.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ._errors import InvalidRequestError, RateLimiterError
from ._http import Request
from ._ratelimit import Pace, deadline_error, describe_window
from ._redis_loops import LoopState, guarded, result
from ._validate import check_int, check_seconds, check_str

if TYPE_CHECKING:
    from pyrate_limiter import Rate
    from pyrate_limiter.buckets.redis_bucket import RedisBucket
    from redis.asyncio import Redis

__all__ = ["RedisRateLimit"]

_INSTALL = "pip install 'signalwire-tokens[redis]'"
#: Every key this library writes starts with this, so it never collides with an application's own keys.
KEY_PREFIX = "signalwire-tokens:rate-limit:"
#: How much faster than the window's rate the short rate lets starts through (see the module's design note).
REDIS_PACE_SLACK = 1.25


def _require_extra() -> None:
    try:
        import pyrate_limiter  # noqa: F401
        import redis.asyncio  # noqa: F401
    except ImportError as error:
        raise ImportError(f"RedisRateLimit needs the redis extra: {_INSTALL} ({error})") from error


def _where(options: Mapping[str, Any]) -> str:
    """Where a client connects, for messages: host, port and database, never a password."""
    if "path" in options:
        return f"unix://{options['path']}"
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{options.get('db', 0)}"


def redis_rates(pace: Pace) -> list[Rate]:
    """pyrate-limiter's rates for ``pace``, in whole milliseconds: the window rounded up (never shorter), the
    pace's span rounded down and made looser by :data:`REDIS_PACE_SLACK`; the pace only where it is a rate of its own
    (pyrate-limiter wants a list of strictly longer spans with strictly larger limits)."""
    from pyrate_limiter import Rate

    held = math.ceil(pace.held * 1000)
    span = math.floor(pace.burst_span * 1000 / REDIS_PACE_SLACK)
    rates = [Rate(pace.limit, held)]
    if pace.burst < pace.limit and 1 <= span < held:
        rates.insert(0, Rate(pace.burst, span))
    return rates


class RedisRateLimit:
    """At most ``limit`` starts in any ``period`` seconds across every process that uses the same Redis and key;
    the defaults are SignalWire's window, 13,800 POST, PUT and PATCH requests in any 10 seconds. As in
    :class:`LocalRateLimit`, ``limit`` and ``period`` are the API's own words: the limiter keeps the arrivals'
    margin itself, and paces its starts (at most 0.5 % of the limit within a few milliseconds).

    ``url_or_client`` is a Redis URL (``redis://host:6379/0``): the limiter makes one connection pool on each event
    loop it is used from, closed when that loop shuts down (``asyncio.run`` and ``asyncio.Runner`` see to it) or
    when ``aclose`` is awaited on it. Or a ``redis.asyncio.Redis`` you own (never closed here), which belongs to the
    event loop the limiter first uses it on: used from another loop, ``acquire`` raises :class:`RateLimiterError`.
    ``key`` names the shared window; by default the client's project id (SignalWire's limit is per project), stored
    under ``signalwire-tokens:rate-limit:<key>``. Every process sharing a key must use the same ``limit`` and
    ``period``; start times are the hosts' wall clocks in milliseconds, so a fleet on several hosts needs their
    clocks in sync (NTP).

    Within one event loop, requests ask Redis one at a time in the order they came (FIFO); across processes,
    whoever asks first after a place frees gets it. When Redis cannot be asked, ``acquire`` raises
    :class:`RateLimiterError` and nothing is sent: a silent bypass would push the whole fleet over the limit.
    """

    limit: int
    """At most this many starts (the API's own figure)..."""
    period: float
    """...in any this many seconds (the API's own figure: the limiter adds the arrivals' margin itself)."""
    key: str | None
    """The shared window's name (None: the client's project id, once a client is given the limiter)."""
    where: str
    """Where the Redis server is: host, port and database (or a unix socket), never a password."""

    def __init__(
        self, url_or_client: str | Redis, limit: int = 13_800, period: float = 10.0, key: str | None = None
    ) -> None:
        _require_extra()
        from redis.asyncio import Redis
        from redis.asyncio.connection import parse_url

        self.limit = check_int("limit", limit, minimum=1)
        self.period = check_seconds("period", period, positive=True)
        self.key = None if key is None else check_str("key", key, min_length=1, max_length=200)
        self._rates = redis_rates(Pace(self.limit, self.period))
        if isinstance(url_or_client, str):
            self._url: str | None = url_or_client
            self._given: Redis | None = None
            try:
                where = _where(parse_url(url_or_client))  # parsed now: a typo fails here, not at the first call
            except ValueError as error:
                raise InvalidRequestError(f"not a Redis URL: {error}", field="url_or_client") from error
        elif isinstance(url_or_client, Redis):
            self._url, self._given = None, url_or_client
            where = _where(url_or_client.connection_pool.connection_kwargs)
        else:
            raise InvalidRequestError(
                f"url_or_client must be a Redis URL or a redis.asyncio.Redis, got {type(url_or_client).__name__}",
                field="url_or_client",
            )
        self.where = where
        self._project_id: str | None = None
        self._states: dict[asyncio.AbstractEventLoop, LoopState] = {}
        self._given_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        # Loops on other threads look up and add their states too.
        self._lock = threading.Lock()

    @property
    def redis_key(self) -> str | None:
        """The Redis key of the window (None until a key is known: given, or bound by a client)."""
        key = self.key if self.key is not None else self._project_id
        return None if key is None else KEY_PREFIX + key

    def bind_project(self, project_id: str) -> None:
        """Called by the ``SignalWireClient`` given this limiter: without ``key``, its project id names the window.
        One limiter cannot key two projects' windows: give ``key=`` or make one limiter per project."""
        if self.key is None and self._project_id not in (None, project_id):
            raise InvalidRequestError(
                f"this RedisRateLimit already keys its window by project {self._project_id}: give key= or use one"
                " limiter per project",
                field="rate_limit",
            )
        self._project_id = project_id

    def _loop_state(self, request: Request) -> LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is not None:
            return state
        with self._lock:
            # A loop that is closed has shut down (and closed its pool, when it ran asyncio.run's shutdown).
            for closed in [other for other in self._states if other.is_closed()]:
                del self._states[closed]
            if self._given is None:
                from redis.asyncio import Redis

                state = LoopState(loop, Redis.from_url(self._url or ""), owned=True)
            elif self._given_loop is None or self._given_loop() is loop:
                self._given_loop = weakref.ref(loop)
                state = LoopState(loop, self._given, owned=False)
            else:
                raise RateLimiterError(
                    f"the redis.asyncio.Redis given to this RedisRateLimit ({self.where}) belongs to the event loop"
                    " it was first used on, and this is another one (its connections cannot move between loops):"
                    " give the limiter a Redis URL, which makes a pool per loop; the request was not sent",
                    method=request.method,
                    url=str(request.url),
                )
            self._states[loop] = state
        return state

    async def _bucket(self, state: LoopState, redis_key: str) -> RedisBucket:
        if state.bucket is None:
            from pyrate_limiter import RedisBucket

            state.bucket = await RedisBucket.init(self._rates, state.client, redis_key)  # loads the Lua script
        return state.bucket

    async def acquire(self, request: Request) -> None:
        """Wait until ``request`` may start: take a place in the shared window, sleeping while it is full."""
        redis_key = self.redis_key
        if redis_key is None:
            raise InvalidRequestError(
                "this RedisRateLimit has no key: give key= or pass it to a SignalWireClient", field="key"
            )
        state = self._loop_state(request)
        observer = request.extensions.observer
        # Behind another coroutine of this loop that is asking (and maybe waiting for a place): a wait too.
        queued = state.turns.busy
        started = state.loop.time() if observer is not None else 0.0
        if not await state.turns.take(request.deadline):
            raise deadline_error(request, 0.0, describe_window(self.limit, self.period))
        try:
            slept = await self._wait_for_place(state, redis_key, request)
        finally:
            state.turns.give()
        if observer is not None and (queued or slept):
            observer.waited(request, state.loop.time() - started)

    async def _wait_for_place(self, state: LoopState, redis_key: str, request: Request) -> bool:
        """Take a place in the window, sleeping until one frees; whether it had to sleep."""
        from pyrate_limiter import RateItem
        from redis.exceptions import NoScriptError, RedisError

        loop = state.loop
        reloaded = slept = False
        while True:
            try:
                bucket = await self._bucket(state, redis_key)
                # Wall-clock milliseconds, as pyrate-limiter's own RedisBucket.now(): comparable between processes.
                item = RateItem("start", time.time_ns() // 1_000_000)
                # Over an asyncio client, the bucket's methods return awaitables (typed as "maybe awaitable").
                if await guarded(cast("Awaitable[bool]", bucket.put(item))):
                    await self._leak(state, bucket, item.timestamp)
                    return slept
                wait = max(1, await guarded(result(bucket.waiting(item)))) / 1000
            except NoScriptError:
                if reloaded:
                    raise
                # Redis restarted and lost its script cache: load the script again, once.
                state.bucket, reloaded = None, True
                continue
            except (RedisError, OSError) as error:
                raise self._unreachable(request, error) from error
            except RuntimeError as error:
                # A client used on a loop its connections do not belong to ("Event loop is closed", "attached to
                # a different loop"): Redis cannot be asked from here.
                raise self._unreachable(request, error, " from this event loop") from error
            if request.deadline is not None and loop.time() + wait > request.deadline:
                raise deadline_error(request, wait, describe_window(self.limit, self.period))
            await asyncio.sleep(wait)
            slept = True

    async def _leak(self, state: LoopState, bucket: RedisBucket, now_ms: int) -> None:
        # Starts older than the window only take memory: drop them about once a period (one more round trip).
        now = now_ms / 1000
        if now - state.last_leak >= self.period:
            state.last_leak = now
            await cast("Awaitable[int]", bucket.leak(now_ms))

    def _unreachable(self, request: Request, error: BaseException, where: str = "") -> RateLimiterError:
        return RateLimiterError(
            f"the rate limiter's Redis at {self.where} is unreachable{where} ({type(error).__name__}: {error});"
            " the request was not sent",
            method=request.method,
            url=str(request.url),
        )

    async def aclose(self) -> None:
        """Close the connection pool this limiter made on the running event loop (a client given to it stays open).
        Pools on other loops close when those loops shut down."""
        with self._lock:
            state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimit({self.where!r}, {self.limit}, period={self.period:g}, key={self.redis_key!r})"
