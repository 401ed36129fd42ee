"""``fabric/refresh``: the stored refresh token swapped for a new pair, once per subscriber however many tabs ask at
at once (every refresh after the one in flight ended swaps again); none stored, expired or refused: a new SAT as
``fabric/token`` makes. A refresh token never reaches the browser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore

from .test_web_adapters import JSON_POST, Exchange, http_scope
from .web_support import ADAPTERS, ALICE, Browser, identify, serve


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryTokenStore:
    return MemoryTokenStore(clock=clock)


@pytest.fixture(params=ADAPTERS)
async def browser(
    request: pytest.FixtureRequest, client: SignalWireClient, store: MemoryTokenStore, clock: Clock
) -> AsyncIterator[Browser]:
    tokens = BrowserTokens(client, identify=identify, store=store, clock=clock, per_subscriber=(100, 60.0))
    async with serve(tokens, str(request.param)) as opened:
        yield opened


def operations(fake: FakeSignalWire) -> list[str]:
    return [request.operation for request in fake.requests]


async def test_a_session_stores_the_refresh_token_never_answering_it(
    browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire
) -> None:
    reply = await browser.post("fabric/token")
    stored = await store.get(ALICE)
    assert stored is not None
    assert stored.token == reply.json()["token"]
    assert stored.refresh_token in fake.fabric.refresh_tokens
    assert stored.refresh_token.encode() not in reply.body
    # "the new refresh token outlives it by five minutes"
    assert (stored.refresh_expires_at - stored.expires_at).total_seconds() == 300


async def test_a_refresh_near_expiry_swaps_the_refresh_token_and_stores_the_new_one(
    browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire, clock: Clock
) -> None:
    first = (await browser.post("fabric/token")).json()
    old = await store.get(ALICE)
    clock.now += 1.7 * 3600
    reply = await browser.post("fabric/refresh")
    assert reply.status == 200, reply.body
    assert operations(fake) == ["fabric.subscriber_tokens.create", "fabric.subscriber_tokens.refresh"]
    assert fake.requests[1].json() == {"refresh_token": old.refresh_token if old else None}
    body = reply.json()
    assert set(body) == {"token", "expiresAt"}
    assert body["token"] != first["token"]
    assert fake.fabric.token(body["token"])["kind"] == "subscriber"
    new = await store.get(ALICE)
    assert new is not None and new.token == body["token"] and new.refresh_token != old.refresh_token  # type: ignore[union-attr]
    assert new.refresh_token.encode() not in reply.body
    # A refresh after that one ended swaps again, with the refresh token it stored.
    clock.now += 5
    again = await browser.post("fabric/refresh")
    assert again.status == 200 and again.json()["token"] != body["token"]
    assert fake.requests[2].json() == {"refresh_token": new.refresh_token}
    assert operations(fake)[1:] == ["fabric.subscriber_tokens.refresh"] * 2


async def test_a_refresh_right_after_a_sign_in_swaps_the_refresh_token_it_stored(
    browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire
) -> None:
    first = (await browser.post("fabric/token")).json()
    stored = await store.get(ALICE)
    again = await browser.post("fabric/refresh")
    assert again.status == 200 and again.json()["token"] != first["token"]
    assert operations(fake) == ["fabric.subscriber_tokens.create", "fabric.subscriber_tokens.refresh"]
    assert stored is not None and fake.requests[1].json() == {"refresh_token": stored.refresh_token}


async def test_a_refresh_with_nothing_stored_mints_a_new_session(
    browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire
) -> None:
    reply = await browser.post("fabric/refresh")
    assert reply.status == 200
    assert operations(fake) == ["fabric.subscriber_tokens.create"]
    assert "scope" not in fake.requests[0].json()
    assert await store.get(ALICE) is not None


async def test_a_refresh_after_the_refresh_token_expired_mints_a_new_session(
    browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire, clock: Clock
) -> None:
    await browser.post("fabric/token")
    clock.now += 2 * 3600 + 301
    assert await store.get(ALICE) is None
    assert len(store) == 0
    assert (await browser.post("fabric/refresh")).status == 200
    assert operations(fake) == ["fabric.subscriber_tokens.create"] * 2


@pytest.mark.parametrize("status", [401, 422])
async def test_a_refused_refresh_token_is_forgotten_and_a_new_session_minted(
    status: int, browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire, clock: Clock
) -> None:
    await browser.post("fabric/token")
    clock.now += 1.7 * 3600
    fake.fail(status, operation="fabric.subscriber_tokens.refresh")
    reply = await browser.post("fabric/refresh")
    assert reply.status == 200, reply.body
    assert operations(fake) == [
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
        "fabric.subscriber_tokens.create",
    ]
    stored = await store.get(ALICE)
    assert stored is not None and stored.token == reply.json()["token"]


async def test_five_tabs_refreshing_at_once_make_one_refresh_call_and_share_its_sat(
    browser: Browser, fake: FakeSignalWire, clock: Clock
) -> None:
    await browser.post("fabric/token")
    clock.now += 1.7 * 3600
    fake.delay(0.05, operation="fabric.subscriber_tokens.refresh")
    replies = await asyncio.gather(*(browser.post("fabric/refresh") for _ in range(5)))
    assert [reply.status for reply in replies] == [200] * 5
    assert len({reply.json()["token"] for reply in replies}) == 1
    assert operations(fake).count("fabric.subscriber_tokens.refresh") == 1
    assert operations(fake).count("fabric.subscriber_tokens.create") == 1


async def test_a_refresh_whose_request_is_cancelled_still_stores_the_new_refresh_token(
    client: SignalWireClient, store: MemoryTokenStore, fake: FakeSignalWire, clock: Clock
) -> None:
    app = BrowserTokens(client, identify=identify, store=store, clock=clock).asgi_app()
    signed_in = [*JSON_POST, (b"cookie", b"session=alice@example.com")]
    body = {"type": "http.request", "body": b"{}", "more_body": False}
    first = Exchange(body)
    await app(http_scope("/fabric/token", headers=signed_in), first.receive, first.send)
    old = await store.get(ALICE)
    clock.now += 1.7 * 3600
    fake.delay(0.05, operation="fabric.subscriber_tokens.refresh")
    refreshing = Exchange(body)
    request = asyncio.ensure_future(
        app(http_scope("/fabric/refresh", headers=signed_in), refreshing.receive, refreshing.send)
    )
    await fake.wait_for_requests(2)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    async with store.single_flight(ALICE):  # taken once the swap has finished
        stored = await store.get(ALICE)
    assert stored is not None and old is not None
    assert stored.refresh_token != old.refresh_token
    assert fake.fabric.refresh_tokens[stored.refresh_token]["used"] is False
    assert refreshing.sent == []


async def test_a_session_is_made_while_the_subscribers_lock_is_held(browser: Browser, store: MemoryTokenStore) -> None:
    # fabric/token spends no refresh token, so it need not wait for a refresh of the same subscriber in flight.
    async with store.single_flight(ALICE):
        reply = await asyncio.wait_for(browser.post("fabric/token"), timeout=5)
    assert reply.status == 200
    stored = await store.get(ALICE)
    assert stored is not None and stored.token == reply.json()["token"]


@pytest.mark.parametrize("slower", ["fabric.subscriber_tokens.refresh", "fabric.subscriber_tokens.create"])
async def test_a_session_made_beside_a_refresh_leaves_an_unspent_refresh_token_stored(
    slower: str, browser: Browser, store: MemoryTokenStore, fake: FakeSignalWire, clock: Clock
) -> None:
    await browser.post("fabric/token")
    clock.now += 1.7 * 3600
    fake.delay(0.05, operation=slower)  # whichever is slower stores last
    first, second = (
        ("fabric/refresh", "fabric/token") if slower.endswith("refresh") else ("fabric/token", "fabric/refresh")
    )
    pending = asyncio.ensure_future(browser.post(first))
    await fake.wait_for_requests(2)
    replies = [await browser.post(second), await pending]
    assert [reply.status for reply in replies] == [200, 200]
    stored = await store.get(ALICE)
    assert stored is not None and stored.token in {reply.json()["token"] for reply in replies}
    assert fake.fabric.refresh_tokens[stored.refresh_token]["used"] is False
    # And the next refresh due swaps it (a spent one would be refused, and a new session made instead).
    clock.now += 1.7 * 3600
    assert (await browser.post("fabric/refresh")).status == 200
    assert operations(fake)[-1] == "fabric.subscriber_tokens.refresh"
