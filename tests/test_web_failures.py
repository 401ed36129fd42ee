"""A mint that fails: SignalWire unavailable, rate-limited or too slow after the client's retries is a 503 with
``Retry-After`` (the API's own when it gave one); any other failure a 502. Neither carries SignalWire's error body."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from signalwire_tokens import RateLimiterError, RetryPolicy, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire, fast_retries
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore

from .test_web_refusals import assert_refusal
from .web_support import ADAPTERS, identify, serve

SECRET_BODY = {"errors": [{"type": "x", "code": "y", "message": "SIGNALWIRE-OWN-WORDS", "attribute": None, "url": ""}]}


def rate_limited(fake: FakeSignalWire) -> None:
    fake.fail(429, headers={"Retry-After": "7"}, times=10)


def unavailable(fake: FakeSignalWire) -> None:
    fake.fail(503, headers={"Retry-After": "13"}, times=10)


def bad_gateway(fake: FakeSignalWire) -> None:
    fake.fail(502, times=10)


def unreachable(fake: FakeSignalWire) -> None:
    fake.reset(times=10)


def too_slow(fake: FakeSignalWire) -> None:
    fake.delay(5.0, times=10)


def internal_error(fake: FakeSignalWire) -> None:
    fake.fail(500, body=SECRET_BODY, times=10)


def refused(fake: FakeSignalWire) -> None:
    fake.fail(422, body=SECRET_BODY, times=10)


def unauthorized(fake: FakeSignalWire) -> None:
    fake.fail(401, times=10)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(
    ("fault", "status", "retry_after"),
    [
        (rate_limited, 503, "7"),
        (unavailable, 503, "13"),
        (bad_gateway, 503, "5"),
        (unreachable, 503, "5"),
        (too_slow, 503, "5"),
        (internal_error, 502, None),
        (refused, 502, None),
        (unauthorized, 502, None),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
async def test_a_failed_mint_is_a_503_or_a_502_without_signalwires_body(
    adapter: str,
    fault: Callable[[FakeSignalWire], None],
    status: int,
    retry_after: str | None,
    fake: FakeSignalWire,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault(fake)
    async with fake.client(timeout=0.05, retry=RetryPolicy(max_attempts=2)) as client:
        tokens = BrowserTokens(client, identify=identify)
        with fast_retries(), caplog.at_level(logging.INFO, logger="signalwire_tokens.web"):
            async with serve(tokens, adapter) as browser:
                reply = await browser.post("fabric/token")
    assert_refusal(reply, status)
    assert reply.headers.get("Retry-After") == retry_after
    assert b"SIGNALWIRE-OWN-WORDS" not in reply.body
    assert fake.api_token.encode() not in reply.body
    # The log says what happened: the error's type.
    assert any(record.levelno >= logging.WARNING and "fabric/token" in record.getMessage() for record in caplog.records)


async def test_an_unavailable_refresh_keeps_the_stored_session(client: SignalWireClient, fake: FakeSignalWire) -> None:
    now = [time.time()]
    tokens = BrowserTokens(client, identify=identify, clock=lambda: now[0])
    async with serve(tokens, "asgi") as browser:
        await browser.post("fabric/token")
        stored = await tokens.store.get("alice@example.com")
        now[0] += 1.7 * 3600
        fake.fail(429, headers={"Retry-After": "3"}, times=10)
        with fast_retries(max_attempts=1):
            reply = await browser.post("fabric/refresh")
        assert_refusal(reply, 503)
        assert await tokens.store.get("alice@example.com") == stored


async def test_a_refresh_lost_on_the_way_forgets_the_refresh_token_it_may_have_spent(fake: FakeSignalWire) -> None:
    now = [time.time()]
    async with fake.client(retry=RetryPolicy.disabled()) as client:
        tokens = BrowserTokens(client, identify=identify, clock=lambda: now[0])
        async with serve(tokens, "aiohttp") as browser:
            await browser.post("fabric/token")
            now[0] += 1.7 * 3600
            fake.reset(operation="fabric.subscriber_tokens.refresh", after_processing=True)
            reply = await browser.post("fabric/refresh")
            assert_refusal(reply, 503)
            assert await tokens.store.get("alice@example.com") is None


class UnreachableStore(MemoryTokenStore):
    """A shared store whose server is down: counting a request fails as the library's own errors do."""

    async def admit(self, key: str, limit: int, period: float) -> float | None:
        raise RateLimiterError("the store's server is unreachable", request_sent=False)


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_store_out_of_reach_is_a_503_and_nothing_minted(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(client, identify=identify, store=UnreachableStore())
    async with serve(tokens, adapter) as browser:
        reply = await browser.post("fabric/token")
    assert_refusal(reply, 503)
    assert reply.headers["Retry-After"] == "5"
    assert fake.requests == []
