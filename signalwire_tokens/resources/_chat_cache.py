"""A cache of chat and PubSub tokens for backends that hand a token to every page view: the shared token cache
(:mod:`._token_cache`: single flight, refresh ahead, errors never cached, LRU) keyed by everything that goes into a
token on channels, renewed by minting again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from .._errors import InvalidRequestError
from ._channel_models import ChannelPermissions, ChannelsInput
from ._token_cache import Token, TokenCache

__all__ = ["ChatTokenCache"]


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


class ChatTokenCache(TokenCache[Key, TokenRequest, TokenT]):
    """Tokens by everything that goes into them, refreshed ahead of expiry, one request per key at a time.

    Made by ``client.chat_tokens.cache()``; ``get`` takes the arguments of ``create`` and needs ``member_id``.
    ``hits`` counts gets answered at once from the cache, ``misses`` gets that waited for a request (their own or
    one already in flight), ``refreshes`` background refreshes started. Closing the client closes the cache.
    """

    def __init__(
        self,
        mint: Callable[[Any], Awaitable[TokenT]],
        make_request: Callable[..., Any],
        *,
        max_entries: int = 10_000,
        refresh_margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(max_entries=max_entries, refresh_margin=refresh_margin, clock=clock)
        self._mint: Callable[[Any], Awaitable[TokenT]] = mint
        self._make_request: Callable[..., TokenRequest] = make_request

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
        return await self._get(_key(request, request.member_id), request)

    def invalidate(self, *, member_id: str) -> int:
        """Drop every entry of ``member_id`` (a refresh in flight for them keeps its result to itself); returns how
        many were dropped."""
        return self._drop(lambda key: key[0] == member_id)

    async def _renew(self, request: TokenRequest, held: TokenT | None) -> TokenT:
        return await self._mint(request)

    def _life(self, request: TokenRequest, token: TokenT) -> float:
        return request.ttl * 60.0  # ttl is in minutes
