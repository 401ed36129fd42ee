"""The fake space's record of the requests it received, and waiting for them without polling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

__all__ = ["RecordedRequest", "Recorder"]


@attrs.frozen
class RecordedRequest:
    """A request as the fake space received it (headers included, looked up case-insensitively, so tests can check
    the wire)."""

    operation: str
    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    content_type: str
    #: The query string as it arrived (``page_size=50``), or "".
    query: str = ""

    def json(self) -> Any:
        """The body, decoded as JSON."""
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """The body, decoded as a form: its fields in order, a repeated key once per value."""
        return parse_qsl(self.body.decode(), keep_blank_values=True)


class Recorder:
    """Every request in order of arrival, with its arrival time; ``keep`` bounds the record to about the latest N
    (None keeps them all)."""

    def __init__(self, keep: int | None) -> None:
        self._keep = keep
        self.requests: list[RecordedRequest] = []
        #: Arrival times (``loop.time()``), one per kept request.
        self.arrivals: list[float] = []
        #: How many requests arrived in all, the forgotten ones included.
        self.received: int = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def record(self, request: RecordedRequest, now: float) -> None:
        """Keep ``request``, which arrived at ``now``, and wake the waiters it completes."""
        self.requests.append(request)
        self.arrivals.append(now)
        self.received += 1
        if self._keep is not None and len(self.requests) > 2 * self._keep:
            # Trimmed in chunks, so a long-running fake does not copy its whole record on every request.
            del self.requests[: -self._keep], self.arrivals[: -self._keep]
        for count, waiter in self._waiters:
            if count <= self.received and not waiter.done():
                waiter.set_result(None)

    async def wait_for(self, count: int, timeout: float) -> list[RecordedRequest]:
        """The recorded requests, once ``count`` requests have arrived; ``TimeoutError`` after ``timeout`` seconds."""
        if self.received < count:
            entry = (count, asyncio.get_running_loop().create_future())
            self._waiters.append(entry)
            try:
                await asyncio.wait_for(entry[1], timeout)
            except asyncio.TimeoutError:
                # The builtin, also on Python 3.10, where asyncio's TimeoutError is another class.
                raise TimeoutError(f"{self.received} of {count} requests arrived within {timeout:g} s") from None
            finally:
                self._waiters.remove(entry)
        return list(self.requests)
