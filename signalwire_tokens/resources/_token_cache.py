"""The machinery every token cache shares (chat and PubSub tokens, subscriber access tokens).

It follows the token policies of azure-core and google-auth: a token is served while plenty of its life is left;
inside the refresh margin it is still served, at once, while one renewal runs in the background; only an expired
token makes a caller wait. Concurrent callers of one key share one request (single flight). Errors are never
cached: the next call tries again. At most ``max_entries`` keys, least recently used evicted first, but never a key
whose mint is in flight. A family says only what is its own: how a request becomes a key, how long a token lives,
and how a token is renewed (a chat token is minted again; a subscriber's is refreshed with its refresh token).
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from .._errors import InvalidRequestError
from .._validate import check_int, check_seconds

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["TokenCache"]

log = logging.getLogger("signalwire_tokens")


class Token(Protocol):
    """What the cache reads from a minted token: when it expires (an aware datetime)."""

    @property
    def expires_at(self) -> datetime: ...


KeyT = TypeVar("KeyT", bound=Hashable)
RequestT = TypeVar("RequestT")
TokenT = TypeVar("TokenT", bound=Token)


class _Entry(Generic[TokenT]):
    """One key's latest token (None until the first one arrives) and the request in flight for it, if any."""

    __slots__ = ("expires", "flight", "refresh_at", "token")

    def __init__(self) -> None:
        self.token: TokenT | None = None
        self.expires = 0.0  # POSIX seconds
        self.refresh_at = 0.0
        self.flight: asyncio.Task[TokenT] | None = None


def default_margin(life: float) -> float:
    """The larger of a minute and a fifth of a token's life, but never more than half of it: a one-minute token
    refreshed a minute ahead would be refreshed on every get."""
    return min(max(60.0, life * 0.2), life / 2)


class TokenCache(abc.ABC, Generic[KeyT, RequestT, TokenT]):
    """Tokens by key, refreshed ahead of expiry, one request per key at a time. A family's cache builds its request
    and key in its own ``get`` and hands them to :meth:`_get`.

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
        self, *, max_entries: int = 10_000, refresh_margin: float | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = check_int("max_entries", max_entries, minimum=1)
        self.refresh_margin = None if refresh_margin is None else check_seconds("refresh_margin", refresh_margin)
        if not callable(clock):
            raise InvalidRequestError("clock must be a function returning POSIX seconds, like time.time", field="clock")
        self._clock = clock
        # Oldest use first: a get moves its key to the end, and a new key past max_entries evicts the first.
        self._entries: collections.OrderedDict[KeyT, _Entry[TokenT]] = collections.OrderedDict()
        self._flights: set[asyncio.Task[TokenT]] = set()
        self._closed = False
        self.hits = 0
        self.misses = 0
        self.refreshes = 0

    # -- what a family says --------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def _renew(self, request: RequestT, held: TokenT | None) -> TokenT:
        """A new token for ``request``; ``held`` is the key's latest token (expired or not), None for a new key."""

    @abc.abstractmethod
    def _life(self, request: RequestT, token: TokenT) -> float:
        """Seconds a token just minted for ``request`` lives: what the default refresh margin is a part of."""

    # -- the machinery -----------------------------------------------------------------------------------------------

    async def _get(self, key: KeyT, request: RequestT) -> TokenT:
        """The token for ``key``: the cached one while it has more than the refresh margin left; inside the margin,
        the cached one at once while one renewal runs in the background; else (none yet, or expired) a new one, one
        request shared by every concurrent caller of the same key."""
        if self._closed:
            raise RuntimeError("the token cache is closed")
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

    def _drop(self, matches: Callable[[KeyT], bool]) -> int:
        """Drop every entry whose key ``matches`` (a renewal in flight for them keeps its result to itself)."""
        keys = [key for key in self._entries if matches(key)]
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

    def _add(self, key: KeyT) -> _Entry[TokenT]:
        entry: _Entry[TokenT] = _Entry()
        self._entries[key] = entry
        excess = len(self._entries) - self.max_entries
        if excess > 0:
            # Least recently used first, but never a key whose mint is in flight: its callers share that one request,
            # and a caller arriving after an eviction would start a second one (two tokens for one key). So the
            # cache may hold more than max_entries by the mints in flight, until they land. The dict is in LRU order:
            # the walk stops at the last victim, passing over only the mints in flight, never the whole cache.
            victims: list[KeyT] = []
            for old, held in self._entries.items():
                if held.flight is None and old != key:
                    victims.append(old)
                    if len(victims) == excess:
                        break
            for old in victims:
                del self._entries[old]
        return entry

    def _start(self, key: KeyT, entry: _Entry[TokenT], request: RequestT, *, background: bool) -> asyncio.Task[TokenT]:
        flight = asyncio.get_running_loop().create_task(self._fetch(key, entry, request, background))
        entry.flight = flight
        self._flights.add(flight)
        flight.add_done_callback(self._landed)
        return flight

    async def _fetch(self, key: KeyT, entry: _Entry[TokenT], request: RequestT, background: bool) -> TokenT:
        try:
            token = await self._renew(request, entry.token)
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
            margin = self.refresh_margin
            entry.refresh_at = entry.expires - (
                default_margin(self._life(request, token)) if margin is None else margin
            )
        return token

    def _landed(self, flight: asyncio.Task[TokenT]) -> None:
        self._flights.discard(flight)
        if not flight.cancelled():
            # Retrieved here, so a refresh nobody waits for never logs "Task exception was never retrieved".
            flight.exception()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __len__(self) -> int:
        """How many keys hold an entry (at most ``max_entries``, plus keys whose first mint is in flight)."""
        return len(self._entries)

    def __repr__(self) -> str:
        # Counts only: never a token, a member, a subscriber or a channel.
        return (
            f"{type(self).__name__}(entries={len(self._entries)}, max_entries={self.max_entries}, hits={self.hits}, "
            f"misses={self.misses}, refreshes={self.refreshes}, in_flight={len(self._flights)})"
        )
