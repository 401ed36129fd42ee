"""``client.chat_tokens``: mint chat tokens one at a time or in concurrent batches (the platform REST API)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ._batch import BatchStream, Progress
from ._cache import ChatTokenCache
from ._convert import converter, structure_body
from ._http import NO_EXTENSIONS, Extensions, JsonBody
from ._models import ChannelsInput, ChatToken, ChatTokenRequest

if TYPE_CHECKING:
    from ._client import SignalWireClient

__all__ = ["ChatTokens"]


@attrs.frozen
class _MintedBody:
    """The documented success body: ``{"token": "<JWT>"}``."""

    token: str = attrs.field(repr=False)


class ChatTokens:
    """``POST /api/chat/tokens``."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._url = client.url("/api/chat/tokens")

    async def create(
        self,
        ttl: int,
        channels: ChannelsInput,
        member_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> ChatToken:
        """Mint one chat token valid for ``ttl`` minutes on ``channels``."""
        return await self.mint(ChatTokenRequest(ttl, channels, member_id, state))

    async def mint(self, request: ChatTokenRequest, extensions: Extensions = NO_EXTENSIONS) -> ChatToken:
        """Mint the chat token a prepared :class:`ChatTokenRequest` describes (``extensions``: per-call facts for the
        chain, such as a batch's flow control)."""
        # Taken before sending, so expires_at is never later than the expiry the API sets.
        sent_at = datetime.now(timezone.utc)
        response = await self._client.send(
            "POST",
            self._url,
            "chat_tokens.create",
            body=JsonBody(converter.unstructure(request)),
            extensions=extensions,
        )
        body = structure_body(response, _MintedBody)
        return ChatToken(body.token, request.member_id, sent_at + timedelta(minutes=request.ttl))

    def create_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> BatchStream:
        """Mint many chat tokens, at most ``concurrency`` at once, yielding a :class:`BatchItem` as each completes.

        The input (``ChatTokenRequest``s, or dicts of their fields) is pulled lazily; a failed item carries its
        error instead of raising; stopping early cancels whatever is in flight. ``max_rate`` caps the requests
        started per second (retries included); a 429 halves the concurrency, which then grows back by one per
        round of successes. ``progress`` is called with a :class:`BatchProgress` after each item; ``ordered=True``
        yields in input order (an item finished early waits, at most ``concurrency`` of them).
        """
        return BatchStream(
            self.mint, requests, concurrency=concurrency, max_rate=max_rate, progress=progress, ordered=ordered
        )

    def cache(
        self, *, max_entries: int = 10_000, refresh_margin: float | None = None, clock: Callable[[], float] = time.time
    ) -> ChatTokenCache[ChatToken]:
        """A :class:`ChatTokenCache` minting through this client, closed when the client closes.

        ``refresh_margin``: seconds of life left at which a token is refreshed in the background (None: the larger
        of 60 seconds and 20 % of its ttl); ``clock``: the POSIX time expiries are judged by.
        """
        cache = ChatTokenCache(
            self.mint, ChatTokenRequest, max_entries=max_entries, refresh_margin=refresh_margin, clock=clock
        )
        self._client._closables.add(cache)
        return cache
