# mypy: disable-error-code="empty-body"
# (Each @blocking method is a declaration: blocking() gives it the async method as its body.)
"""``client.fabric`` of :class:`SyncSignalWireClient`: Call Fabric tokens and the subscriber token cache, blocking.
Each call is the async resource's own method (``_blocking``), run on the client's loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

from ..resources.fabric import (
    EmbedToken,
    EmbedTokens,
    Fabric,
    GuestToken,
    GuestTokens,
    InviteToken,
    InviteTokens,
    Region,
    SubscriberScope,
    SubscriberToken,
    SubscriberTokenCache,
    SubscriberTokenRequest,
    SubscriberTokens,
)
from ._blocking import Blocking, blocking
from ._cache import SyncTokenCache
from ._minting import SyncMintingFamily
from ._portal import Portal

__all__ = ["SyncFabric", "SyncSubscriberTokenCache", "SyncSubscriberTokens"]


class SyncSubscriberTokens(SyncMintingFamily[SubscriberTokens, SubscriberTokenRequest, SubscriberToken]):
    """``client.fabric.subscriber_tokens``, blocking."""

    @blocking(SubscriberTokens.create)
    def create(
        self,
        reference: str,
        *,
        expire_at: datetime | float | None = None,
        application_id: str | None = None,
        password: str | None = None,
        fingerprint: str | None = None,
        scope: SubscriberScope | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        display_name: str | None = None,
        job_title: str | None = None,
        time_zone: str | None = None,
        country: str | None = None,
        region: Region | None = None,
        company_name: str | None = None,
    ) -> SubscriberToken:
        """Make or update a subscriber and mint its access token (see ``SignalWireClient``'s
        ``fabric.subscriber_tokens.create``)."""

    @blocking(SubscriberTokens.refresh)
    def refresh(self, refresh_token: str | SubscriberToken) -> SubscriberToken:
        """Exchange a refresh token (or the token holding it) for a new pair; not repeated after an unknown
        outcome (a refresh token works once)."""

    def cache(
        self,
        *,
        max_entries: int = 10_000,
        refresh_margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> SyncSubscriberTokenCache:
        """A :class:`SubscriberTokenCache` for blocking callers, closed when the client closes; its background
        refreshes run on the client's loop, between your calls."""
        # Made on the loop's thread: the client's registry of what to close is the loop's to touch.
        cache = self._portal.call(
            self._target.cache, max_entries=max_entries, refresh_margin=refresh_margin, clock=clock
        )
        return SyncSubscriberTokenCache(self._portal, cache)


class SyncSubscriberTokenCache(SyncTokenCache[SubscriberTokenCache]):
    """A :class:`SubscriberTokenCache` for blocking callers: the same keys, margin, single flight (across threads
    too) and refresh ahead; ``repr`` shows counts only."""

    @blocking(SubscriberTokenCache.get)
    def get(
        self,
        reference: str,
        *,
        expire_at: datetime | float | None = None,
        application_id: str | None = None,
        password: str | None = None,
        fingerprint: str | None = None,
        scope: SubscriberScope | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        display_name: str | None = None,
        job_title: str | None = None,
        time_zone: str | None = None,
        country: str | None = None,
        region: Region | None = None,
        company_name: str | None = None,
    ) -> SubscriberToken:
        """The cached token for these arguments while it has more than the refresh margin left, else a new one."""

    def invalidate(self, *, reference: str) -> int:
        """Drop every entry of the subscriber ``reference``; returns how many were dropped."""
        return self._portal.call(self._target.invalidate, reference=reference)

    @property
    def creates(self) -> int:
        """Requests to create a token."""
        return self._target.creates

    @property
    def renewals(self) -> int:
        """Requests to refresh a token with its refresh token."""
        return self._target.renewals


class SyncGuestTokens(Blocking[GuestTokens]):
    """``client.fabric.guest_tokens``, blocking."""

    @blocking(GuestTokens.create)
    def create(
        self,
        allowed_addresses: Iterable[str],
        expire_at: datetime | float | None = None,
        *,
        region: Region | None = None,
        ch: Region | None = None,
    ) -> GuestToken:
        """Mint a guest token for up to 10 addresses."""


class SyncEmbedTokens(Blocking[EmbedTokens]):
    """``client.fabric.embed_tokens``, blocking: no credentials are sent."""

    @blocking(EmbedTokens.create)
    def create(self, c2c_token: str) -> EmbedToken:
        """Exchange a Click-to-Call token for a short-lived guest token."""


class SyncInviteTokens(Blocking[InviteTokens]):
    """``client.fabric.invite_tokens``, blocking: sent with the inviting subscriber's token as Bearer."""

    @blocking(InviteTokens.create)
    def create(
        self, *, address_id: str, subscriber_token: str, expires_at: datetime | float | None = None
    ) -> InviteToken:
        """Mint an invite to a subscriber's address, as the subscriber whose token ``subscriber_token`` is."""


class SyncFabric:
    """``client.fabric``, blocking: ``subscriber_tokens``, ``guest_tokens``, ``embed_tokens`` and
    ``invite_tokens``."""

    subscriber_tokens: SyncSubscriberTokens
    guest_tokens: SyncGuestTokens
    embed_tokens: SyncEmbedTokens
    invite_tokens: SyncInviteTokens

    def __init__(self, portal: Portal, fabric: Fabric) -> None:
        self.subscriber_tokens = SyncSubscriberTokens(portal, fabric.subscriber_tokens)
        self.guest_tokens = SyncGuestTokens(portal, fabric.guest_tokens)
        self.embed_tokens = SyncEmbedTokens(portal, fabric.embed_tokens)
        self.invite_tokens = SyncInviteTokens(portal, fabric.invite_tokens)
