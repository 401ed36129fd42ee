"""``signalwire-tokens demo``: a tour of the library against the embedded fake space. Offline, no credentials."""

from __future__ import annotations

import time
from typing import Any

from .._errors import NotFoundError
from .._http import Handler, Request, Response
from .._retry import RetryPolicy
from ..resources._channel_models import ChatTokenRequest
from ..testing import FakeSignalWire
from ._progress import Progress

__all__ = ["demo"]

BATCH = 1000


class _Attempts:
    """An attempt middleware that remembers the status of every attempt, to show a retry happening."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        self.statuses.append(response.status)
        return response


async def demo() -> int:
    timings: dict[str, float] = {}
    attempts = _Attempts()

    def step(title: str) -> None:
        print(f"\n== {title}")

    # The real retry policy, waits included: the retried fault below waits out its Retry-After.
    async with FakeSignalWire() as fake, fake.client(attempt_middlewares=[attempts], retry=RetryPolicy()) as client:
        print(f"fake SignalWire space on {fake.url} (project {fake.project_id})")

        step("API tokens: create, update, delete")
        started = time.perf_counter()
        token = await client.api_tokens.create(name="demo-bot", permissions=["chat", "messaging"])
        print(f"created  {token!r}")
        token = await client.api_tokens.update(token.id, name="demo-bot-renamed", permissions=["chat"])
        print(f"updated  {token!r}")
        await client.api_tokens.delete(token.id)
        print(f"deleted  {token.id}")
        timings["3 API token calls"] = time.perf_counter() - started

        step("one chat token, and its claims")
        started = time.perf_counter()
        chat = await client.chat_tokens.create(
            ttl=60,
            channels={"lobby": {"read": True}, "room-1": {"read": True, "write": True}},
            member_id="alice",
            state={"display_name": "Alice"},
        )
        timings["1 chat token"] = time.perf_counter() - started
        print(f"minted   {chat!r}")
        claims: dict[str, Any] = fake.decode_chat_token(chat.token)
        print(f"claims   member_id={claims['member_id']!r} channels={claims['ch']} state={claims['s']}")

        step(f"a batch of {BATCH:,} chat tokens")
        requests = (
            ChatTokenRequest(ttl=30, channels={"lobby": {"read": True}}, member_id=f"user-{n}") for n in range(BATCH)
        )
        started = time.perf_counter()
        ok = 0
        with Progress(BATCH, "minting") as progress:
            async for item in client.chat_tokens.create_many(requests, concurrency=32, progress=progress.update):
                ok += item.ok
        timings[f"{BATCH:,} chat tokens"] = elapsed = time.perf_counter() - started
        print(f"{ok:,} of {BATCH:,} minted in {elapsed:.2f} s ({BATCH / elapsed:,.0f} tokens/s)")

        step("a handled error")
        try:
            await client.api_tokens.delete(token.id)
        except NotFoundError as error:
            print(f"NotFoundError: status={error.status} code={error.code} message={error.message!r}")

        step("a retried fault")
        fake.fail(503, headers={"Retry-After": "1"}, times=1, operation="chat_tokens.create")
        attempts.statuses.clear()
        started = time.perf_counter()
        await client.chat_tokens.create(ttl=5, channels={"lobby": {"read": True}})
        timings["1 retried chat token"] = time.perf_counter() - started
        print(f"attempt statuses: {attempts.statuses} (the 503 was retried after waiting its Retry-After of 1 s)")

    step("summary")
    for what, seconds in timings.items():
        print(f"{what:>22s}  {seconds * 1000:8.1f} ms")
    print("everything above ran offline against signalwire_tokens.testing.FakeSignalWire")
    return 0
