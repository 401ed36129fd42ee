"""RedisRateLimit: one sliding window shared by every process that uses the same Redis and key (the `redis` extra).

The window is pyrate-limiter's Redis sliding-window log (a sorted set of start times; one Lua script counts the
window and adds a start atomically) over redis-py's asyncio client: a maintained library rather than a script of
ours. Both are imported only when a RedisRateLimit is made, so ``import signalwire_tokens`` works without them.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._errors import InvalidRequestError, RateLimiterError
from ._http import Request
from ._ratelimit import deadline_error, describe_window
from ._validate import check_int, check_seconds, check_str

if TYPE_CHECKING:
    from pyrate_limiter.buckets.redis_bucket import RedisBucket
    from redis.asyncio import Redis

__all__ = ["RedisRateLimit"]

T = TypeVar("T")

_INSTALL = "pip install 'signalwire-tokens[redis]'"
#: Every key this library writes starts with this, so it never collides with an application's own keys.
KEY_PREFIX = "signalwire-tokens:rate-limit:"


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


class _Turns:
    """A FIFO turn: one coroutine of this process asks Redis at a time, the others wait in order, each no longer
    than its deadline. (A lock with a timeout would need ``wait_for`` around ``Lock.acquire``, which can lose the
    lock on Python 3.10 and 3.11 when the timeout and the hand-over race.)"""

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


async def _guarded(call: Awaitable[T]) -> T:
    """Await a Redis call in a task of its own, so that cancelling the caller always cancels the caller: redis-py
    was seen to swallow a cancellation that arrived during a command, which left a cancelled batch worker running.
    A call abandoned this way may still take its place in the window: that errs on the safe side."""
    task = asyncio.ensure_future(call)
    task.add_done_callback(_retrieve)  # an abandoned call's failure is nobody's to report
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _result(value: int | Awaitable[int]) -> int:
    """A bucket method's result: pyrate-limiter answers some at once (a wait it recorded) and others after Redis."""
    return await value if inspect.isawaitable(value) else value


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class _LoopState:
    """What belongs to one event loop: the client (when made from a URL), the loaded bucket and the turns."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Redis) -> None:
        self.loop = loop
        self.client = client
        self.bucket: RedisBucket | None = None
        self.turns = _Turns()
        self.last_leak = 0.0


class RedisRateLimit:
    """At most ``limit`` starts in any ``period`` seconds across every process that uses the same Redis and key.

    ``url_or_client`` is a Redis URL (``redis://host:6379/0``; the limiter makes its own client and closes it) or a
    ``redis.asyncio.Redis`` you own (never closed here). ``key`` names the shared window; by default the client's
    project id (SignalWire's limit is per project), stored under ``signalwire-tokens:rate-limit:<key>``. Every
    process sharing a key must use the same ``limit`` and ``period``; start times are the hosts' wall clocks in
    milliseconds, so a fleet on several hosts needs their clocks in sync (NTP).

    Within one process, requests ask Redis one at a time in the order they came (FIFO); across processes, whoever
    asks first after a place frees gets it. When Redis cannot be asked, ``acquire`` raises
    :class:`RateLimiterError` and nothing is sent: a silent bypass would push the whole fleet over the limit.
    """

    def __init__(self, url_or_client: str | Redis, limit: int, period: float = 10.0, key: str | None = None) -> None:
        _require_extra()
        from redis.asyncio import Redis
        from redis.asyncio.connection import parse_url

        self.limit = check_int("limit", limit, minimum=1)
        self.period = check_seconds("period", period, positive=True)
        self.key = None if key is None else check_str("key", key, min_length=1, max_length=200)
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
        self._state: _LoopState | None = None

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

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            # A client made on another (closed) loop cannot be used here: its connections belong to that loop.
            from redis.asyncio import Redis

            client = self._given if self._given is not None else Redis.from_url(self._url or "")
            state = self._state = _LoopState(loop, client)
        return state

    async def _bucket(self, state: _LoopState, redis_key: str) -> RedisBucket:
        if state.bucket is None:
            from pyrate_limiter import Rate, RedisBucket

            rate = Rate(self.limit, max(1, round(self.period * 1000)))
            state.bucket = await RedisBucket.init([rate], state.client, redis_key)  # loads the Lua script
        return state.bucket

    async def acquire(self, request: Request) -> None:
        redis_key = self.redis_key
        if redis_key is None:
            raise InvalidRequestError(
                "this RedisRateLimit has no key: give key= or pass it to a SignalWireClient", field="key"
            )
        state = self._loop_state()
        observer = request.extensions.observer
        # Behind another coroutine of this process that is asking (and maybe waiting for a place): a wait too.
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

    async def _wait_for_place(self, state: _LoopState, redis_key: str, request: Request) -> bool:
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
                if await _guarded(cast("Awaitable[bool]", bucket.put(item))):
                    await self._leak(state, bucket, item.timestamp)
                    return slept
                wait = max(1, await _guarded(_result(bucket.waiting(item)))) / 1000
            except NoScriptError:
                if reloaded:
                    raise
                # Redis restarted and lost its script cache: load the script again, once.
                state.bucket, reloaded = None, True
                continue
            except (RedisError, OSError) as error:
                raise self._unreachable(request, error) from error
            if request.deadline is not None and loop.time() + wait > request.deadline:
                raise deadline_error(request, wait, describe_window(self.limit, self.period))
            await asyncio.sleep(wait)
            slept = True

    async def _leak(self, state: _LoopState, bucket: RedisBucket, now_ms: int) -> None:
        # Starts older than the window only take memory: drop them about once a period (one more round trip).
        now = now_ms / 1000
        if now - state.last_leak >= self.period:
            state.last_leak = now
            await cast("Awaitable[int]", bucket.leak(now_ms))

    def _unreachable(self, request: Request, error: BaseException) -> RateLimiterError:
        return RateLimiterError(
            f"the rate limiter's Redis at {self.where} is unreachable ({type(error).__name__}: {error});"
            " the request was not sent",
            method=request.method,
            url=str(request.url),
        )

    async def aclose(self) -> None:
        """Close the Redis client this limiter made from a URL (one given to it stays open)."""
        state, self._state = self._state, None
        if state is not None and self._given is None and not state.loop.is_closed():
            await state.client.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimit({self.where!r}, {self.limit}, period={self.period:g}, key={self.redis_key!r})"
