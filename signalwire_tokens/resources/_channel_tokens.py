"""``client.chat_tokens`` and ``client.pubsub_tokens``: mint tokens on channels one at a time or in concurrent
batches (the platform REST API). The two families share one schema; only the path and the classes differ."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._batch import BatchStream, Progress
from .._errors import UnexpectedResponseError
from .._http import NO_EXTENSIONS, Extensions, JsonBody, Response
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

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["ChannelTokens", "ChatTokens", "PubSubTokens"]

RequestT = TypeVar("RequestT", bound=ChannelTokenRequest)
TokenT = TypeVar("TokenT", bound=ChannelToken)


def _minted(response: Response) -> str:
    """The token of the documented success body of both families, ``{"token": "<JWT>"}``. Read by hand: it is
    read once per minted token, and the generic converter costs more than the whole check."""
    try:
        token = json.loads(response.body)["token"]
    except (ValueError, TypeError, KeyError):
        token = None
    if not isinstance(token, str):
        raise UnexpectedResponseError(
            f"the API answered {response.status} to {response.request.operation} with a body that is not"
            ' {"token": "<a string>"}'
        )
    return token


class ChannelTokens(Generic[RequestT, TokenT]):
    """One family of tokens on channels: ``POST`` to ``path``, with ``request_class`` in and ``token_class`` out."""

    def __init__(
        self,
        client: SignalWireClient,
        path: str,
        operation: str,
        request_class: type[RequestT],
        token_class: type[TokenT],
    ) -> None:
        self._client = client
        self._url = client.url(path)
        self._operation = operation
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

    async def mint(self, request: ChannelTokenRequest, extensions: Extensions = NO_EXTENSIONS) -> TokenT:
        """Mint the token a prepared request describes (``extensions``: per-call facts for the chain, such as a
        batch's flow control)."""
        # Taken before sending, so expires_at is never later than the expiry the API sets.
        sent_at = datetime.now(timezone.utc)
        body = JsonBody(unstructure_channel_request(request))
        response = await self._client.send("POST", self._url, self._operation, body=body, extensions=extensions)
        return self._token_class(_minted(response), request.member_id, sent_at + timedelta(minutes=request.ttl))

    def create_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> BatchStream[TokenT]:
        """Mint many tokens, at most ``concurrency`` at once, yielding a :class:`BatchItem` as each completes.

        The input (requests, or dicts of their fields) is pulled lazily; a failed item carries its error instead of
        raising; stopping early cancels whatever is in flight. ``max_rate`` caps the requests started per second
        (retries included). A 429 is a wait, not a failure: the row is retried after its ``Retry-After`` without
        spending ``max_attempts`` or the retry budget (while the policy's deadline allows), the whole batch starts
        nothing meanwhile, and its concurrency halves, growing back by one per round of successes.
        ``progress`` is called with a :class:`BatchProgress` after each item; ``ordered=True`` yields in input
        order (an item finished early waits, at most ``concurrency`` of them).
        """
        return BatchStream(
            self.mint,
            requests,
            as_request=self._as_request,
            concurrency=concurrency,
            max_rate=max_rate,
            progress=progress,
            ordered=ordered,
        )

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
