"""The subscriber token cache: the chat token cache's rules (one machinery: single flight, refresh ahead, errors
never cached, LRU, injected clock), keyed by the whole request, and renewed with the held refresh token, falling back
to a new create when that refresh token has expired or is refused.

Time is an injected clock that starts at real time and moves only when a test says so; the API is the in-memory
fake space, whose own clock the tests move too where the API must see the time pass. A SAT lives two hours, so the
default margin is 20 % of it: 1,440 seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from signalwire_tokens import (
    InvalidRequestError,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    SubscriberToken,
    SubscriberTokenCache,
)
from signalwire_tokens.testing import FakeSignalWire

LIFE = 2 * 3600
MARGIN = LIFE * 0.2
APPLICATION = "123e4567-e89b-12d3-a456-426614174000"


class Clock:
    """POSIX seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def settle() -> None:
    """Let every other task of the loop finish: a refresh the cache runs in the background, the fake's work."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    async with FakeSignalWire(in_memory=True) as space:
        yield space


@pytest.fixture
async def client(fake: FakeSignalWire) -> AsyncIterator[SignalWireClient]:
    async with fake.client(retry=RetryPolicy.disabled()) as c:
        yield c


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(client: SignalWireClient, clock: Clock) -> SubscriberTokenCache:
    return client.fabric.subscriber_tokens.cache(clock=clock)


def operations(fake: FakeSignalWire) -> list[str]:
    return [request.operation.rpartition(".")[2] for request in fake.requests]


async def test_a_thousand_concurrent_gets_for_one_subscriber_make_one_request(
    fake: FakeSignalWire, cache: SubscriberTokenCache
) -> None:
    tokens = await asyncio.gather(*(cache.get("alice@example.com") for _ in range(1000)))
    assert operations(fake) == ["create"]
    assert len({token.token for token in tokens}) == 1 and isinstance(tokens[0], SubscriberToken)
    assert (cache.misses, cache.hits, cache.creates, cache.renewals) == (1000, 0, 1, 0)


async def test_a_hit_makes_no_request(fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock) -> None:
    first = await cache.get("alice", application_id=APPLICATION)
    clock.advance(LIFE - MARGIN - 1)  # a second before the margin
    assert await cache.get("alice", application_id=APPLICATION) is first
    assert operations(fake) == ["create"] and cache.hits == 1


async def test_inside_the_margin_one_refresh_not_a_create_renews_the_token(
    fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock
) -> None:
    first = await cache.get("alice")
    clock.advance(LIFE - MARGIN + 1)  # a second inside the margin
    served = await asyncio.gather(*(cache.get("alice") for _ in range(100)))
    assert all(token is first for token in served), "the held token is served at once"
    await settle()
    assert operations(fake) == ["create", "refresh"], "one refresh, with the held refresh token"
    assert fake.requests[1].json() == {"refresh_token": first.refresh_token}
    renewed = await cache.get("alice")
    assert renewed.token != first.token and renewed.subscriber_id == first.subscriber_id
    assert (cache.refreshes, cache.creates, cache.renewals) == (1, 1, 1)


async def test_with_the_refresh_token_expired_one_create_renews_the_token(
    fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock
) -> None:
    first = await cache.get("alice")
    clock.advance(LIFE + 5 * 60 + 1)  # the SAT and its refresh token (five minutes longer) have both expired
    tokens = await asyncio.gather(*(cache.get("alice") for _ in range(50)))
    assert operations(fake) == ["create", "create"], "no refresh is tried with an expired refresh token"
    assert len({token.token for token in tokens}) == 1 and tokens[0].token != first.token
    assert (cache.creates, cache.renewals) == (2, 0)


async def test_an_expired_token_is_renewed_with_its_refresh_token_while_that_still_lives(
    fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock
) -> None:
    first = await cache.get("alice")
    clock.advance(LIFE + 60)  # the SAT expired; its refresh token has four minutes left
    renewed = await cache.get("alice")
    assert operations(fake) == ["create", "refresh"] and renewed.token != first.token


async def test_a_refused_refresh_token_falls_back_to_a_create(
    client: SignalWireClient, fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock
) -> None:
    first = await cache.get("alice")
    await client.fabric.subscriber_tokens.refresh(first)  # someone else used the refresh token: it works once
    clock.advance(LIFE - MARGIN + 1)
    assert await cache.get("alice") is first
    await settle()
    assert operations(fake) == ["create", "refresh", "refresh", "create"]
    assert fake.requests[2].json() == {"refresh_token": first.refresh_token}
    assert (await cache.get("alice")).token != first.token


async def test_a_refresh_the_api_did_not_refuse_is_not_replaced_by_a_create(
    fake: FakeSignalWire, cache: SubscriberTokenCache, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    first = await cache.get("alice")
    clock.advance(LIFE - MARGIN + 1)
    fake.fail(429, operation="fabric.subscriber_tokens.refresh")
    assert await cache.get("alice") is first
    await settle()
    assert operations(fake) == ["create", "refresh"], "a 429 is not a refusal of the refresh token"
    assert "RateLimitError" in caplog.text and first.refresh_token not in caplog.text
    assert await cache.get("alice") is first, "the old token is served until it expires; the next get tries again"
    await settle()
    assert operations(fake) == ["create", "refresh", "refresh"]


async def test_errors_are_shared_by_concurrent_callers_and_never_cached(
    fake: FakeSignalWire, cache: SubscriberTokenCache
) -> None:
    fake.fail(500, operation="fabric.subscriber_tokens.create")
    results = await asyncio.gather(*(cache.get("alice") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, ServerError) for result in results) and len(fake.requests) == 1
    assert len(cache) == 0
    assert isinstance(await cache.get("alice"), SubscriberToken)
    assert len(fake.requests) == 2


async def test_the_key_is_the_whole_request(fake: FakeSignalWire, cache: SubscriberTokenCache) -> None:
    await cache.get("alice")
    await cache.get("alice", application_id=APPLICATION)
    await cache.get("alice", first_name="Alice")
    await cache.get("bob")
    await cache.get("alice", application_id=APPLICATION)
    assert operations(fake) == ["create"] * 4 and len(cache) == 4
    assert cache.invalidate(reference="alice") == 3 and len(cache) == 1


async def test_bad_input_is_refused_with_its_field_before_anything_is_sent(
    fake: FakeSignalWire, cache: SubscriberTokenCache
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await cache.get("alice", application_id="nope")
    assert info.value.field == "application_id" and fake.requests == []


async def test_least_recently_used_entries_go_first_but_never_one_in_flight(
    client: SignalWireClient, fake: FakeSignalWire, clock: Clock
) -> None:
    cache = client.fabric.subscriber_tokens.cache(clock=clock, max_entries=2)
    fake.delay(0.05, operation="fabric.subscriber_tokens.create")
    slow = asyncio.ensure_future(cache.get("slow"))
    await fake.wait_for_requests(1)
    await cache.get("a")
    await cache.get("b")  # one too many: "a" goes, not "slow", the least recently used but in flight
    assert len(cache) == 2
    first = await slow
    assert await cache.get("slow") is first, "single flight held: no second token for the key"
    await cache.get("a")
    assert operations(fake) == ["create"] * 4, "a was evicted: it is minted again"


async def test_closing_the_client_closes_the_cache_and_the_repr_shows_counts_only(
    fake: FakeSignalWire, clock: Clock
) -> None:
    async with fake.client() as client, client.fabric.subscriber_tokens.cache(clock=clock) as cache:
        token = await cache.get("alice", password="a-long-secret-password")
        assert token.token not in repr(cache) and "alice" not in repr(cache) and "password" not in repr(cache)
    with pytest.raises(RuntimeError, match="closed"):
        await cache.get("alice")
