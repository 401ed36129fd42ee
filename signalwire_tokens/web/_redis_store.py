"""RedisTokenStore: the browser endpoints' store shared by a fleet of replicas (the ``web`` extra: redis-py's asyncio
client and ``cryptography``). Sessions sealed with Fernet under key names that are keyed hashes (see ``_sealing``),
a lock per subscriber for the single flight (``SET NX PX`` with a random holder, released only by its holder), and
a sliding window per rate key (a sorted set with a TTL, counted by one script on Redis's own clock).

redis-py and cryptography are imported only when a store is made, so ``import signalwire_tokens.web`` works
without them. A Redis client's connections belong to the event loop they were opened on, so the store keeps one
pool per loop, closed when that loop shuts down, as :class:`~signalwire_tokens.RedisRateLimit` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import InvalidRequestError
from .._redis_loops import LoopState, guarded
from .._redis_ratelimit import _where
from .._validate import check_int, check_seconds, check_str
from ._sealing import Sealer
from ._store import StoredSession, TokenStoreError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTokenStore"]

logger = logging.getLogger("signalwire_tokens.web")
T = TypeVar("T")

_INSTALL = "pip install 'signalwire-tokens[web]'"
#: Every key the store writes starts with this by default, so it never collides with an application's own keys.
DEFAULT_PREFIX = "signalwire-tokens:web:"
#: How long a redis-py call may wait for a connection or an answer before Redis counts as out of reach.
SOCKET_TIMEOUT = 5.0
#: How often a waiter asks for a held lock at first, and at most (it backs off in between).
FIRST_POLL, LAST_POLL = 0.005, 0.05

# Free the lock only if this holder still holds it: one that outlived its lock must not free the next holder's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# One request of a sliding window of ARGV[1] ms holding at most ARGV[2]: -1 when counted, else the ms until one
# more would be. Redis's own clock, so replicas on several hosts agree; the set expires with its window.
_ADMIT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local period, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + period - now, 0)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], period)
return -1
"""


def _require_extra() -> None:
    try:
        import cryptography.fernet  # noqa: F401
        import redis.asyncio  # noqa: F401
    except ImportError as error:
        raise ImportError(f"RedisTokenStore needs the web extra: {_INSTALL} ({error})") from error


class RedisTokenStore:
    """A :class:`~signalwire_tokens.web.TokenStore` shared by every replica that uses the same Redis, keys and
    ``prefix``: sessions, single flights and ``per_subscriber`` counts are the fleet's.

    ``url``: ``redis://host:6379/0`` (``rediss://`` for TLS); one connection pool per event loop, closed when that
    loop shuts down or at :meth:`aclose`. ``keys``: the app's keys, each as
    ``cryptography.fernet.Fernet.generate_key()`` returns (bytes or text). The first encrypts, every one decrypts:
    to rotate, put a new key in front, and drop the old one once every entry sealed under it has expired (a
    refresh token's life: 2 hours 5 minutes). A value no key opens is absent: that subscriber gets a new SAT.
    Key names are keyed hashes of the reference under the last key of the list, so putting a key in front keeps
    every entry; dropping the last key renames every entry once (each session falls back to a new SAT).

    Each session expires in Redis with its refresh token (Redis 6.2 or later: ``SET PXAT``). ``lock_life``
    (seconds) bounds a refresh's lock: a replica that dies holding it blocks the others no longer than that; make
    it longer than a refresh call takes with the client's retries. A waiter gives up after twice that (a
    :class:`~signalwire_tokens.web.TokenStoreError`: the mount answers 503). At most ``max_connections`` are open
    per event loop: more requests at once wait for one (up to 5 s). ``per_subscriber`` windows run on
    Redis's own clock. When Redis cannot be asked, every method raises
    :class:`~signalwire_tokens.web.TokenStoreError`.
    """

    def __init__(
        self,
        url: str,
        *,
        keys: Any,
        prefix: str = DEFAULT_PREFIX,
        lock_life: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        _require_extra()
        from redis.asyncio.connection import parse_url

        if not isinstance(url, str):
            raise InvalidRequestError(f"url must be a Redis URL, got {type(url).__name__}", field="url")
        try:
            #: Where the Redis server is: host, port and database (or a unix socket), never a password.
            self.where: str = _where(parse_url(url))  # parsed now: a typo fails here, not at the first request
        except ValueError as error:
            raise InvalidRequestError(f"not a Redis URL: {error}", field="url") from error
        self._url = url
        self._sealer = Sealer(keys)
        #: What every Redis key of this store starts with.
        self.prefix: str = check_str("prefix", prefix, min_length=1, max_length=200)
        #: The longest a refresh's lock is held (seconds): a holder that died frees it then.
        self.lock_life: float = check_seconds("lock_life", lock_life, positive=True)
        #: The most connections the store opens on one event loop; past them, a call waits for one to free.
        self.max_connections: int = check_int("max_connections", max_connections, minimum=1)
        self._states: dict[asyncio.AbstractEventLoop, LoopState] = {}
        self._lock = threading.Lock()  # loops on other threads look up and add their pools too

    def __repr__(self) -> str:
        return f"RedisTokenStore({self.where!r}, keys={self._sealer.count}, prefix={self.prefix!r})"

    def _name(self, kind: str, value: str) -> str:
        return self.prefix + self._sealer.name(kind, value)

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            from redis.asyncio import BlockingConnectionPool, Redis

            with self._lock:
                # A closed loop has shut down, and closed its pool with it (asyncio.run's shutdown sees to it).
                for closed in [other for other in self._states if other.is_closed()]:
                    del self._states[closed]
                # Blocking: a burst of requests past the pool's size waits for a connection (up to the timeout)
                # instead of failing at once, as redis-py's default pool does past its 100.
                pool = BlockingConnectionPool.from_url(
                    self._url,
                    max_connections=self.max_connections,
                    timeout=SOCKET_TIMEOUT,
                    socket_timeout=SOCKET_TIMEOUT,
                    socket_connect_timeout=SOCKET_TIMEOUT,
                )
                state = self._states[loop] = LoopState(loop, Redis.from_pool(pool), owned=True)
        return state.client

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import RedisError

        try:
            try:
                return await guarded(call())
            except RedisConnectionError:
                # A pooled connection Redis's restart broke fails once, before its command reaches the new server:
                # the pool's idle connections are dropped and the call asked once more, on a fresh connection.
                await self._drop_idle_connections()
                return await guarded(call())
        except (RedisError, OSError, RuntimeError) as error:
            # RuntimeError: a pool used on a loop its connections do not belong to ("Event loop is closed").
            await self._drop_idle_connections()
            raise TokenStoreError(
                f"the token store's Redis at {self.where} is unreachable ({type(error).__name__}): try again later"
            ) from error

    async def _drop_idle_connections(self) -> None:
        # The pooled connections an outage broke are closed at once, so that once Redis is back the next call opens
        # a fresh one instead of each stale connection failing one more request. Those in use are left to their
        # calls: one command's failure must not break the others in flight.
        state = self._states.get(asyncio.get_running_loop())
        if state is not None:
            with contextlib.suppress(Exception):
                await state.client.connection_pool.disconnect(inuse_connections=False)

    async def get(self, reference: str) -> StoredSession | None:
        """The session stored for ``reference``, or None (none stored, its refresh token expired, or no key
        opens it)."""
        sealed = await self._ask(lambda: self._client().get(self._name("session", reference)))
        return None if sealed is None else self._sealer.open(sealed)

    async def put(self, reference: str, session: StoredSession) -> None:
        """Store ``session`` for ``reference``, sealed, expiring in Redis when its refresh token does."""
        expires_ms = math.ceil(session.refresh_expires_at.timestamp() * 1000)
        name = self._name("session", reference)
        sealed = self._sealer.seal(session)
        await self._ask(lambda: self._client().set(name, sealed, pxat=expires_ms))

    async def delete(self, reference: str) -> None:
        """Forget the session of ``reference``."""
        await self._ask(lambda: self._client().delete(self._name("session", reference)))

    @contextlib.asynccontextmanager
    async def single_flight(self, reference: str) -> AsyncIterator[None]:
        """Hold the fleet-wide lock of ``reference``: ``SET NX PX`` with a random holder, for at most
        :attr:`lock_life`; a waiter polls it (backing off from 5 to 50 ms) for at most twice that."""
        name, holder = self._name("lock", reference), secrets.token_hex(16)
        await self._take(name, holder)
        try:
            yield
        finally:
            try:
                release = self._client().register_script(_RELEASE)
                await self._ask(lambda: release(keys=[name], args=[holder]))
            except TokenStoreError as error:
                # Nothing to undo: the lock frees itself at its life's end.
                logger.warning("the refresh lock could not be released (%s): it expires by itself", error)

    async def _take(self, name: str, holder: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lock_life
        life_ms = max(1, math.ceil(self.lock_life * 1000))
        poll = FIRST_POLL
        while not await self._ask(lambda: self._client().set(name, holder, nx=True, px=life_ms)):
            left = deadline - loop.time()
            if left <= 0:
                raise TokenStoreError(
                    f"the token store's refresh lock at {self.where} stayed held past {2 * self.lock_life:g} s:"
                    " try again later"
                )
            await asyncio.sleep(min(poll, left))
            poll = min(poll * 2, LAST_POLL)

    async def admit(self, key: str, limit: int, period: float) -> float | None:
        """Count one request of ``key`` in the fleet's sliding window of ``period`` seconds, or say how long to
        wait."""
        admit = self._client().register_script(_ADMIT)
        period_ms = max(1, math.ceil(period * 1000))
        member = secrets.token_hex(8)
        wait_ms = await self._ask(lambda: admit(keys=[self._name("rate", key)], args=[period_ms, limit, member]))
        return None if int(wait_ms) < 0 else int(wait_ms) / 1000

    async def aclose(self) -> None:
        """Close the pool this store made on the running event loop; pools on other loops close with them."""
        with self._lock:
            state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.aclose()
