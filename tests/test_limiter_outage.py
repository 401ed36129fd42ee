"""A rate limiter that cannot be asked (its Redis is down) never lets a request through. A single call retries it
like a connection that never opened, then raises RateLimiterError; in a batch it is a wait, like a 429: the batch
pauses, no attempt or retry budget is spent, and ``max_rate_limit_wait`` bounds it, so a Redis restart of a few
seconds mid-batch costs time, not rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from signalwire_tokens import (
    BatchItem,
    ConnectError,
    Extensions,
    RateLimiterError,
    Request,
    Response,
    RetryBudget,
    RetryPolicy,
    SignalWireClient,
    SignalWireError,
)
from signalwire_tokens._pacing import FlowControl
from signalwire_tokens._retry import GiveUp, RetryAfter, decide
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, RecordingSleep, RedisServer, make_request
from .support import READ, no_wait, requests

WAITED_ENOUGH = "(max_rate_limit_wait)"


class Outage:
    """A RateLimiter whose store cannot be reached while ``down`` (or that of ``inner``, a real limiter it watches);
    it counts the attempts it refused."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.down = inner is None
        self.refused = 0
        self._refusing = asyncio.Event()

    async def refusals(self, n: int) -> None:
        """Return once it has refused ``n`` attempts."""
        while self.refused < n:
            self._refusing.clear()
            await self._refusing.wait()

    async def acquire(self, request: Request) -> None:
        try:
            if self.down:
                raise RateLimiterError("the rate limiter's store is unreachable", method=request.method)
            if self.inner is not None:
                await self.inner.acquire(request)
        except RateLimiterError:
            self.refused += 1
            self._refusing.set()
            raise

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=True) as server:
        yield server


# -- a single call ---------------------------------------------------------------------------------------------------


async def never_connects(request: Request, _call_next: Any) -> Response:
    raise ConnectError("could not connect", method=request.method)


@pytest.mark.parametrize("failure", ["limiter unreachable", "connection never opened"])
async def test_a_single_call_retries_an_unreachable_limiter_like_a_connection_that_never_opened(
    fake: FakeSignalWire, failure: str
) -> None:
    sleep = RecordingSleep()
    limiter = Outage()
    options: dict[str, Any] = (
        {"rate_limit": limiter} if failure == "limiter unreachable" else {"attempt_middlewares": [never_connects]}
    )
    async with fake.client(retry=RetryPolicy(max_attempts=3, sleep=sleep), **options) as client:
        with pytest.raises(SignalWireError) as caught:
            await client.chat_tokens.create(ttl=5, channels={"c": READ})
    error = caught.value
    assert isinstance(error, RateLimiterError if failure == "limiter unreachable" else ConnectError)
    assert error.request_sent is False and error.attempts == 3 and error.notes == ("after 3 attempts",)
    assert len(sleep.waits) == 2 and 0.25 <= sleep.waits[0] <= 0.5 <= sleep.waits[1] <= 1.0, "the same backoff"
    assert fake.requests == [], "never a silent bypass"


# -- in a batch ------------------------------------------------------------------------------------------------------


async def test_in_a_batch_an_unreachable_limiter_is_a_wait_spending_no_attempt_or_budget_up_to_max_rate_limit_wait(
    fake: FakeSignalWire,
) -> None:
    sleep = RecordingSleep()
    limiter = Outage()
    # No retry budget at all, and one attempt: only a wait like a 429's can retry these rows.
    policy = RetryPolicy(max_attempts=1, max_rate_limit_wait=10.0, budget=RetryBudget(capacity=0), sleep=sleep)
    async with fake.client(rate_limit=limiter, retry=policy) as client:
        items = [item async for item in client.chat_tokens.create_many(requests(5), concurrency=5)]
    assert len(items) == 5
    for item in items:
        assert isinstance(item.error, RateLimiterError) and item.error.request_sent is False
        assert item.error.attempts > 2, "the row waited, again and again"
        assert item.error.notes[-1].endswith(WAITED_ENOUGH), item.error.notes
    assert limiter.refused == sum(item.error.attempts for item in items if item.error is not None)
    assert sum(sleep.waits) <= 5 * 10.0, "no row waited past the bound"
    assert fake.requests == []


async def test_disabled_retries_fail_a_row_at_once_on_an_unreachable_limiter(fake: FakeSignalWire) -> None:
    limiter = Outage()
    async with fake.client(rate_limit=limiter, retry=RetryPolicy.disabled()) as client:
        items = [item async for item in client.chat_tokens.create_many(requests(3), concurrency=3)]
    assert limiter.refused == 3
    for item in items:
        assert isinstance(item.error, RateLimiterError)
        assert item.error.notes == (
            "not retried: this policy waits out no unreachable rate limiter (max_rate_limit_wait=0)",
        )


async def test_an_unreachable_limiter_pauses_the_whole_batch_as_a_429_does(fake: FakeSignalWire) -> None:
    over = asyncio.Event()
    waiting = asyncio.Event()

    async def held_sleep(_seconds: float) -> None:
        waiting.set()
        await over.wait()

    limiter = Outage()
    async with fake.client(rate_limit=limiter, retry=RetryPolicy(sleep=held_sleep)) as client:
        stream = client.chat_tokens.create_many(requests(20), concurrency=4)
        consumer = asyncio.ensure_future(anext(stream))
        await waiting.wait()  # a row met the outage and waits
        limiter.down = False
        for _ in range(100):  # whatever could start now would have by the end of this
            await asyncio.sleep(0)
        assert limiter.refused == 1, "the other rows did not run into the same outage"
        assert fake.requests == [], "nothing started while the batch waited"
        over.set()
        items: list[BatchItem] = [await consumer, *[item async for item in stream]]
    assert len(items) == 20 and all(item.ok for item in items)
    assert len(fake.requests) == 20, "each row minted once"


async def test_a_deadline_that_runs_out_while_waiting_for_the_limiter_ends_the_row_with_the_limiters_error(
    fake: FakeSignalWire,
) -> None:
    limiter = Outage()

    async def late_sleep(seconds: float) -> None:  # ends past the deadline it was judged against; Redis is back
        await asyncio.sleep(seconds + 0.1)
        limiter.down = False

    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, deadline=0.08, sleep=late_sleep)
    async with fake.client(rate_limit=limiter, retry=policy) as client:
        items = [item async for item in client.chat_tokens.create_many(requests(1))]
    error = items[0].error
    assert isinstance(error, RateLimiterError), repr(error)
    assert error.notes == ("not retried: the call's deadline passed while waiting for the rate limiter",)
    assert fake.requests == []


def test_decide_waits_out_an_unreachable_limiter_only_in_a_batch() -> None:
    policy = RetryPolicy(max_rate_limit_wait=100.0)
    in_batch = make_request(extensions=Extensions(flow=FlowControl(8)))
    unreachable = RateLimiterError("unreachable")
    waited = decide(unreachable, in_batch, 40, policy, 0.0, max_attempts=4, spent=40)
    assert isinstance(waited, RetryAfter) and waited.free, "no attempt spent"
    assert decide(unreachable, make_request(), 4, policy, 0.0, max_attempts=4) == GiveUp("after 4 attempts")
    assert decide(unreachable, in_batch, 9, policy, 0.0, max_attempts=4, rate_limit_waited=100.0) == GiveUp(
        "not retried: the row already waited 100 s for the rate limit, and may wait 100 s in all (max_rate_limit_wait)"
    )
    hurried = make_request(extensions=Extensions(flow=FlowControl(8)), deadline=0.1)
    decision = decide(unreachable, hurried, 1, policy, 0.0, max_attempts=4)
    assert isinstance(decision, GiveUp) and decision.why is not None and "deadline" in decision.why


# -- a real Redis ----------------------------------------------------------------------------------------------------


def redis_limiter(server: RedisServer) -> Outage:
    """A RedisRateLimit on ``server`` (skipped without the redis extra), watched for the attempts it refuses."""
    pytest.importorskip("pyrate_limiter", reason="the redis extra is not installed")
    pytest.importorskip("redis", reason="the redis extra is not installed")
    from signalwire_tokens import RedisRateLimit

    return Outage(RedisRateLimit(server.url, 1000, period=1.0, key="outage"))


async def killed_after_100_rows(client: SignalWireClient, server: RedisServer) -> list[BatchItem]:
    """A batch of 300 rows, Redis killed once 100 of them are in."""
    items = []
    async for item in client.chat_tokens.create_many(requests(300), concurrency=16):
        items.append(item)
        if len(items) == 100:
            server.kill()
    return items


async def test_a_redis_restart_mid_batch_costs_time_not_rows(redis_server: RedisServer, fake: FakeSignalWire) -> None:
    limiter = redis_limiter(redis_server)
    # Small backoffs, waited for real: the batch probes Redis every few tens of milliseconds while it is down.
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
    async with fake.client(rate_limit=limiter, retry=policy) as client:

        async def restart_once_a_row_was_refused_more_than_max_attempts_times() -> None:
            # At most 16 rows are in flight: by then one of them was refused 5 times or more.
            await limiter.refusals(16 * policy.max_attempts + 1)
            await asyncio.to_thread(redis_server.start)

        restart = restart_once_a_row_was_refused_more_than_max_attempts_times()
        batch = killed_after_100_rows(client, redis_server)
        items, _ = await asyncio.wait_for(asyncio.gather(batch, restart), timeout=30)
    assert limiter.refused > 0, "the batch met the outage"
    assert sorted(item.index for item in items) == list(range(300)) and all(item.ok for item in items)
    assert fake.chat_tokens_minted == len(fake.requests) == 300, "every row minted, none twice"


async def test_redis_gone_longer_than_max_rate_limit_wait_fails_the_rows_saying_which_bound_ended_it(
    redis_server: RedisServer, fake: FakeSignalWire
) -> None:
    limiter = redis_limiter(redis_server)
    policy = RetryPolicy(max_rate_limit_wait=5.0, sleep=no_wait)
    async with fake.client(rate_limit=limiter, retry=policy) as client:
        items = await asyncio.wait_for(killed_after_100_rows(client, redis_server), timeout=20)  # nothing hangs
    assert sorted(item.index for item in items) == list(range(300)), "every row accounted for"
    minted = [item for item in items if item.ok]
    failed = [item.error for item in items if item.error is not None]
    assert len(minted) >= 100 and failed, (len(minted), len(failed))
    for error in failed:
        assert isinstance(error, RateLimiterError) and "unreachable" in str(error)
        assert error.notes[-1].endswith(WAITED_ENOUGH), error.notes
    assert fake.chat_tokens_minted == len(minted), "nothing sent for the failed rows"
