"""The client's rate limit in one process: LocalRateLimit's sliding window, and how the client applies a limiter."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import sys
import threading
from collections.abc import Callable

import pytest

from signalwire_tokens import (
    ChatTokenRequest,
    DeadlineExceededError,
    Extensions,
    InvalidRequestError,
    LocalRateLimit,
    NotFoundError,
    RateLimiter,
    RedisRateLimit,
    Request,
    RetryPolicy,
    SignalWireClient,
    TransportError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, RedisServer, make_request
from .support import READ, VirtualTime

POST = make_request("POST")


def busiest_window(starts: list[float], period: float) -> int:
    """The most starts inside any half-open window of ``period`` seconds."""
    starts = sorted(starts)
    return max(bisect.bisect_left(starts, start + period) - i for i, start in enumerate(starts))


async def started_at(limiter: LocalRateLimit, time: VirtualTime, request: Request = POST) -> float:
    await limiter.acquire(request)
    return time.now


# -- LocalRateLimit on its own -------------------------------------------------------------------------------------


async def test_starts_are_paced_evenly_and_at_most_limit_fall_in_any_period() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(10, period=1.0, clock=time, sleep=time.sleep)
    starts = await time.run(*(started_at(limiter, time) for _ in range(25)))
    assert busiest_window(starts, 1.0) == 10
    # One start every tenth of the period (and its margin): never a window's worth at once.
    assert starts == pytest.approx([1000.0 + n * 0.102 for n in range(25)])


async def test_at_any_concurrency_no_span_gets_more_than_its_share_of_the_window_plus_a_small_burst() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1000, period=1.0, clock=time, sleep=time.sleep)
    starts = await time.run(*(started_at(limiter, time) for _ in range(2500)))
    for span in (0.001, 0.01, 0.05, 0.1, 0.5):
        # The burst allowance is 0.5 % of the limit: 5 starts together.
        assert busiest_window(starts, span) <= 1000 * span + 5, span
    assert 975 <= busiest_window(starts, 1.0) <= 1000, "the window is still used to the full (less its margin)"


async def test_the_arrivals_margin_is_inside_the_limiter_not_added_by_hand() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(100, period=1.0, clock=time, sleep=time.sleep)
    starts = await time.run(*(started_at(limiter, time) for _ in range(300)))
    # Requests whose delays (network, event loops) differ by up to 19 ms still arrive at most 100 in any second.
    assert busiest_window(starts, 1.019) <= 100


def test_with_no_arguments_the_limiters_hold_signalwires_window() -> None:
    assert (LocalRateLimit().limit, LocalRateLimit().period) == (13_800, 10.0)
    assert repr(LocalRateLimit()) == "LocalRateLimit(13800, period=10)"
    assert (LocalRateLimit(50, 0.5).limit, LocalRateLimit(50, 0.5).period) == (50, 0.5), "positional: limit, period"
    redis = RedisRateLimit("redis://127.0.0.1:6379/0")
    assert (redis.limit, redis.period) == (13_800, 10.0)


class SharedClock:
    """A clock that stands still, shared by threads, and a sleep that returns at once: each acquire's start is the
    clock plus what it was told to sleep, so a test sees every reservation without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: dict[asyncio.Task[object] | None, float] = {}

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits[asyncio.current_task()] = seconds
        await asyncio.sleep(0)

    async def started_at(self, limiter: LocalRateLimit) -> float:
        await limiter.acquire(POST)
        return self.now + self.waits.pop(asyncio.current_task(), 0.0)


def in_threads(count: int, target: Callable[[], object]) -> None:
    """Run ``target`` in ``count`` threads at once, with the interpreter switching threads as often as it can."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=target) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)


def test_one_limiter_shared_by_event_loops_on_two_threads_holds_its_window() -> None:
    clock = SharedClock()
    limiter = LocalRateLimit(1, period=1.0, clock=clock, sleep=clock.sleep)
    starts: list[float] = []

    async def take_places() -> list[float]:
        return await asyncio.gather(*(clock.started_at(limiter) for _ in range(300)))

    in_threads(2, lambda: starts.extend(asyncio.run(take_places())))  # each thread its own loop (a sync client's)
    assert len(starts) == 600
    starts.sort()
    assert min(b - a for a, b in itertools.pairwise(starts)) == pytest.approx(1.02), "one start per period, no two"


async def test_a_sliding_window_not_a_fixed_one_a_place_frees_one_period_after_its_start() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=10.0, clock=time, sleep=time.sleep)
    await limiter.acquire(POST)
    time.now += 4
    [second] = await time.run(started_at(limiter, time))
    # 10 s and the arrivals' 2 % margin after the first start, not when some fixed window ends.
    assert second == pytest.approx(1010.2)


async def test_waiters_start_in_the_order_they_asked() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=1.0, clock=time, sleep=time.sleep)
    order: list[int] = []

    async def take(n: int) -> None:
        await limiter.acquire(POST)
        order.append(n)

    await time.run(*(take(n) for n in range(20)))
    assert order == list(range(20))


async def test_a_wait_that_would_pass_the_deadline_fails_at_once_and_takes_no_place() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=10.0, clock=time, sleep=time.sleep)
    await limiter.acquire(POST)
    hurried = make_request("POST", deadline=time.now + 5)
    with pytest.raises(DeadlineExceededError) as caught:
        await limiter.acquire(hurried)
    assert time.now == 1000.0, "failed without waiting"
    assert caught.value.request_sent is False
    assert "rate limit (1 per 10 s)" in str(caught.value) and "deadline" in str(caught.value)
    patient = make_request("POST", deadline=time.now + 11)
    assert await time.run(started_at(limiter, time, patient)) == [pytest.approx(1010.2)], "the refused took no place"


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=1.0, clock=time, sleep=time.sleep)
    await limiter.acquire(POST)
    waiter = asyncio.ensure_future(limiter.acquire(POST))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert await time.run(started_at(limiter, time)) == [pytest.approx(1001.02)], (
        "it did not queue behind the cancelled"
    )


async def test_by_default_it_keeps_the_event_loops_time() -> None:
    limiter = LocalRateLimit(2, period=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):
        await limiter.acquire(POST)
    assert loop.time() - started >= 0.05 * 0.99
    await limiter.aclose()
    assert repr(limiter) == "LocalRateLimit(2, period=0.05)"


class WaitLog:
    """A CallObserver that writes down the waits it is told of."""

    def __init__(self) -> None:
        self.waits: list[tuple[int, float]] = []

    def waited(self, request: Request, seconds: float) -> None:
        self.waits.append((request.attempt, seconds))


async def test_a_wait_is_told_to_the_calls_observer_with_the_seconds_waited() -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=10.0, clock=time, sleep=time.sleep)
    log = WaitLog()
    observed = make_request("POST", extensions=Extensions(observer=log))
    await time.run(limiter.acquire(observed), limiter.acquire(observed), limiter.acquire(POST))
    # 10 s and the arrivals' 2 % margin; the first did not wait, and the one without an observer told nobody.
    assert log.waits == [(1, pytest.approx(10.2))]


async def test_a_redis_wait_is_told_to_the_calls_observer(redis_server: RedisServer) -> None:
    limiter = RedisRateLimit(redis_server.url, 1, period=0.2, key="observed")
    log = WaitLog()
    observed = make_request("POST", extensions=Extensions(observer=log))
    try:
        await asyncio.gather(*(limiter.acquire(observed) for _ in range(3)))
    finally:
        await limiter.aclose()
    assert [attempt for attempt, _ in log.waits] == [1, 1], "the first found a place at once"
    assert 0.1 < log.waits[0][1] < 1.0 and 0.1 < log.waits[1][1] < 1.0


@pytest.mark.parametrize(
    ("args", "field"), [((0,), "limit"), ((1.5,), "limit"), ((10, 0), "period"), ((10, -1), "period")]
)
def test_limit_and_period_are_checked(args: tuple[float, ...], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        LocalRateLimit(*args)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_built_in_limiters_are_rate_limiters() -> None:
    assert isinstance(LocalRateLimit(10), RateLimiter)


# -- the client applies its limiter ----------------------------------------------------------------------------------


class RecordingLimiter:
    """A RateLimiter that lets everything through and records what it was asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []
        self.closed = 0

    async def acquire(self, request: Request) -> None:
        self.asked.append((request.method, request.operation, request.attempt))

    async def aclose(self) -> None:
        self.closed += 1


async def test_every_attempt_of_post_put_and_patch_asks_the_limiter_get_and_delete_never() -> None:
    limiter = RecordingLimiter()
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=True) as fake:
        async with fake.client(rate_limit=limiter, retry=RetryPolicy(initial_backoff=0, max_backoff=0)) as client:
            fake.fail(503, operation="chat_tokens.create")
            await client.chat_tokens.create(ttl=5, channels={"c": READ})
            token = await client.api_tokens.create(name="bot", permissions=["chat"])
            await client.api_tokens.update(token.id, name="renamed")
            await client.api_tokens.delete(token.id)
            with pytest.raises(NotFoundError):  # nothing lives there, but a GET is not limited either way
                await client.send("GET", client.url("/api/chat/tokens"), "probe")
        assert limiter.asked == [
            ("POST", "chat_tokens.create", 1),
            ("POST", "chat_tokens.create", 2),
            ("POST", "api_tokens.create", 1),
            ("PATCH", "api_tokens.update", 1),
        ]
        assert limiter.closed == 1, "closing the client closes its limiter"


async def test_a_batch_at_the_limit_gets_no_429() -> None:
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=True) as fake:
        # A window of 1 s, so the arrivals' margin the limiter keeps (2 %: 20 ms) outlasts the scheduling delays of
        # a loaded machine between a grant and its arrival (a 0.25 s window's 5 ms did not, on a busy CI core).
        fake.rate_limit(10, period=1.0)
        # The API's own window: the limiter keeps the arrivals' margin itself.
        async with fake.client(rate_limit=LocalRateLimit(10, period=1.0)) as client:
            requests = [ChatTokenRequest(ttl=5, channels={"c": READ}) for _ in range(25)]
            items = [item async for item in client.chat_tokens.create_many(requests, concurrency=16)]
        assert all(item.ok for item in items) and len(items) == 25
        assert fake.throttled == 0
        assert busiest_window(fake.arrivals, 1.0) <= 10


async def test_a_call_the_window_would_delay_past_its_deadline_fails_unsent() -> None:
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=True) as fake:
        limiter = LocalRateLimit(1, period=60.0)
        async with fake.client(rate_limit=limiter, retry=RetryPolicy(deadline=1.0)) as client:
            await client.chat_tokens.create(ttl=5, channels={"c": READ})
            with pytest.raises(DeadlineExceededError) as caught:
                await client.chat_tokens.create(ttl=5, channels={"c": READ})
        assert isinstance(caught.value, TransportError) and caught.value.request_sent is False
        assert len(fake.requests) == 1, "nothing sent for the refused call"


def test_rate_limit_is_checked_at_construction() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        SignalWireClient("example", PROJECT_ID, API_TOKEN, rate_limit=13_800)  # type: ignore[arg-type]
    assert caught.value.field == "rate_limit"
    assert "RateLimiter" in str(caught.value)


def test_without_the_redis_extra_the_package_imports_and_redis_rate_limit_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyrate_limiter", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'signalwire-tokens\[redis\]'"):
        RedisRateLimit("redis://127.0.0.1:6379/0", 13_800)
