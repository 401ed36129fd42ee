"""What a token store is: where the refresh tokens of the browser endpoints live, where a fleet's replicas meet to
refresh one subscriber once, and where requests are counted against ``per_subscriber``.

A store is a small async protocol so that one in the process (:class:`MemoryTokenStore`) and one shared by replicas
(Redis: ``SET NX PX`` for the single flight, encrypted values, a fleet-wide counter) are used the same way.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from .._validate import mask

__all__ = ["StoredSession", "TokenStore"]


@attrs.frozen
class StoredSession:
    """One subscriber's session as a store holds it: the SAT last minted for them and its refresh token, with
    their expiries (aware datetimes). Both tokens are secrets: the repr shows only their ends. A store may forget a
    session once ``refresh_expires_at`` has passed: nothing in it is of use any more."""

    token: str = attrs.field(repr=mask)
    expires_at: datetime
    refresh_token: str = attrs.field(repr=mask)
    refresh_expires_at: datetime


@runtime_checkable
class TokenStore(Protocol):
    """Where :class:`~signalwire_tokens.web.BrowserTokens` keeps what outlives one request.

    Sessions are keyed by the subscriber's ``reference`` (a store that persists them should name them by a keyed
    hash of it, never the reference itself). Rate counters are keyed by a string the caller makes
    (``"subscriber:" + reference`` or ``"address:" + client address``), to be hashed the same way. A store whose
    server is out of reach raises a :class:`~signalwire_tokens.TransportError` (such as
    :class:`~signalwire_tokens.RateLimiterError`) from :meth:`admit`: the mount then answers 503, and never lets a
    request past an uncounted limit.
    """

    async def get(self, reference: str) -> StoredSession | None:
        """The session stored for ``reference``, or None (none stored, or its refresh token expired)."""
        ...

    async def put(self, reference: str, session: StoredSession) -> None:
        """Store ``session`` for ``reference``, replacing any; kept until its refresh token expires."""
        ...

    async def delete(self, reference: str) -> None:
        """Forget the session of ``reference`` (its refresh token was refused or may have been used)."""
        ...

    def single_flight(self, reference: str) -> AbstractAsyncContextManager[None]:
        """A lock on ``reference`` across every user of the store: held while a session is read, refreshed and
        stored again, so a refresh token (which works once) is spent by one holder. A store shared by processes
        bounds the lock's life, so a holder that died blocks nobody for long."""
        ...

    async def admit(self, key: str, limit: int, period: float) -> float | None:
        """Count one request of ``key`` if fewer than ``limit`` were counted in the last ``period`` seconds and
        return None; else count nothing and return the seconds until one more would be admitted."""
        ...

    async def aclose(self) -> None:
        """Release what the store holds open (connections); the memory store holds none."""
        ...
