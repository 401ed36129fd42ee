"""A cache of subscriber access tokens: one valid SAT per subscriber and request, on the machinery every token cache
shares (single flight, refresh ahead, errors never cached, an LRU that never evicts a mint in flight, an injected
clock). Ahead of expiry a SAT is renewed with its refresh token, not made again."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from ..._errors import ApiError, SignalWireError
from .._token_cache import TokenCache
from ._models import REFRESH_TOKEN_EXTRA_LIFE, Region, SubscriberScope, SubscriberToken, SubscriberTokenRequest

__all__ = ["SubscriberTokenCache"]

log = logging.getLogger("signalwire_tokens")


def _refused(error: SignalWireError) -> bool:
    """Whether a refresh failed in a way a new create answers: the API refused the refresh token (expired, used,
    unknown: a 4xx other than 429), or the refresh may have used it up (an unknown outcome)."""
    if isinstance(error, ApiError) and 400 <= error.status < 500 and error.status != 429:
        return True
    return error.outcome_unknown


class SubscriberTokenCache(TokenCache[SubscriberTokenRequest, SubscriberTokenRequest, SubscriberToken]):
    """Subscriber access tokens by everything that goes into them (``reference``, ``application_id`` and every
    other field of the request), refreshed ahead of expiry, one request per key at a time.

    Made by ``client.fabric.subscriber_tokens.cache()``; ``get`` takes the arguments of ``create``. Inside the
    refresh margin the held token is served at once while one refresh runs in the background, with its refresh
    token; a refresh token that has expired (by the cache's clock: five minutes after its access token) or is
    refused is replaced by a new create. ``hits``, ``misses`` and ``refreshes`` count as for the chat token cache;
    ``creates`` and ``renewals`` count the two kinds of request made. Closing the client closes the cache.
    """

    #: Requests to create a token (a new key, or a refresh token that could not be used).
    creates: int
    #: Requests to refresh a token with its refresh token.
    renewals: int

    def __init__(
        self,
        create: Callable[[SubscriberTokenRequest], Awaitable[SubscriberToken]],
        refresh: Callable[[SubscriberToken], Awaitable[SubscriberToken]],
        *,
        max_entries: int = 10_000,
        refresh_margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(max_entries=max_entries, refresh_margin=refresh_margin, clock=clock)
        self._create = create
        self._refresh = refresh
        self.creates = 0
        self.renewals = 0

    async def get(
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
        """A token for these arguments (those of ``create``): the cached one while it has more than the refresh
        margin left; inside the margin, the cached one at once while one refresh runs in the background; else (none
        yet, or expired) a new one, one request shared by every concurrent caller of the same arguments."""
        # Built first, so bad input is refused with its field before anything else happens.
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
        return await self._get(request, request)

    def invalidate(self, *, reference: str) -> int:
        """Drop every entry of the subscriber ``reference`` (a refresh in flight for them keeps its result to
        itself); returns how many were dropped."""
        return self._drop(lambda key: key.reference == reference)

    async def _renew(self, request: SubscriberTokenRequest, held: SubscriberToken | None) -> SubscriberToken:
        if held is not None and self._clock() < (held.expires_at + REFRESH_TOKEN_EXTRA_LIFE).timestamp():
            self.renewals += 1
            try:
                return await self._refresh(held)
            except SignalWireError as error:
                if not _refused(error):
                    raise
                # Only the error's type: nothing of the subscriber or the tokens is logged.
                log.info("token cache: a refresh failed (%s); creating a new subscriber token", type(error).__name__)
        self.creates += 1
        return await self._create(request)

    def _life(self, request: SubscriberTokenRequest, token: SubscriberToken) -> float:
        return max(0.0, token.expires_at.timestamp() - self._clock())
