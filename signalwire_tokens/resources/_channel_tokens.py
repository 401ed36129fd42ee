"""``client.chat_tokens`` and ``client.pubsub_tokens``: mint tokens on channels one at a time or in concurrent
batches (the platform REST API). The two families share one schema; only the path and the classes differ."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._http import Response
from ._channel_models import (
    ChannelsInput,
    ChannelToken,
    ChannelTokenRequest,
    ChatToken,
    ChatTokenRequest,
    PubSubToken,
    PubSubTokenRequest,
    as_request,
)
from ._chat_cache import ChatTokenCache
from ._convert import unstructure_channel_request
from ._minting import MintingFamily, minted_jwt

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["ChannelTokens", "ChatTokens", "PubSubTokens"]

RequestT = TypeVar("RequestT", bound=ChannelTokenRequest)
TokenT = TypeVar("TokenT", bound=ChannelToken)


class ChannelTokens(MintingFamily[ChannelTokenRequest, TokenT], Generic[RequestT, TokenT]):
    """One family of tokens on channels: ``POST`` to ``path``, with ``request_class`` in and ``token_class`` out."""

    def __init__(
        self,
        client: SignalWireClient,
        path: str,
        operation: str,
        request_class: type[RequestT],
        token_class: type[TokenT],
    ) -> None:
        super().__init__(client, path, operation)
        self._request_class = request_class
        self._token_class = token_class

    async def create(
        self,
        ttl: int,
        channels: ChannelsInput,
        member_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> TokenT:
        """Mint one token valid for ``ttl`` minutes on ``channels``."""
        return await self.mint(self._request_class(ttl, channels, member_id, state))

    def _body(self, request: ChannelTokenRequest) -> dict[str, Any]:
        return unstructure_channel_request(request)

    def _reader(self, request: ChannelTokenRequest, sent_at: datetime) -> Callable[[Response], TokenT]:
        expires_at = sent_at + timedelta(minutes=request.ttl)
        return lambda response: self._token_class(minted_jwt(response), request.member_id, expires_at)

    def _as_request(self, item: Any) -> ChannelTokenRequest:
        return as_request(item, self._request_class)

    def cache(
        self, *, max_entries: int = 10_000, refresh_margin: float | None = None, clock: Callable[[], float] = time.time
    ) -> ChatTokenCache[TokenT]:
        """A :class:`ChatTokenCache` minting this family's tokens through this client, closed when the client closes.

        ``refresh_margin``: seconds of life left at which a token is refreshed in the background (None: the larger
        of 60 seconds and 20 % of its ttl); ``clock``: the POSIX time expiries are judged by.
        """
        cache = ChatTokenCache(
            self.mint, self._request_class, max_entries=max_entries, refresh_margin=refresh_margin, clock=clock
        )
        self._client._closables.add(cache)
        return cache


class ChatTokens(ChannelTokens[ChatTokenRequest, ChatToken]):
    """``POST /api/chat/tokens``."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, "/api/chat/tokens", "chat_tokens.create", ChatTokenRequest, ChatToken)


class PubSubTokens(ChannelTokens[PubSubTokenRequest, PubSubToken]):
    """``POST /api/pubsub/tokens``: the chat token's schema, limits and batches."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, "/api/pubsub/tokens", "pubsub_tokens.create", PubSubTokenRequest, PubSubToken)
