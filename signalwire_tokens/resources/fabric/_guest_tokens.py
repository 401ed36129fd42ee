"""``client.fabric.guest_tokens``, ``embed_tokens`` and ``invite_tokens``: the Call Fabric tokens for people who are
not subscribers. Each operation states the credentials the spec gives it (``security``), and the chain's last link
applies them: the project's Basic credentials for a guest token, none for an embed token (``security: [{}]``),
and the inviting subscriber's access token as Bearer for an invite (``SignalWireBearerAuth``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequestError
from ..._http import NO_CREDENTIALS, JsonBody, Security
from ..._validate import check_str, check_uuid
from ._models import EmbedToken, GuestToken, InviteToken, Region, expiry, unixtime
from ._read import read_strings

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = ["MAX_ALLOWED_ADDRESSES", "EmbedTokens", "GuestTokens", "InviteTokens", "check_bearer"]

MAX_ALLOWED_ADDRESSES = 10
_REGIONS = ("us-central",)
#: What may follow "Bearer " in a header: RFC 6750's b64token (a SAT, a compact JWE, is one).
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _addresses(value: Any) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            f"allowed_addresses must be a list of address ids (UUIDs), got {type(value).__name__}",
            field="allowed_addresses",
        )
    addresses = [check_uuid("allowed_addresses", address) for address in value]
    if len(addresses) > MAX_ALLOWED_ADDRESSES:
        raise InvalidRequestError(
            f"allowed_addresses holds at most {MAX_ALLOWED_ADDRESSES} address ids, got {len(addresses)}",
            field="allowed_addresses",
        )
    return addresses


def _region(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if value not in _REGIONS:
        raise InvalidRequestError(f"{name} must be one of {', '.join(_REGIONS)}, got {value!r}", field=name)
    return str(value)


def check_bearer(name: str, value: Any) -> str:
    """A token that can travel as ``Authorization: Bearer <token>``; the message never holds the value."""
    token = check_str(name, value, min_length=1)
    if not _B64TOKEN.fullmatch(token):
        raise InvalidRequestError(
            f"{name} must be a subscriber access token (letters, digits and -._~+/ only)", field=name
        )
    return token


class GuestTokens:
    """``POST /api/fabric/guests/tokens``: a guest's token, allowed to reach up to ten Fabric addresses."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._url = client.url("/api/fabric/guests/tokens")

    async def create(
        self,
        allowed_addresses: Iterable[str],
        expire_at: datetime | float | None = None,
        *,
        region: Region | None = None,
        ch: Region | None = None,
    ) -> GuestToken:
        """Mint a guest token for ``allowed_addresses`` (at most 10 address ids). ``expire_at``: an aware datetime
        or POSIX seconds (sent as the integer unixtime); None, the API's two hours. ``region`` and ``ch``: the
        spec's routing overrides. Like a chat token, it is retried: minting one changes nothing a second would
        repeat."""
        body: dict[str, Any] = {"allowed_addresses": _addresses(allowed_addresses)}
        asked = unixtime("expire_at", expire_at)
        for name, value in (("expire_at", asked), ("region", _region("region", region)), ("ch", _region("ch", ch))):
            if value is not None:
                body[name] = value
        expires_at = expiry(asked, datetime.now(timezone.utc))
        response = await self._client.send("POST", self._url, "fabric.guest_tokens.create", body=JsonBody(body))
        token, refresh_token = read_strings(response, "token", "refresh_token")
        return GuestToken(token, refresh_token, expires_at)


class EmbedTokens:
    """``POST /api/fabric/embeds/tokens``: a guest token from a public Click-to-Call token. The spec gives it no
    credentials (``security: [{}]``): the request carries no ``Authorization`` header at all."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._url = client.url("/api/fabric/embeds/tokens")

    async def create(self, c2c_token: str) -> EmbedToken:
        """Exchange the public Click-to-Call token (``c2c_...``) for a short-lived guest token."""
        body = JsonBody({"token": check_str("c2c_token", c2c_token, min_length=1)})
        response = await self._client.send(
            "POST", self._url, "fabric.embed_tokens.create", body=body, security=NO_CREDENTIALS
        )
        (token,) = read_strings(response, "token")
        return EmbedToken(token)


class InviteTokens:
    """``POST /api/fabric/subscriber/invites``: an invite to a subscriber's address, authenticated with the inviting
    subscriber's access token as Bearer (``SignalWireBearerAuth``), never the project's credentials."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._url = client.url("/api/fabric/subscriber/invites")

    async def create(
        self, *, address_id: str, subscriber_token: str, expires_at: datetime | float | None = None
    ) -> InviteToken:
        """Mint an invite to ``address_id`` (a subscriber address), as the subscriber whose access token
        ``subscriber_token`` is. ``expires_at`` (the spec's name for this one): an aware datetime or POSIX seconds;
        None, the API's two hours."""
        body: dict[str, Any] = {"address_id": check_uuid("address_id", address_id)}
        security = Security.bearer_token(check_bearer("subscriber_token", subscriber_token))
        asked = unixtime("expires_at", expires_at)
        if asked is not None:
            body["expires_at"] = asked
        expires_at = expiry(asked, datetime.now(timezone.utc))
        response = await self._client.send(
            "POST", self._url, "fabric.invite_tokens.create", body=JsonBody(body), security=security
        )
        (token,) = read_strings(response, "token")
        return InviteToken(token, expires_at)
