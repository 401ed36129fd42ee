# mypy: disable-error-code="empty-body"
# (Each @blocking method is a declaration: blocking() gives it the async method as its body.)
"""The resources of :class:`SyncSignalWireClient`: each call is the async resource's own method, with the same
parameters, checks, defaults and results, run on the client's loop while the calling thread waits (``_blocking``).
Each is declared here, so that type checkers and ``help()`` see real signatures; only what returns something
asynchronous (a batch, a cache) has a body of its own, its blocking twin."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from ..resources._api_token_models import ApiToken
from ..resources._api_tokens import PermissionsInput, _TokenAdmin
from ..resources._channel_models import ChannelsInput, ChannelToken, ChannelTokenRequest
from ..resources._channel_tokens import ChannelTokens
from ..resources._chat_cache import ChatTokenCache
from ._blocking import Blocking, blocking
from ._cache import SyncTokenCache
from ._minting import SyncMintingFamily

__all__ = ["SyncChannelTokens", "SyncChatTokenCache", "SyncTokenAdmin"]

RequestT = TypeVar("RequestT", bound=ChannelTokenRequest)
TokenT = TypeVar("TokenT", bound=ChannelToken)


class SyncTokenAdmin(Blocking[_TokenAdmin]):
    """``client.api_tokens`` (compatibility API) and ``client.project_tokens`` (platform API), blocking."""

    @blocking(_TokenAdmin.create)
    def create(self, name: str, permissions: PermissionsInput, subproject_id: str | None = None) -> ApiToken:
        """Create an API token. Not idempotent: retried only where the API cannot have acted on it."""

    @blocking(_TokenAdmin.update)
    def update(
        self, token_id: str, *, name: str | None = None, permissions: PermissionsInput | None = None
    ) -> ApiToken:
        """Change a token's name and/or permissions; fields left out are kept."""

    @blocking(_TokenAdmin.delete)
    def delete(self, token_id: str) -> None:
        """Delete a token. A 404 on a retry, after an attempt whose outcome was unknown, counts as deleted."""


class SyncChannelTokens(
    SyncMintingFamily[ChannelTokens[RequestT, TokenT], ChannelTokenRequest, TokenT], Generic[RequestT, TokenT]
):
    """``client.chat_tokens`` and ``client.pubsub_tokens``, blocking."""

    @blocking(ChannelTokens[RequestT, TokenT].create)
    def create(
        self,
        ttl: int,
        channels: ChannelsInput,
        member_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> TokenT:
        """Mint one token valid for ``ttl`` minutes on ``channels``."""

    def cache(
        self, *, max_entries: int = 10_000, refresh_margin: float | None = None, clock: Callable[[], float] = time.time
    ) -> SyncChatTokenCache[TokenT]:
        """A :class:`SyncChatTokenCache` minting this family's tokens through this client, closed when the client
        closes; its background refreshes run on the client's loop, between your calls."""
        # Made on the loop's thread: the client's registry of what to close is the loop's to touch.
        cache = self._portal.call(
            self._target.cache, max_entries=max_entries, refresh_margin=refresh_margin, clock=clock
        )
        return SyncChatTokenCache(self._portal, cache)


class SyncChatTokenCache(SyncTokenCache[ChatTokenCache[TokenT]], Generic[TokenT]):
    """A :class:`ChatTokenCache` for blocking callers: the same keys, margin, single flight (across threads too: a
    cache is shared by every thread that uses it) and refresh ahead; ``repr`` shows counts only."""

    @blocking(ChatTokenCache[TokenT].get)
    def get(
        self,
        ttl: int,
        channels: ChannelsInput,
        member_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> TokenT:
        """The cached token for these arguments while it has more than the refresh margin left, else a new one."""

    def invalidate(self, *, member_id: str) -> int:
        """Drop every entry of ``member_id``; returns how many were dropped."""
        return self._portal.call(self._target.invalidate, member_id=member_id)
