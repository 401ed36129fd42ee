"""The chat token cache: hits without requests, one request per key however many callers, refresh ahead of expiry
in the background, errors never cached, member_id required, LRU eviction, invalidation and closing.

Time is an injected clock moved by the tests; the API is the in-memory fake space. A token minted at real time T
with ttl N minutes expires at T + N * 60, and every clock below starts at real time, so "advance by ttl - margin"
lands within a few milliseconds of the margin: the tests stay a second away from every boundary.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from signalwire_tokens import (
    ChannelPermissions,
    ChatToken,
    ChatTokenCache,
    InvalidRequestError,
    JsonBody,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
)
from signalwire_tokens.testing import FakeSignalWire

from .support import ThreadedFake

LOBBY = {"lobby": {"read": True}}
TTL = 10  # minutes: 600 s of life, so the default margin is 20 % of it, 120 s (more than 60 s)


class Clock:
    """POSIX seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Gate:
    """A middleware that holds every call while shut, and counts the calls that reached it and were cancelled."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.arrived = 0
        self.cancelled = 0
        self._arrivals = asyncio.Condition()

    def shut(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def wait_for_arrivals(self, n: int) -> None:
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: self.arrived >= n)

    async def __call__(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        async with self._arrivals:
            self.arrived += 1
            self._arrivals.notify_all()
        try:
            await self._open.wait()
            return await call_next(request)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def settle() -> None:
    """Let every other task of the loop finish: a refresh the cache runs in the background, the fake's work."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    """The fake space in memory: no socket, no real waiting."""
    async with FakeSignalWire(in_memory=True) as space:
        yield space


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
async def client(fake: FakeSignalWire, gate: Gate) -> AsyncIterator[SignalWireClient]:
    # No retries: one failure injected is one failed mint.
    async with fake.client(retry=RetryPolicy.disabled(), middlewares=[gate]) as c:
        yield c


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(client: SignalWireClient, clock: Clock) -> ChatTokenCache[ChatToken]:
    return client.chat_tokens.cache(clock=clock)


async def get(cache: ChatTokenCache[ChatToken], member_id: str = "alice", ttl: int = TTL) -> ChatToken:
    return await cache.get(ttl=ttl, channels=LOBBY, member_id=member_id)


# -- hits and single flight ------------------------------------------------------------------------------------------


async def test_a_thousand_concurrent_gets_of_a_cold_key_make_one_request_and_share_its_token(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    tokens = await asyncio.gather(*(get(cache) for _ in range(1000)))
    assert fake.chat_tokens_minted == 1 and len(fake.requests) == 1
    assert {token.token for token in tokens} == {tokens[0].token}
    assert fake.decode_chat_token(tokens[0].token)["member_id"] == "alice"
    assert (cache.misses, cache.hits) == (1000, 0)


async def test_a_hit_makes_no_request(fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock) -> None:
    first = await get(cache)
    clock.advance(TTL * 60 - 120 - 1)  # a second before the margin
    assert await get(cache) is first
    assert len(fake.requests) == 1 and (cache.hits, cache.misses, cache.refreshes) == (1, 1, 0)


async def test_a_caller_that_gives_up_leaves_the_shared_request_to_the_others(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], gate: Gate
) -> None:
    gate.shut()
    impatient = asyncio.create_task(get(cache))
    patient = asyncio.create_task(get(cache))
    await gate.wait_for_arrivals(1)
    impatient.cancel()
    gate.open()
    token = await patient
    assert impatient.cancelled() and gate.cancelled == 0
    assert await get(cache) is token and len(fake.requests) == 1


# -- refresh ahead ---------------------------------------------------------------------------------------------------


async def test_inside_the_margin_the_cached_token_is_served_at_once_while_one_refresh_runs(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, gate: Gate
) -> None:
    old = await get(cache)
    clock.advance(TTL * 60 - 120 + 1)  # a second inside the default margin
    gate.shut()  # the refresh is held until the gate opens
    served = [await get(cache) for _ in range(50)]
    assert all(token is old for token in served), "served at once, while the refresh is held"
    await gate.wait_for_arrivals(2)
    assert (gate.arrived, cache.refreshes, cache.hits) == (2, 1, 50)
    gate.open()
    await settle()
    # The fake minted the new token in real time: its life starts now, not where the test's clock stands.
    clock.now = time.time()
    new = await get(cache)
    assert new is not old and new.expires_at > old.expires_at
    assert await get(cache) is new
    assert fake.chat_tokens_minted == 2 and cache.refreshes == 1


async def test_a_failed_refresh_keeps_the_old_token_until_it_expires_and_each_get_tries_again(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    old = await get(cache)
    fake.fail(503, times=3)
    clock.advance(TTL * 60 - 60)  # inside the margin
    assert await get(cache) is old
    await settle()
    assert len(fake.requests) == 2, "the refresh was tried, and failed"
    assert await get(cache) is old
    await settle()
    assert len(fake.requests) == 3, "the next get tried again"
    clock.advance(59)  # a second before expiry
    assert await get(cache) is old
    await settle()
    assert len(fake.requests) == 4 and cache.refreshes == 3
    clock.advance(2)  # expired: the get waits for a new token
    new = await get(cache)
    assert new is not old and fake.chat_tokens_minted == 2 and len(fake.requests) == 5
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("token cache")]
    assert (
        warnings
        == ["token cache: a background refresh failed (ServerError); the cached token is served until it expires"] * 3
    )


async def test_an_expired_token_is_never_returned(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock
) -> None:
    old = await get(cache)
    clock.advance(TTL * 60 + 1)
    fake.fail(503)
    with pytest.raises(ServerError):
        await get(cache)  # the new token could not be had: an error, not the expired token
    assert (await get(cache)).expires_at > old.expires_at
    assert fake.chat_tokens_minted == 2


async def test_gets_after_expiry_join_a_refresh_already_in_flight(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, gate: Gate
) -> None:
    old = await get(cache)
    clock.advance(TTL * 60 - 60)
    gate.shut()
    assert await get(cache) is old  # starts the refresh, held at the gate
    clock.advance(61)  # now expired: these wait for the refresh in flight instead of starting one
    waiting = [asyncio.create_task(get(cache)) for _ in range(10)]
    await gate.wait_for_arrivals(2)
    gate.open()
    tokens = await asyncio.gather(*waiting)
    assert {t.token for t in tokens} == {tokens[0].token} and tokens[0] is not old
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("ttl", "refresh_margin", "margin"),
    [
        pytest.param(10, None, 120, id="20% of 10 minutes is more than 60 s"),
        pytest.param(4, None, 60, id="60 s is more than 20% of 4 minutes"),
        pytest.param(10, 30, 30, id="an explicit margin"),
        pytest.param(1, None, 30, id="never more than half the life of a one-minute token"),
    ],
)
async def test_the_refresh_margin(
    client: SignalWireClient, clock: Clock, ttl: int, refresh_margin: float | None, margin: int
) -> None:
    cache = client.chat_tokens.cache(clock=clock, refresh_margin=refresh_margin)
    token = await get(cache, ttl=ttl)
    clock.advance(ttl * 60 - margin - 1)
    assert await get(cache, ttl=ttl) is token and cache.refreshes == 0
    clock.advance(2)
    assert await get(cache, ttl=ttl) is token and cache.refreshes == 1


async def test_a_one_minute_token_is_minted_once_for_a_hundred_gets(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock
) -> None:
    tokens = []
    for _ in range(100):  # a page view every 0.2 s, for 20 s of the token's 60
        tokens.append(await get(cache, ttl=1))
        await settle()
        clock.advance(0.2)
    assert len(fake.requests) == 1 and cache.refreshes == 0
    assert {token.token for token in tokens} == {tokens[0].token}


# -- errors ----------------------------------------------------------------------------------------------------------


async def test_errors_are_shared_by_concurrent_callers_and_never_cached(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    fake.fail(503)
    results = await asyncio.gather(*(get(cache) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, ServerError) for r in results) and len(fake.requests) == 1
    assert len(cache) == 0, "a key that never got a token holds no entry"
    token = await get(cache)
    assert len(fake.requests) == 2 and fake.decode_chat_token(token.token)["member_id"] == "alice"


async def test_a_get_without_member_id_is_refused_before_anything_is_sent(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    with pytest.raises(InvalidRequestError, match="random member") as caught:
        await cache.get(ttl=TTL, channels=LOBBY)
    assert caught.value.field == "member_id"
    assert fake.requests == [] and len(cache) == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"ttl": 0, "channels": LOBBY}, "ttl"),
        ({"ttl": TTL, "channels": {"sw_system": {"read": True}}}, "channels"),
        ({"ttl": TTL, "channels": LOBBY, "state": {"bad": {1, 2}}}, "state"),
    ],
)
async def test_bad_input_is_refused_with_its_field_before_anything_is_sent(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await cache.get(member_id="alice", **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field and fake.requests == []


@pytest.mark.parametrize(
    ("option", "value"), [("max_entries", 0), ("refresh_margin", -1), ("clock", "now"), ("max_entries", True)]
)
def test_bad_options_are_refused_with_their_field(client: SignalWireClient, option: str, value: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.chat_tokens.cache(**{option: value})  # type: ignore[arg-type]
    assert caught.value.field == option


# -- keys ------------------------------------------------------------------------------------------------------------


async def test_the_key_is_what_goes_into_the_token_whatever_its_spelling(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    first = await cache.get(
        ttl=TTL,
        channels={"a": {"read": True}, "b": ChannelPermissions(write=True)},
        member_id="alice",
        state={"x": 1, "y": {"p": 1, "q": [1, 2]}},
    )
    same = await cache.get(
        ttl=TTL,
        channels={"b": {"write": True, "read": False}, "a": ChannelPermissions(read=True)},
        member_id="alice",
        state={"y": {"q": [1, 2], "p": 1}, "x": 1},
    )
    assert same is first and len(fake.requests) == 1
    different = [
        {"ttl": TTL + 1, "channels": LOBBY, "member_id": "alice"},
        {"ttl": TTL, "channels": {"lobby": {"read": True, "write": True}}, "member_id": "alice"},
        {"ttl": TTL, "channels": {"lobby": {"read": True}, "room": {"read": True}}, "member_id": "alice"},
        {"ttl": TTL, "channels": LOBBY, "member_id": "bob"},
        {"ttl": TTL, "channels": LOBBY, "member_id": "alice", "state": {}},
        {"ttl": TTL, "channels": LOBBY, "member_id": "alice", "state": {"y": {"q": [2, 1], "p": 1}, "x": 1}},
        {"ttl": TTL, "channels": LOBBY, "member_id": "alice", "state": {"x": True}},
        {"ttl": TTL, "channels": LOBBY, "member_id": "alice", "state": {"x": 1.0}},
    ]
    await cache.get(ttl=TTL, channels=LOBBY, member_id="alice")  # the plain key, for the ones below to differ from
    for arguments in different:
        await cache.get(**arguments)  # type: ignore[arg-type]
    assert len(fake.requests) == 2 + len(different) == len(cache)


# -- size and invalidation -------------------------------------------------------------------------------------------


async def test_at_most_max_entries_the_least_recently_used_evicted(
    fake: FakeSignalWire, client: SignalWireClient
) -> None:
    cache = client.chat_tokens.cache(max_entries=2)
    alice = await get(cache, "alice")
    await get(cache, "bob")
    assert await get(cache, "alice") is alice  # alice is now the most recently used
    await get(cache, "carol")  # evicts bob
    assert len(cache) == 2 and len(fake.requests) == 3
    assert await get(cache, "alice") is alice and len(fake.requests) == 3
    await get(cache, "bob")
    assert len(fake.requests) == 4


async def test_a_key_whose_mint_is_in_flight_is_never_evicted(
    fake: FakeSignalWire, client: SignalWireClient, gate: Gate
) -> None:
    cache = client.chat_tokens.cache(max_entries=1)
    gate.shut()
    alice = asyncio.ensure_future(get(cache, "alice"))
    bob = asyncio.ensure_future(get(cache, "bob"))  # over max_entries, but alice's mint is in flight
    await gate.wait_for_arrivals(2)
    alice_again = asyncio.ensure_future(get(cache, "alice"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(cache) == 2, "over max_entries by the mints in flight"
    gate.open()
    first, second, _ = await asyncio.gather(alice, alice_again, bob)
    assert first is second, "single flight holds at any size"
    assert len(fake.requests) == 2
    await get(cache, "carol")  # the mints have landed: back to max_entries, least recently used first
    assert len(cache) == 1


async def test_a_full_cache_evicts_from_the_least_recently_used_end_passing_over_mints_in_flight(
    fake: FakeSignalWire,
) -> None:
    alice_arrived, release_alice = asyncio.Event(), asyncio.Event()

    async def hold_alice(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if isinstance(request.body, JsonBody) and request.body.data.get("member_id") == "alice":
            alice_arrived.set()
            await release_alice.wait()
        return await call_next(request)

    async with fake.client(middlewares=[hold_alice]) as client:
        cache = client.chat_tokens.cache(max_entries=3)

        async def minted(*members: str) -> int:
            """Get each member's token in turn; how many requests the fake has received since."""
            before = len(fake.requests)
            for member in members:
                await get(cache, member)
            return len(fake.requests) - before

        alice = asyncio.ensure_future(get(cache, "alice"))  # the least recently used, and in flight
        await alice_arrived.wait()
        assert await minted("bob", "carol", "dave", "erin") == 4
        assert len(cache) == 3, "bob then carol evicted, alice's mint passed over"
        assert await minted("dave", "erin") == 0
        release_alice.set()
        await alice
        assert await minted("bob") == 1 and len(cache) == 3, "alice, landed and least recently used, makes room"
        assert await minted("dave", "alice") == 1, "dave was kept; alice was evicted, and evicts erin"
        assert await minted("bob", "dave", "alice") == 0 and await minted("erin") == 1
        assert len(cache) == 3


async def test_invalidate_drops_every_entry_of_one_member(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    await cache.get(ttl=TTL, channels=LOBBY, member_id="alice")
    await cache.get(ttl=TTL, channels={"room": {"write": True}}, member_id="alice")
    bob = await get(cache, "bob")
    assert cache.invalidate(member_id="alice") == 2 and len(cache) == 1
    await get(cache, "alice")
    assert len(fake.requests) == 4
    assert await get(cache, "bob") is bob and len(fake.requests) == 4
    assert cache.invalidate(member_id="nobody") == 0


async def test_a_refresh_in_flight_for_an_invalidated_member_does_not_put_its_token_back(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, gate: Gate
) -> None:
    old = await get(cache)
    clock.advance(TTL * 60 - 60)
    gate.shut()
    assert await get(cache) is old  # the refresh is held
    await gate.wait_for_arrivals(2)
    cache.invalidate(member_id="alice")
    gate.open()
    await settle()
    assert fake.chat_tokens_minted == 2 and len(cache) == 0, "the refreshed token was not kept"
    await get(cache)
    assert fake.chat_tokens_minted == 3


async def test_a_get_in_flight_for_an_invalidated_member_still_gets_its_token_but_the_cache_keeps_none(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], gate: Gate
) -> None:
    gate.shut()
    waiting = asyncio.create_task(get(cache))
    await gate.wait_for_arrivals(1)
    cache.invalidate(member_id="alice")
    gate.open()
    token = await waiting
    assert fake.decode_chat_token(token.token)["member_id"] == "alice" and len(cache) == 0


# -- closing ---------------------------------------------------------------------------------------------------------


async def test_aclose_cancels_a_refresh_in_flight_and_waits_for_it(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, gate: Gate
) -> None:
    await get(cache)
    clock.advance(TTL * 60 - 60)
    gate.shut()
    await get(cache)
    await gate.wait_for_arrivals(2)
    await cache.aclose()
    assert gate.cancelled == 1, "the refresh was cancelled, and aclose waited until it was"
    assert "in_flight=0" in repr(cache) and len(cache) == 0
    with pytest.raises(RuntimeError, match="closed"):
        await get(cache)
    await cache.aclose()  # twice is fine


async def test_a_get_waiting_when_the_cache_closes_raises_runtime_error(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken]
) -> None:
    fake.delay(60)  # held until the request is cancelled (or the fake closes)
    waiting = asyncio.create_task(get(cache))
    await fake.wait_for_requests(1)
    await cache.aclose()
    with pytest.raises(RuntimeError, match="closed while this token was being minted"):
        await waiting


async def test_closing_the_client_closes_its_caches(fake: FakeSignalWire, clock: Clock, gate: Gate) -> None:
    async with fake.client(middlewares=[gate]) as client:
        cache = client.chat_tokens.cache(clock=clock)
        other = client.chat_tokens.cache()
        await get(cache)
        clock.advance(TTL * 60 - 60)
        gate.shut()
        await get(cache)
        await gate.wait_for_arrivals(2)
    assert gate.cancelled == 1
    for closed in (cache, other):
        with pytest.raises(RuntimeError, match="closed"):
            await get(closed)


async def test_the_cache_as_a_context_manager(fake: FakeSignalWire, client: SignalWireClient) -> None:
    async with client.chat_tokens.cache() as cache:
        await get(cache)
    with pytest.raises(RuntimeError, match="closed"):
        await get(cache)


def test_the_client_does_not_keep_a_dropped_cache_alive(client: SignalWireClient) -> None:
    cache = weakref.ref(client.chat_tokens.cache())
    gc.collect()
    assert cache() is None


# -- what it shows ---------------------------------------------------------------------------------------------------


async def test_repr_and_logs_show_counts_never_tokens_or_members(
    fake: FakeSignalWire, cache: ChatTokenCache[ChatToken], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    token = await get(cache)
    await get(cache)
    clock.advance(TTL * 60 - 60)
    fake.fail(503)
    await get(cache)
    await settle()
    shown = repr(cache) + "\n".join(r.getMessage() for r in caplog.records)
    assert token.token not in shown and token.token[-8:] not in shown and "alice" not in shown and "lobby" not in shown
    assert repr(cache) == "ChatTokenCache(entries=1, max_entries=10000, hits=2, misses=1, refreshes=1, in_flight=0)"


def test_a_cache_used_again_from_a_later_event_loop_mints_afresh() -> None:
    """A loop that ended with the cache's request in flight (asyncio.run cancels it) leaves nothing behind that the
    next loop would trip over: a client and its cache made once serve one asyncio.run after another."""
    space = ThreadedFake()
    try:
        client = SignalWireClient(None, space.fake.project_id, space.fake.api_token, base_url=space.fake.url)
        cache = client.chat_tokens.cache()

        async def abandon() -> None:
            waiting = asyncio.create_task(get(cache))
            await asyncio.sleep(0)  # the get starts its request; then this loop ends, cancelling both
            assert not waiting.done()

        asyncio.run(abandon())
        token = asyncio.run(get(cache))
        asyncio.run(client.aclose())
    finally:
        space.close()
    assert space.fake.decode_chat_token(token.token)["member_id"] == "alice"
