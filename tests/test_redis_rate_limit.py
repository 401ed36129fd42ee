"""RedisRateLimit: one sliding window shared by a fleet of processes, against a real redis-server on loopback."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator

import pytest

pytest.importorskip("pyrate_limiter", reason="the redis extra is not installed")
pytest.importorskip("redis", reason="the redis extra is not installed")

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from signalwire_tokens import (
    ChatTokenRequest,
    DeadlineExceededError,
    InvalidRequestError,
    RateLimiter,
    RateLimiterError,
    RedisRateLimit,
    RetryPolicy,
    SignalWireClient,
    TransportError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, RedisServer, make_request
from .support import READ

OTHER_PROJECT = "0f3c2b1a-984f-11ee-b9d1-0242ac120002"


def chat_requests(n: int) -> list[ChatTokenRequest]:
    return [ChatTokenRequest(ttl=5, channels={"c": READ}, member_id=f"m{i}") for i in range(n)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=True) as server:
        yield server


async def test_two_processes_sharing_a_key_never_exceed_the_window(
    redis_server: RedisServer, fake: FakeSignalWire
) -> None:
    fake.rate_limit(20, period=0.2)
    # Two limiters and two clients stand for two processes: all they share is the Redis key (the project id). Each
    # gets the API's own window: the margin for arrivals is the limiter's.
    clients = [fake.client(rate_limit=RedisRateLimit(redis_server.url, 20, period=0.2)) for _ in range(2)]

    async def run_batch(client: SignalWireClient) -> int:
        async with client:
            return sum([item.ok async for item in client.chat_tokens.create_many(chat_requests(50), concurrency=32)])

    minted = await asyncio.wait_for(asyncio.gather(*(run_batch(c) for c in clients)), timeout=20)
    assert minted == [50, 50]
    assert fake.throttled == 0, "no 429: the two together kept the API's window"


async def test_the_window_is_keyed_by_the_project_id_unless_a_key_is_given(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 5, period=1.0)
    assert limiter.redis_key is None
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, rate_limit=limiter):
        assert limiter.redis_key == f"signalwire-tokens:rate-limit:{PROJECT_ID}"
    with pytest.raises(InvalidRequestError) as caught:
        SignalWireClient("example", OTHER_PROJECT, API_TOKEN, rate_limit=limiter)
    assert caught.value.field == "rate_limit", "one limiter cannot key two projects' windows"
    named = RedisRateLimit(redis_server.url, 5, period=1.0, key="fleet-a")
    SignalWireClient("example", OTHER_PROJECT, API_TOKEN, rate_limit=named)
    assert named.redis_key == "signalwire-tokens:rate-limit:fleet-a"
    assert isinstance(named, RateLimiter)
    assert repr(named) == (
        f"RedisRateLimit('127.0.0.1:{redis_server.port}/0', 5, period=1, key='signalwire-tokens:rate-limit:fleet-a')"
    )


async def test_starts_are_written_to_redis_and_the_window_slides(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 3, period=0.1, key="slides")
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(7):
        await limiter.acquire(make_request("POST"))
    assert loop.time() - started >= 0.2 * 0.99, "7 starts at 3 per 0.1 s span at least two periods"
    async with Redis.from_url(redis_server.url) as redis:
        assert await redis.zcard("signalwire-tokens:rate-limit:slides") >= 1
    await limiter.aclose()


async def test_a_wait_that_would_pass_the_deadline_fails_at_once(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 1, period=30.0, key="deadline")
    await limiter.acquire(make_request("POST"))
    loop = asyncio.get_running_loop()
    hurried = make_request("POST", deadline=loop.time() + 5)
    queued_behind = make_request("POST", deadline=loop.time() + 0.05)
    results = await asyncio.gather(limiter.acquire(hurried), limiter.acquire(queued_behind), return_exceptions=True)
    assert all(isinstance(r, DeadlineExceededError) and r.request_sent is False for r in results)
    assert loop.time() - hurried.deadline + 5 < 1, "no waiting for the window"  # type: ignore[operator]
    await limiter.aclose()


async def test_redis_down_is_a_rate_limiter_error_and_nothing_is_sent(fake: FakeSignalWire) -> None:
    limiter = RedisRateLimit("redis://127.0.0.1:1/0", 10, period=1.0)
    async with fake.client(rate_limit=limiter, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(RateLimiterError) as caught:
            await client.chat_tokens.create(ttl=5, channels={"c": READ})
    error = caught.value
    assert isinstance(error, TransportError) and error.request_sent is False
    assert "Redis at 127.0.0.1:1/0 is unreachable" in str(error) and "not sent" in str(error)
    assert fake.requests == [], "never a silent bypass"


async def test_a_redis_restart_that_lost_the_script_is_survived(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 10, period=1.0, key="script")
    await limiter.acquire(make_request("POST"))
    async with Redis.from_url(redis_server.url) as redis:
        await redis.script_flush()
    await limiter.acquire(make_request("POST"))
    await limiter.aclose()


async def test_a_given_client_is_used_and_left_open(redis_server: RedisServer) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        limiter = RedisRateLimit(redis, 10, period=1.0, key="given")
        await limiter.acquire(make_request("POST"))
        await limiter.aclose()
        assert await redis.ping()
        assert await redis.zcard("signalwire-tokens:rate-limit:given") == 1


async def test_a_limiter_without_a_key_or_a_client_refuses_to_guess(redis_server: RedisServer) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await RedisRateLimit(redis_server.url, 10).acquire(make_request("POST"))
    assert caught.value.field == "key"


@pytest.mark.parametrize("where", ["http://127.0.0.1:6379", 6379])
def test_url_or_client_is_checked(where: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RedisRateLimit(where, 10)  # type: ignore[arg-type]
    assert caught.value.field == "url_or_client"


def test_messages_name_where_redis_is_never_its_password() -> None:
    assert RedisRateLimit("redis://:hunter2@127.0.0.1:6380/2", 10).where == "127.0.0.1:6380/2"
    assert RedisRateLimit("unix:///run/redis.sock", 10).where == "unix:///run/redis.sock"


async def test_starts_are_paced_never_a_window_at_once(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 200, period=1.0, key="paced")
    loop = asyncio.get_running_loop()

    async def started_at() -> float:
        await limiter.acquire(make_request("POST"))
        return loop.time()

    starts = sorted(await asyncio.gather(*(started_at() for _ in range(30))))
    await limiter.aclose()
    # The window would let all 30 start at once; paced, one goes every 5 ms or so (the pace is a little looser than
    # the window's rate of one per 5.1 ms, so the window itself sets the long-run rate).
    assert max(bisect.bisect_left(starts, t + 0.02) - i for i, t in enumerate(starts)) <= 6
    assert starts[-1] - starts[0] >= 29 * 0.004


def other_clients(url: str) -> int:
    """How many connections Redis has open, besides the one asking."""
    with SyncRedis.from_url(url) as redis:
        return len(redis.client_list()) - 1


def test_each_event_loop_gets_its_own_pool_closed_when_that_loop_shuts_down(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 100, period=1.0, key="loops")

    async def take_places() -> int:
        await asyncio.gather(*(limiter.acquire(make_request("POST")) for _ in range(3)))
        return other_clients(redis_server.url)

    opened = [asyncio.run(take_places()) for _ in range(3)]  # a script's three asyncio.run calls, one after another
    assert all(count >= 1 for count in opened), "each loop had a pool of its own"
    # asyncio.run closes the pool as its loop shuts down (Redis notices the disconnect a moment later).
    deadline = time.monotonic() + 5
    while other_clients(redis_server.url) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert other_clients(redis_server.url) == 0, "no connection left open behind a closed loop"


def test_a_given_client_belongs_to_its_first_loop_another_loop_is_a_rate_limiter_error(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    limiter = RedisRateLimit(redis, 10, period=1.0, key="given")

    async def first_loop() -> None:
        await limiter.acquire(make_request("POST"))
        await redis.aclose()

    async def second_loop() -> None:
        await limiter.acquire(make_request("POST"))

    asyncio.run(first_loop())
    with pytest.raises(RateLimiterError) as caught:
        asyncio.run(second_loop())
    assert "belongs to the event loop it was first used on" in str(caught.value)
    assert caught.value.request_sent is False
