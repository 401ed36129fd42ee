"""``client.fabric.subscriber_tokens``: subscriber access tokens (SATs), made one at a time or in concurrent batches
(``POST /api/fabric/subscribers/tokens``), renewed with their refresh token
(``POST /api/fabric/subscribers/tokens/refresh``), and cached (:class:`SubscriberTokenCache`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ..._errors import SignalWireError
from ..._http import JsonBody, Response
from ..._validate import check_str
from .._minting import MintingFamily
from ._models import (
    DEFAULT_LIFE,
    SCOPE_ONLY_LIFE,
    Region,
    SubscriberScope,
    SubscriberToken,
    SubscriberTokenRequest,
    as_subscriber_request,
    expiry,
)
from ._read import read_strings
from ._subscriber_cache import SubscriberTokenCache

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = ["CREATE", "REFRESH", "SubscriberTokens"]

CREATE = "fabric.subscriber_tokens.create"
REFRESH = "fabric.subscriber_tokens.refresh"
_MAY_BE_USED = (
    "the refresh token may have been used (a refresh token works once): create a new subscriber token instead"
)


class SubscriberTokens(MintingFamily[SubscriberTokenRequest, SubscriberToken]):
    """Subscriber access tokens: :meth:`create` (making or updating the subscriber), :meth:`refresh`,
    :meth:`create_many` and :meth:`cache`. Authenticated with the project's credentials.

    A create is retried like a chat token, although it writes: the spec says create "sets or updates" the subscriber
    that ``reference`` names (it is the subscriber's identity, so a second attempt finds the same subscriber, never a
    second one), and every field it writes is set to the value asked, so an attempt repeated after an unknown
    outcome leaves the subscriber as one attempt would. What it mints is a token nobody saw, which changes nothing
    for the caller (as with chat tokens). So it is idempotent."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, "/api/fabric/subscribers/tokens", CREATE)
        self._refresh_url = client.url("/api/fabric/subscribers/tokens/refresh")

    async def create(
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
        """Make or update the subscriber ``reference`` names and mint its access token. Every argument is a field of
        ``SubscriberTokenRequest``, checked before anything is sent; one left None is not sent. ``expire_at``: an
        aware datetime or POSIX seconds (sent as the integer unixtime); None, the API's two hours."""
        request = SubscriberTokenRequest(
            reference=reference,
            expire_at=expire_at,
            application_id=application_id,
            password=password,
            fingerprint=fingerprint,
            scope=scope,
            first_name=first_name,
            last_name=last_name,
            display_name=display_name,
            job_title=job_title,
            time_zone=time_zone,
            country=country,
            region=region,
            company_name=company_name,
        )
        return await self.mint(request)

    def _body(self, request: SubscriberTokenRequest) -> dict[str, Any]:
        return request.to_json()

    def _reader(self, request: SubscriberTokenRequest, sent_at: datetime) -> Callable[[Response], SubscriberToken]:
        expires_at = expiry(request.expire_at, sent_at)
        if request.scope == "sat:refresh" and request.fingerprint is None:
            # "If sat:refresh is set without fingerprint, the token's lifetime is limited to 60 seconds."
            expires_at = min(expires_at, sent_at + SCOPE_ONLY_LIFE)

        def read(response: Response) -> SubscriberToken:
            subscriber_id, token, refresh_token = read_strings(response, "subscriber_id", "token", "refresh_token")
            return SubscriberToken(subscriber_id, token, refresh_token, expires_at)

        return read

    def _as_request(self, item: Any) -> SubscriberTokenRequest:
        return as_subscriber_request(item)

    async def refresh(self, refresh_token: str | SubscriberToken) -> SubscriberToken:
        """Exchange a refresh token (or the :class:`SubscriberToken` holding it, whose ``subscriber_id`` the new
        token keeps) for a new access token, valid for two hours, and a new refresh token.

        A refresh token works once, so a refresh is not retried blindly: only where the API cannot have acted on it
        (a connection that never opened, 429, 503); after any other failure the error says the refresh token may
        have been used, and a new :meth:`create` is the way on."""
        held = refresh_token if isinstance(refresh_token, SubscriberToken) else None
        value = check_str("refresh_token", held.refresh_token if held is not None else refresh_token, min_length=1)
        sent_at = datetime.now(timezone.utc)
        body = JsonBody({"refresh_token": value})
        try:
            response = await self._client.send("POST", self._refresh_url, REFRESH, body=body, idempotent=False)
        except SignalWireError as error:
            if not error.outcome_unknown:
                raise
            raise attrs.evolve(error, notes=(*error.notes, _MAY_BE_USED)) from None
        token, new_refresh_token = read_strings(response, "token", "refresh_token")
        subscriber_id = None if held is None else held.subscriber_id
        return SubscriberToken(subscriber_id, token, new_refresh_token, sent_at + DEFAULT_LIFE)

    def cache(
        self, *, max_entries: int = 10_000, refresh_margin: float | None = None, clock: Callable[[], float] = time.time
    ) -> SubscriberTokenCache:
        """A :class:`SubscriberTokenCache` of this client's subscriber tokens, closed when the client closes.

        ``refresh_margin``: seconds of life left at which a token is refreshed in the background (None: the larger
        of 60 seconds and 20 % of its life, at most half of it); ``clock``: the POSIX time expiries are judged by.
        """
        cache = SubscriberTokenCache(
            self.mint, self.refresh, max_entries=max_entries, refresh_margin=refresh_margin, clock=clock
        )
        self._client._closables.add(cache)
        return cache
