"""A cache of minted tokens for backends that hand a token to every page view.

It follows the token policies of azure-core and google-auth: a token is served while plenty of its life is left;
inside the refresh margin it is still served, at once, while one refresh runs in the background; only an expired
token makes a caller wait. Concurrent callers of one key share one request (single flight). Errors are never
cached: the next call tries again.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from .._errors import InvalidRequestError
from .._validate import check_int, check_seconds
from ._channel_models import ChannelPermissions, ChannelsInput

__all__ = ["ChatTokenCache"]

log = logging.getLogger("signalwire_tokens")


class TokenRequest(Protocol):
    """What the cache reads from a request of any token family with channels (chat, pubsub)."""

    @property
    def ttl(self) -> int: ...
    @property
    def channels(self) -> Mapping[str, ChannelPermissions]: ...
    @property
    def member_id(self) -> str | None: ...
    @property
    def state(self) -> Mapping[str, Any] | None: ...


class Token(Protocol):
    """What the cache reads from a minted token: when it expires (an aware datetime)."""

    @property
    def expires_at(self) -> datetime: ...


RequestT = TypeVar("RequestT", bound=TokenRequest)
TokenT = TypeVar("TokenT", bound=Token)

#: (member_id, ttl, channels as (name, read, write) triples, state as sorted compact JSON): everything that goes
#: into a token, in a form where channel order, dict-vs-ChannelPermissions and state key order make no difference.
Key = tuple[str, int, frozenset[tuple[str, bool, bool]], str | None]

_CANONICAL_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=dict)

_NO_MEMBER = (
    "the token cache needs member_id: without one the API gives each token a random member, so one cached token "
    "would share one identity between every user it is handed to (mint anonymous tokens with create() instead)"
)


def _key(request: TokenRequest, member_id: str) -> Key:
    channels = frozenset((name, p.read, p.write) for name, p in request.channels.items())
    state = None if request.state is None else _CANONICAL_JSON.encode(dict(request.state))
    return (member_id, request.ttl, channels, state)


class _Entry(Generic[TokenT]):
    """One key's latest token (None until the first one arrives) and the request in flight for it, if any."""

    __slots__ = ("expires", "flight", "refresh_at", "token")

    def __init__(self) -> None:
        self.token: TokenT | None = None
        self.expires = 0.0  # POSIX seconds
        self.refresh_at = 0.0
        self.flight: asyncio.Task[TokenT] | None = None


class ChatTokenCache(Generic[TokenT]):
    """Tokens by everything that goes into them, refreshed ahead of expiry, one request per key at a time.

    Made by ``client.chat_tokens.cache()``; ``get`` takes the arguments of ``create`` and needs ``member_id``.
    ``hits`` counts gets answered at once from the cache, ``misses`` gets that waited for a request (their own or
    one already in flight), ``refreshes`` background refreshes started. Closing the client closes the cache.
    """

    max_entries: int
    #: Seconds before expiry from which a get refreshes in the background; None: the default rule (see the README).
    refresh_margin: float | None
    hits: int
    misses: int
    refreshes: int

    def __init__(
        self,
        mint: Callable[[RequestT], Awaitable[TokenT]],
        make_request: Callable[..., RequestT],
        *,
        max_entries: int = 10_000,
        refresh_margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._mint: Callable[[Any], Awaitable[TokenT]] = mint
        self._make_request: Callable[..., TokenRequest] = make_request
        self.max_entries = check_int("max_entries", max_entries, minimum=1)
        self.refresh_margin = None if refresh_margin is None else check_seconds("refresh_margin", refresh_margin)
        if not callable(clock):
            raise InvalidRequestError("clock must be a function returning POSIX seconds, like time.time", field="clock")
        self._clock = clock
        # Oldest use first: a get moves its key to the end, and a new key past max_entries evicts the first.
        self._entries: collections.OrderedDict[Key, _Entry[TokenT]] = collections.OrderedDict()
        self._flights: set[asyncio.Task[TokenT]] = set()
        self._closed = False
        self.hits = 0
        self.misses = 0
        self.refreshes = 0

    async def get(
        self,
        ttl: int,
        channels: ChannelsInput,
        member_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> TokenT:
        """A token for these arguments: the cached one while it has more than the refresh margin left; inside the
        margin, the cached one at once while one refresh runs in the background; else (none yet, or expired) a new
        one, one request shared by every concurrent caller of the same arguments."""
        # Built first, so bad input is refused with its field before anything else happens.
        request = self._make_request(ttl=ttl, channels=channels, member_id=member_id, state=state)
        if request.member_id is None:
            raise InvalidRequestError(_NO_MEMBER, field="member_id")
        if self._closed:
            raise RuntimeError("the token cache is closed")
        key = _key(request, request.member_id)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._add(key)
        else:
            self._entries.move_to_end(key)
            now = self._clock()
            if entry.token is not None and now < entry.expires:
                if now >= entry.refresh_at and entry.flight is None:
                    self.refreshes += 1
                    self._start(key, entry, request, background=True)
                self.hits += 1
                return entry.token
        self.misses += 1
        flight = entry.flight if entry.flight is not None else self._start(key, entry, request, background=False)
        # wait() leaves the flight running when this caller is cancelled: the other callers still need it.
        await asyncio.wait((flight,))
        if flight.cancelled():
            raise RuntimeError("the token cache was closed while this token was being minted")
        return flight.result()

    def invalidate(self, *, member_id: str) -> int:
        """Drop every entry of ``member_id`` (a refresh in flight for them keeps its result to itself); returns how
        many were dropped."""
        keys = [key for key in self._entries if key[0] == member_id]
        for key in keys:
            del self._entries[key]
        return len(keys)

    async def aclose(self) -> None:
        """Cancel the requests in flight, wait until they are gone, and drop every token. Safe to call twice."""
        self._closed = True
        flights = list(self._flights)
        for flight in flights:
            flight.cancel()
        await asyncio.gather(*flights, return_exceptions=True)
        self._entries.clear()

    def _add(self, key: Key) -> _Entry[TokenT]:
        entry: _Entry[TokenT] = _Entry()
        self._entries[key] = entry
        excess = len(self._entries) - self.max_entries
        if excess > 0:
            # Least recently used first, but never a key whose mint is in flight: its callers share that one request,
            # and a caller arriving after an eviction would start a second one (two tokens for one key). So the
            # cache may hold more than max_entries by the mints in flight, until they land.
            idle = [old for old, held in self._entries.items() if held.flight is None and old != key]
            for old in idle[:excess]:
                del self._entries[old]
        return entry

    def _start(
        self, key: Key, entry: _Entry[TokenT], request: TokenRequest, *, background: bool
    ) -> asyncio.Task[TokenT]:
        flight = asyncio.get_running_loop().create_task(self._fetch(key, entry, request, background))
        entry.flight = flight
        self._flights.add(flight)
        flight.add_done_callback(self._landed)
        return flight

    async def _fetch(self, key: Key, entry: _Entry[TokenT], request: TokenRequest, background: bool) -> TokenT:
        try:
            token = await self._mint(request)
        except Exception as error:
            if background:
                # The error's type is enough to act on; nothing of the request (member, channels, state) is logged.
                log.warning(
                    "token cache: a background refresh failed (%s); the cached token is served until it expires",
                    type(error).__name__,
                )
            elif entry.token is None and self._entries.get(key) is entry:
                del self._entries[key]  # never minted: an empty entry would only take a place
            raise
        finally:
            entry.flight = None
        # An entry that was invalidated or evicted meanwhile is no longer the cache's: its token stays out.
        if self._entries.get(key) is entry:
            entry.token = token
            entry.expires = token.expires_at.timestamp()
            entry.refresh_at = entry.expires - self._margin(request.ttl)
        return token

    def _margin(self, ttl: int) -> float:
        if self.refresh_margin is not None:
            return self.refresh_margin
        # The larger of a minute and a fifth of the token's life (ttl is in minutes), but never more than half of it:
        # a one-minute token refreshed a minute ahead would be refreshed on every get.
        life = ttl * 60.0
        return min(max(60.0, life * 0.2), life / 2)

    def _landed(self, flight: asyncio.Task[TokenT]) -> None:
        self._flights.discard(flight)
        if not flight.cancelled():
            # Retrieved here, so a refresh nobody waits for never logs "Task exception was never retrieved".
            flight.exception()

    async def __aenter__(self) -> ChatTokenCache[TokenT]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __len__(self) -> int:
        """How many keys hold an entry (at most ``max_entries``, plus keys whose first mint is in flight)."""
        return len(self._entries)

    def __repr__(self) -> str:
        # Counts only: never a token, a member or a channel.
        return (
            f"{type(self).__name__}(entries={len(self._entries)}, max_entries={self.max_entries}, hits={self.hits}, "
            f"misses={self.misses}, refreshes={self.refreshes}, in_flight={len(self._flights)})"
        )
