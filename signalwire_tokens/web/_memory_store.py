"""The store of one process: sessions in a dict that forgets each when its refresh token expires, a lock per
subscriber that exists while someone holds or waits for it, and sliding-window counters that go when they empty."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

from ._store import StoredSession

__all__ = ["MemoryTokenStore"]


class MemoryTokenStore:
    """A :class:`~signalwire_tokens.web.TokenStore` in this process (the default of
    :class:`~signalwire_tokens.web.BrowserTokens`): right for one replica; several need a store they share.

    Nothing grows without bound: a session is dropped once its refresh token has expired (on reading it, and by a
    sweep at most once a minute), a subscriber's lock is dropped when its last holder leaves, and a rate counter
    holds at most ``limit`` times and is dropped once its window has passed. ``clock`` (POSIX seconds) decides every
    expiry and window, so tests move time instead of sleeping.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._sessions: dict[str, StoredSession] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        #: Per rate key, its window's length and the times it admitted, oldest first.
        self._windows: dict[str, tuple[float, collections.deque[float]]] = {}
        self._swept_at = clock()

    def __repr__(self) -> str:
        return f"MemoryTokenStore(sessions={len(self._sessions)})"

    def __len__(self) -> int:
        """How many sessions are stored (expired ones not yet swept included)."""
        return len(self._sessions)

    def _expired(self, session: StoredSession) -> bool:
        return session.refresh_expires_at <= datetime.fromtimestamp(self._clock(), timezone.utc)

    def _sweep(self) -> None:
        # Amortised: a full pass at most once a minute, so a session nobody asks for again is still forgotten.
        now = self._clock()
        if now - self._swept_at < 60.0:
            return
        self._swept_at = now
        for reference in [r for r, session in self._sessions.items() if self._expired(session)]:
            del self._sessions[reference]
        for key in [k for k, (period, times) in self._windows.items() if not times or times[-1] <= now - period]:
            del self._windows[key]

    async def get(self, reference: str) -> StoredSession | None:
        """The session stored for ``reference``, or None once its refresh token has expired."""
        self._sweep()
        session = self._sessions.get(reference)
        if session is not None and self._expired(session):
            del self._sessions[reference]
            return None
        return session

    async def put(self, reference: str, session: StoredSession) -> None:
        """Store ``session`` for ``reference`` until its refresh token expires."""
        self._sweep()
        self._sessions[reference] = session

    async def delete(self, reference: str) -> None:
        """Forget the session of ``reference``."""
        self._sessions.pop(reference, None)

    @contextlib.asynccontextmanager
    async def single_flight(self, reference: str) -> AsyncIterator[None]:
        """Hold the lock of ``reference`` (an :class:`asyncio.Lock`, made on first use, dropped with its last
        user)."""
        lock, users = self._locks.get(reference) or (asyncio.Lock(), 0)
        self._locks[reference] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[reference]
            if users == 1:
                del self._locks[reference]
            else:
                self._locks[reference] = (lock, users - 1)

    async def admit(self, key: str, limit: int, period: float) -> float | None:
        """Count one request of ``key`` in a sliding window of ``period`` seconds, or say how long to wait."""
        self._sweep()
        now = self._clock()
        _, times = self._windows.get(key) or (period, collections.deque[float]())
        self._windows[key] = (period, times)
        while times and times[0] <= now - period:
            times.popleft()
        if len(times) >= limit:
            return max(times[0] + period - now, 0.0)
        times.append(now)
        return None

    async def aclose(self) -> None:
        """Nothing to release: everything lives in this process's memory."""
