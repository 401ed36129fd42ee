"""``client.fabric``: Call Fabric tokens (``/api/fabric/...``): subscriber access tokens with their refresh tokens
and cache, guest tokens, Click-to-Call embed tokens and subscriber invites."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._guest_tokens import EmbedTokens, GuestTokens, InviteTokens
from ._models import (
    EmbedToken,
    GuestToken,
    InviteToken,
    Region,
    SubscriberScope,
    SubscriberToken,
    SubscriberTokenRequest,
)
from ._subscriber_cache import SubscriberTokenCache
from ._subscriber_tokens import SubscriberTokens

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = [
    "EmbedToken",
    "EmbedTokens",
    "Fabric",
    "GuestToken",
    "GuestTokens",
    "InviteToken",
    "InviteTokens",
    "Region",
    "SubscriberScope",
    "SubscriberToken",
    "SubscriberTokenCache",
    "SubscriberTokenRequest",
    "SubscriberTokens",
]


class Fabric:
    """The Call Fabric token operations: ``subscriber_tokens``, ``guest_tokens``, ``embed_tokens`` and
    ``invite_tokens``."""

    subscriber_tokens: SubscriberTokens
    guest_tokens: GuestTokens
    embed_tokens: EmbedTokens
    invite_tokens: InviteTokens

    def __init__(self, client: SignalWireClient) -> None:
        self.subscriber_tokens = SubscriberTokens(client)
        self.guest_tokens = GuestTokens(client)
        self.embed_tokens = EmbedTokens(client)
        self.invite_tokens = InviteTokens(client)
