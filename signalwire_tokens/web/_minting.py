"""The tokens the routes mint, through the client like any application: subscriber SATs (bound to the browser by
its fingerprint, or renewed by the backend with a stored refresh token), guest SATs, room and chat tokens. Every
SAT asks for two hours less a random share of up to ``expiry_jitter`` of them, so a cohort's sessions spread out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import attrs

from .._errors import ApiError, SignalWireError
from ..resources.fabric import SubscriberToken
from ..resources.fabric._models import DEFAULT_LIFE, REFRESH_TOKEN_EXTRA_LIFE
from ._failures import is_unavailable
from ._store import StoredSession, TokenStore
from ._subscriber import Subscriber

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["Minted", "Minter"]

logger = logging.getLogger("signalwire_tokens.web")

#: A minted token as a browser gets it: the token and its expiry (None for a room token, which has none).
Minted = tuple[str, datetime | None]


def _retrieve(swap: asyncio.Future[Minted]) -> None:
    # A swap whose request was cancelled has nobody to raise to: its failure is logged where it happened.
    swap.cancelled() or swap.exception()


class Minter:
    """Mints for the routes of one mount: ``clock`` (POSIX seconds) and ``random`` (in [0, 1)) decide each SAT's
    ``expire_at``; refresh tokens live in ``store``."""

    def __init__(
        self,
        client: SignalWireClient,
        store: TokenStore,
        *,
        expiry_jitter: float,
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self._client = client
        self._store = store
        self._jitter = expiry_jitter
        self._clock = clock
        self._random = random

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)

    def expire_at(self) -> float:
        """A SAT's ``expire_at``: two hours ahead, less a random share of up to ``expiry_jitter`` of them."""
        life = DEFAULT_LIFE.total_seconds()
        return self._clock() + life - self._random() * self._jitter * life

    async def bound(self, subscriber: Subscriber, fingerprint: str) -> Minted:
        """A SAT bound to the browser that holds ``fingerprint``, which refreshes it itself: nothing stored."""
        request = subscriber.token_request(expire_at=self.expire_at(), scope="sat:refresh", fingerprint=fingerprint)
        sat = await self._client.fabric.subscriber_tokens.mint(request)
        return sat.token, sat.expires_at

    async def session(self, subscriber: Subscriber) -> Minted:
        """A default-scope SAT whose refresh token is stored (replacing any) for ``fabric/refresh``.

        Without the subscriber's lock: it spends no refresh token, and what it stores is a pair nobody has used, so
        every interleaving with others leaves an unspent refresh token stored. Two sessions made at once each store
        theirs, the last one stays, and either serves every tab (a refresh answers for the subscriber, not the tab).
        Beside a refresh in flight: stored before the refresh stores, it is replaced by the refresh's new pair, also
        unspent; stored after, it replaces that pair, which is then unused; and a refresh that ends by forgetting
        the session (its token perhaps spent) may forget this one too, which costs the next refresh a new session
        and nothing else. The lock would add nothing but a wait (and a round trip to a shared store)."""
        request = subscriber.token_request(expire_at=self.expire_at())
        sat = await self._client.fabric.subscriber_tokens.mint(request)
        await self._keep(subscriber, sat)
        return sat.token, sat.expires_at

    async def _keep(self, subscriber: Subscriber, sat: SubscriberToken) -> None:
        # "The new refresh token outlives it by five minutes so the swap has slack."
        session = StoredSession(sat.token, sat.expires_at, sat.refresh_token, sat.expires_at + REFRESH_TOKEN_EXTRA_LIFE)
        await self._store.put(subscriber.reference, session)

    async def refresh(self, subscriber: Subscriber) -> Minted:
        """The stored session renewed: its refresh token swapped for a new pair; with none stored, or one
        SignalWire refuses, a new session. One at a time per subscriber, across the store, since a refresh token
        works once: a refresh that waited for another in flight answers the session that one stored.

        The swap runs to its end even when the request asking for it is cancelled (its browser went away): once
        the refresh token is sent it may be spent, and only storing its successor keeps the session alive."""
        swap = asyncio.ensure_future(self._refresh(subscriber))
        swap.add_done_callback(_retrieve)
        return await asyncio.shield(swap)

    async def _refresh(self, subscriber: Subscriber) -> Minted:
        # Read before the lock: a session that differs once the lock is held was stored by a refresh (or a sign-in)
        # that ran while this one waited, and is the one to answer, its refresh token unspent.
        seen = await self._store.get(subscriber.reference)
        async with self._store.single_flight(subscriber.reference):
            stored = await self._store.get(subscriber.reference)
            now = self._now()
            if stored is not None and stored != seen and stored.expires_at > now:
                return stored.token, stored.expires_at
            if stored is None or stored.refresh_expires_at <= now:
                return await self.session(subscriber)
            try:
                sat = await self._client.fabric.subscriber_tokens.refresh(stored.refresh_token)
                # Its two hours by this mount's clock, which judges every expiry here (taken before the answer came,
                # so never later than the API's).
                sat = attrs.evolve(sat, expires_at=now + DEFAULT_LIFE)
            except SignalWireError as error:
                if error.outcome_unknown:
                    # The refresh token may have been spent: it is of no use to anyone any more.
                    await self._store.delete(subscriber.reference)
                if is_unavailable(error) or not isinstance(error, ApiError):
                    raise
                logger.info("fabric/refresh: the stored refresh token was refused (%s): a new SAT instead", error)
                await self._store.delete(subscriber.reference)
                return await self.session(subscriber)
            await self._keep(subscriber, sat)
            return sat.token, sat.expires_at

    async def guest(self, addresses: Sequence[str]) -> Minted:
        """A guest SAT for ``addresses`` (Fabric address ids)."""
        guest = await self._client.fabric.guest_tokens.create(list(addresses), self.expire_at())
        return guest.token, guest.expires_at
