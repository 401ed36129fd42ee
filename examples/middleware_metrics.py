"""Recipe: writing a middleware. Metrics per call (above retry) and per attempt (below it).

A middleware is ``async def mw(request, call_next) -> Response``. Those given as ``middlewares=`` see one call
however many attempts it takes; ``attempt_middlewares=`` see every attempt, with its raw status.
Run it: ``python examples/middleware_metrics.py`` (offline, against a fake space).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from signalwire_tokens import Handler, Request, Response, SignalWireError
from signalwire_tokens.testing import FakeSignalWire


class Metrics:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}

    async def per_call(self, request: Request, call_next: Handler) -> Response:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await call_next(request)
            outcome = str(response.status)
            return response
        finally:
            self.calls[f"{request.operation} {outcome}"] += 1
            self.seconds[request.operation] = self.seconds.get(request.operation, 0.0) + time.perf_counter() - started

    async def per_attempt(self, request: Request, call_next: Handler) -> Response:
        try:
            response = await call_next(request)
        except SignalWireError as error:  # a transport failure: no status
            self.attempts[f"{request.operation} {type(error).__name__}"] += 1
            raise
        self.attempts[f"{request.operation} {response.status}"] += 1
        return response


async def main() -> None:
    metrics = Metrics()
    async with (
        FakeSignalWire() as fake,
        fake.client(middlewares=[metrics.per_call], attempt_middlewares=[metrics.per_attempt]) as client,
    ):
        fake.fail(502, times=2)
        fake.reset(times=1)
        for n in range(5):
            await client.chat_tokens.create(ttl=5, channels={"lobby": {"read": True}}, member_id=f"m{n}")
    print("calls:   ", dict(metrics.calls))
    print("attempts:", dict(sorted(metrics.attempts.items())))


if __name__ == "__main__":
    asyncio.run(main())
