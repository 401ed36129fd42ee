"""Retry budget, deadlines, knowing what was sent, cancellation, testing mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from signalwire_tokens import (
    ConnectTimeoutError,
    DeadlineExceededError,
    InvalidRequestError,
    RequestTimeoutError,
    RetryBudget,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    TokenBucket,
)
from signalwire_tokens._budget import TokenBucket as Bucket
from signalwire_tokens._retry import TESTING_MODE
from signalwire_tokens._retry_middleware import RetryMiddleware
from signalwire_tokens.testing import FakeSignalWire, fast_retries

from .conftest import FakeNext, RecordingSleep, make_request, make_response
from .support import error_response

READ = {"read": True}


# -- the budget --------------------------------------------------------------------------------------------------


def test_bucket_arithmetic_follows_the_aws_quota() -> None:
    bucket = Bucket(RetryBudget())
    assert bucket.available == 500
    assert bucket.try_acquire(after_timeout=False) == 5
    assert bucket.try_acquire(after_timeout=True) == 10
    assert bucket.available == 485
    bucket.record_success(10)
    assert bucket.available == 495
    bucket.record_success(None)
    bucket.record_success(None)
    assert bucket.available == 497
    for _ in range(10):
        bucket.record_success(None)
    assert bucket.available == 500, "never above capacity"
    assert (bucket.retries_allowed, bucket.retries_refused) == (2, 0)
    assert repr(bucket) == "TokenBucket(available=500/500)"


def test_an_empty_bucket_refuses() -> None:
    bucket = Bucket(RetryBudget(capacity=12, retry_cost=5, timeout_retry_cost=10))
    assert bucket.try_acquire(after_timeout=False) == 5
    assert bucket.try_acquire(after_timeout=True) is None
    assert bucket.try_acquire(after_timeout=False) == 5
    assert bucket.try_acquire(after_timeout=False) is None
    assert (bucket.available, bucket.retries_refused) == (2, 2)


@pytest.mark.parametrize("field", ["capacity", "retry_cost", "timeout_retry_cost", "success_refund"])
def test_budget_values_are_checked(field: str) -> None:
    with pytest.raises(InvalidRequestError, match=field):
        RetryBudget(**{field: -1})  # type: ignore[arg-type]


def test_policy_budget_must_be_a_budget() -> None:
    with pytest.raises(InvalidRequestError, match="budget"):
        RetryPolicy(budget=500)  # type: ignore[arg-type]


async def test_once_the_budget_is_spent_failures_surface_at_once(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep, budget=RetryBudget(capacity=10, retry_cost=5)))
    failing = FakeNext(error_response(503))
    with pytest.raises(ServerError) as first:
        await middleware(make_request(), failing)
    assert len(failing.requests) == 3, "two retries paid for, the third refused"
    assert first.value.retry_budget_exhausted
    assert "retry budget is exhausted" in str(first.value)
    again = FakeNext(error_response(503))
    with pytest.raises(ServerError):
        await middleware(make_request(), again)
    assert len(again.requests) == 1
    assert middleware.bucket is not None
    assert (middleware.bucket.retries_allowed, middleware.bucket.retries_refused) == (2, 2)


async def test_successes_refill_the_budget(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(
        RetryPolicy(sleep=sleep, budget=RetryBudget(capacity=10, retry_cost=5, success_refund=1))
    )
    bucket = middleware.bucket
    assert bucket is not None
    await middleware(make_request(), FakeNext(error_response(503), make_response()))
    assert bucket.available == 10, "a success after a retry returns that retry's cost"
    bucket.available = 0
    for _ in range(5):
        await middleware(make_request(), FakeNext(make_response()))
    assert bucket.available == 5
    await middleware(make_request(), FakeNext(error_response(503), make_response()))
    assert bucket.retries_allowed == 2


async def test_a_timeout_retry_costs_more(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep))
    with pytest.raises(RequestTimeoutError):
        await middleware(make_request(), FakeNext(RequestTimeoutError("slow")))
    assert middleware.bucket is not None
    assert middleware.bucket.available == 500 - 3 * 10


async def test_no_budget_means_unlimited_retries(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep, budget=None, max_attempts=50))
    call_next = FakeNext(error_response(503))
    with pytest.raises(ServerError):
        await middleware(make_request(), call_next)
    assert len(call_next.requests) == 50
    assert middleware.bucket is None


async def test_the_budget_is_shared_by_the_calls_of_one_client(fake: FakeSignalWire) -> None:
    fake.fail(500, times=1000)
    policy = RetryPolicy(sleep=RecordingSleep(), budget=RetryBudget(capacity=50))
    async with fake.client(retry=policy) as client:
        assert isinstance(client.retry_budget, TokenBucket)
        results = await asyncio.gather(
            *(client.chat_tokens.create(ttl=1, channels={"c": READ}) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, ServerError) for r in results)
        assert client.retry_budget.retries_allowed == 10
        assert len(fake.requests) == 20 + 10
    async with fake.client(retry=RetryPolicy(budget=None)) as unlimited:
        assert unlimited.retry_budget is None


# -- deadlines ---------------------------------------------------------------------------------------------------


def test_deadline_must_be_positive() -> None:
    with pytest.raises(InvalidRequestError, match="deadline"):
        RetryPolicy(deadline=0)


async def test_a_wait_that_would_cross_the_deadline_is_not_taken(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep, deadline=3, initial_backoff=8, max_backoff=8))
    call_next = FakeNext(error_response(503))
    with pytest.raises(ServerError) as info:
        await middleware(make_request(), call_next)
    assert len(call_next.requests) == 1
    assert sleep.waits == []
    assert "would pass the call's deadline" in str(info.value)


async def test_a_retry_after_that_would_cross_the_deadline_is_not_waited(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep, deadline=10))
    call_next = FakeNext(error_response(429, {"Retry-After": "30"}))
    with pytest.raises(Exception, match="deadline"):
        await middleware(make_request(), call_next)
    assert sleep.waits == []


async def test_attempts_carry_the_deadline(sleep: RecordingSleep) -> None:
    middleware = RetryMiddleware(RetryPolicy(sleep=sleep, deadline=30))
    call_next = FakeNext(error_response(503), make_response())
    before = asyncio.get_running_loop().time()
    await middleware(make_request(), call_next)
    deadlines = {r.deadline for r in call_next.requests}
    assert len(deadlines) == 1
    (deadline,) = deadlines
    assert deadline is not None
    assert before + 29 < deadline <= asyncio.get_running_loop().time() + 30


async def test_a_slow_answer_past_the_deadline_is_a_deadline_error(fake: FakeSignalWire) -> None:
    fake.delay(5.0, times=5)
    async with fake.client(timeout=10, retry=RetryPolicy(deadline=0.1)) as client:
        with pytest.raises(DeadlineExceededError) as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert info.value.limit == "deadline"
    assert "deadline" in str(info.value)
    assert info.value.request_sent


async def test_the_per_attempt_timeout_says_so(fake: FakeSignalWire) -> None:
    fake.delay(5.0, times=5)
    async with fake.client(timeout=0.05, retry=RetryPolicy(max_attempts=2, deadline=60)) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert type(info.value) is RequestTimeoutError
    assert info.value.limit == "timeout"
    assert info.value.attempts == 2


async def test_a_deadline_already_past_sends_nothing(fake: FakeSignalWire) -> None:
    async def expired(request: Any, call_next: Any) -> Any:
        import attrs

        return await call_next(attrs.evolve(request, deadline=asyncio.get_running_loop().time() - 1))

    async with fake.client(middlewares=[expired]) as client:
        with pytest.raises(DeadlineExceededError) as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert not info.value.request_sent
    assert fake.requests == []


# -- knowing what was sent ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def saturated_pool(
    fake: FakeSignalWire,
) -> AsyncIterator[tuple[aiohttp.ClientSession, Callable[[], Awaitable[None]]]]:
    """A one-connection session whose connection is held by a raw request the fake answers only when released.

    The holder has no timeout of its own, so a client sharing the session can only time out waiting for the pool:
    no race between timers decides the outcome.
    """
    fake.delay(30.0, times=1)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        holder = asyncio.ensure_future(session.post(f"{fake.url}/api/chat/tokens", data=b"{}").__aenter__())
        await fake.wait_for_requests(1)

        async def release() -> None:
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder

        try:
            yield session, release
        finally:
            await release()


async def test_a_pool_wait_timeout_never_left_so_create_is_retried(fake: FakeSignalWire) -> None:
    async with saturated_pool(fake) as (session, release):

        async def release_between_attempts(_seconds: float) -> None:
            await release()

        policy = RetryPolicy(sleep=release_between_attempts)
        async with fake.client(session=session, timeout=0.2, retry=policy) as client:
            token = await client.api_tokens.create("n", ["chat"])
    assert list(fake.api_tokens) == [token.id]
    assert [r.operation for r in fake.requests].count("api_tokens.create") == 1


async def test_a_pool_wait_timeout_is_a_connect_timeout(fake: FakeSignalWire) -> None:
    async with (
        saturated_pool(fake) as (session, _release),
        fake.client(session=session, timeout=0.1, retry=RetryPolicy.disabled()) as client,
    ):
        with pytest.raises(ConnectTimeoutError) as info:
            await client.api_tokens.create("n", ["chat"])
    assert not info.value.request_sent
    assert not info.value.outcome_unknown
    assert fake.api_tokens == {}
    assert [r.operation for r in fake.requests] == ["chat_tokens.create"]


async def test_a_read_timeout_on_create_is_not_retried_and_says_the_token_may_exist(fake: FakeSignalWire) -> None:
    fake.delay(1.0, times=1, operation="api_tokens.create")
    async with fake.client(timeout=0.05) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.api_tokens.create("n", ["chat"])
    assert info.value.outcome_unknown
    assert "may have been created" in str(info.value)
    assert len(fake.requests) == 1


# -- cancellation ------------------------------------------------------------------------------------------------


async def test_cancelling_with_the_pool_saturated_leaves_nothing_behind(fake: FakeSignalWire) -> None:
    fake.delay(10.0, times=2)
    async with fake.client(max_connections=2) as client:
        reading = [asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ})) for _ in range(2)]
        await fake.wait_for_requests(2)
        queued = [asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ})) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert len(fake.requests) == 2, "the pool is full: the other three wait for a connection"
        for task in reading + queued:
            task.cancel()
        results = await asyncio.gather(*reading, *queued, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        # Both connections are free again: two calls at once go through (a leaked one would hang here).
        pair = asyncio.gather(*(client.chat_tokens.create(ttl=1, channels={"c": READ}) for _ in range(2)))
        assert all(token.token for token in await asyncio.wait_for(pair, 5))
    assert client.closed
    await fake.close()
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()


async def test_cancelling_while_sleeping_between_attempts(fake: FakeSignalWire) -> None:
    fake.fail(503, times=1)
    slept = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.set()
        await asyncio.sleep(3600)

    async with fake.client(retry=RetryPolicy(sleep=sleep), max_connections=1) as client:
        task = asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ}))
        await slept.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(fake.requests) == 1
        # The pool's one connection was given back: the next call goes through (a held one would hang).
        assert (await asyncio.wait_for(client.chat_tokens.create(ttl=1, channels={"c": READ}), 5)).token


async def test_cancelling_while_connecting_leaves_nothing_behind() -> None:
    """A listening socket that never accepts: the connection attempt hangs until cancelled."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):  # fill the accept backlog so further connects hang
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        client = SignalWireClient(
            None, "ea14556a-984f-11ee-b9d1-0242ac120002", "PTx", base_url=f"http://127.0.0.1:{port}"
        )
        async with client:
            task = asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ}))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_cancelling_a_batch_consumer_cancels_its_requests(fake: FakeSignalWire) -> None:
    fake.delay(10.0, times=100)
    async with fake.client(max_connections=4) as client:

        async def consume() -> None:
            async for _item in client.chat_tokens.create_many(
                ({"ttl": 1, "channels": {"c": READ}} for _ in range(100)), concurrency=8
            ):
                pass

        task = asyncio.ensure_future(consume())
        await fake.wait_for_requests(4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        fake.clear_faults()
        # Every connection is free again: as many calls as the pool holds go through (a leaked one would hang).
        four = asyncio.gather(*(client.chat_tokens.create(ttl=1, channels={"c": READ}) for _ in range(4)))
        assert len(await asyncio.wait_for(four, 5)) == 4
    await fake.close()
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()


# -- testing mode ------------------------------------------------------------------------------------------------


async def test_fast_retries_skips_waits_and_caps_attempts(fake: FakeSignalWire) -> None:
    sleep = RecordingSleep()
    fake.fail(503, times=100)
    async with fake.client(retry=RetryPolicy(sleep=sleep, initial_backoff=30, max_backoff=60)) as client:
        with fast_retries(max_attempts=2), pytest.raises(ServerError):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        assert len(fake.requests) == 2
        assert sleep.waits == []
        assert TESTING_MODE.get() is None
        with fast_retries(), pytest.raises(ServerError):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        assert len(fake.requests) == 2 + 4, "without a cap, the policy's attempts"
        assert sleep.waits == []


async def test_fast_retries_reaches_tasks_started_inside_and_not_outside() -> None:
    seen: list[object] = []

    async def look() -> None:
        seen.append(TESTING_MODE.get())

    with fast_retries(max_attempts=1):
        await asyncio.ensure_future(look())
    await asyncio.ensure_future(look())
    assert seen[0] is not None
    assert seen[1] is None


def test_fast_retries_checks_its_cap() -> None:
    with pytest.raises(InvalidRequestError, match="max_attempts"), fast_retries(max_attempts=0):
        pass  # pragma: no cover


# -- logging -----------------------------------------------------------------------------------------------------


async def test_logging_debug_per_attempt_and_warning_on_giving_up(
    fake: FakeSignalWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    fake.fail(503, times=10)
    async with fake.client() as client:
        with pytest.raises(ServerError):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("POST /api/chat/tokens -> 503 (attempt" in m for m in debug) == 4
    assert any("retrying in" in m for m in debug)
    assert len(warnings) == 1
    assert "gave up" in warnings[0]
    assert "after 4 attempts" in warnings[0]
