"""A rate-limited batch finishes every row: in ``create_many`` a 429 is a wait, not a failure. The row is retried
after the server's ``Retry-After`` without spending ``max_attempts`` or the retry budget, and the whole batch
pauses meanwhile. A single call outside a batch keeps ``max_attempts``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from signalwire_tokens import (
    BatchProgress,
    ChatTokenRequest,
    DeadlineExceededError,
    Extensions,
    PubSubTokenRequest,
    RateLimitError,
    RetryPolicy,
    SignalWireClient,
)
from signalwire_tokens._pacing import FlowControl
from signalwire_tokens._retry import GiveUp, RetryAfter, decide
from signalwire_tokens.testing import FakeSignalWire, fast_retries

from .conftest import make_request
from .support import READ, error_response


class WindowSleep:
    """Retries wait for real, one second of ``Retry-After`` lasting one ``period``: SignalWire's window of seconds
    shrunk to the fake's window of milliseconds keeps the test fast and the waits meaningful."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds * self.period)


class HeldSleep:
    """A retry sleep that lasts until the test lets it end."""

    def __init__(self) -> None:
        self.sleeping = asyncio.Event()
        self.over = asyncio.Event()

    async def __call__(self, _seconds: float) -> None:
        self.sleeping.set()
        await self.over.wait()


def families(client: SignalWireClient) -> dict[str, tuple[Any, type[ChatTokenRequest] | type[PubSubTokenRequest]]]:
    return {
        "chat": (client.chat_tokens, ChatTokenRequest),
        "pubsub": (client.pubsub_tokens, PubSubTokenRequest),
    }


def minted(fake: FakeSignalWire, family: str) -> int:
    return fake.chat_tokens_minted if family == "chat" else fake.pubsub_tokens_minted


@pytest.mark.parametrize("family", ["chat", "pubsub"])
async def test_a_batch_larger_than_several_windows_mints_every_row_once_with_the_default_policy(family: str) -> None:
    period = 0.01
    seen: list[BatchProgress] = []
    # The default policy (4 attempts, the default retry budget), only its sleep shrunk with the window.
    policy = RetryPolicy(sleep=WindowSleep(period))
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.rate_limit(10, period=period)
        resource, request_class = families(client)[family]
        requests = [request_class(ttl=5, channels={"c": READ}, member_id=f"m{i}") for i in range(120)]
        stream = resource.create_many(requests, concurrency=32, progress=seen.append)
        items = [item async for item in stream]
        budget = client.retry_budget
    assert budget is not None
    assert sorted(item.index for item in items) == list(range(120)), "every row once"
    assert all(item.ok for item in items), [item.error for item in items if not item.ok][:3]
    assert minted(fake, family) == 120, "the space accepted each row once: none minted twice"
    assert len(fake.requests) == 120 + fake.throttled, "every other request was a 429"
    assert fake.throttled > 0, "the batch met the window"
    assert (budget.retries_allowed, budget.available) == (0, budget.budget.capacity), "no budget spent on 429s"
    assert seen[-1].throttled == stream.flow.throttled == fake.throttled, "progress counts the waits"


async def test_four_clients_sharing_one_window_each_finish_every_row() -> None:
    period = 0.01
    async with FakeSignalWire(in_memory=True) as fake:
        fake.rate_limit(10, period=period)
        clients = [fake.client(retry=RetryPolicy(sleep=WindowSleep(period))) for _ in range(4)]

        async def mint(client: SignalWireClient, n: int) -> list[Any]:
            async with client:
                requests = [ChatTokenRequest(ttl=5, channels={"c": READ}) for _ in range(n)]
                return [item async for item in client.chat_tokens.create_many(requests, concurrency=16)]

        batches = await asyncio.gather(*(mint(client, 40) for client in clients))
    assert [sum(item.ok for item in items) for items in batches] == [40, 40, 40, 40]
    assert fake.chat_tokens_minted == 160 and fake.throttled > 0


async def test_a_single_create_outside_a_batch_keeps_max_attempts(fake: FakeSignalWire) -> None:
    fake.fail(429, headers={"Retry-After": "0"}, times=10)
    async with fake.client(retry=RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.chat_tokens.create(ttl=5, channels={"c": READ})
    assert caught.value.attempts == 4
    assert "after 4 attempts" in str(caught.value)
    assert len(fake.requests) == 4


async def test_a_429_waited_out_does_not_use_up_the_attempts_other_failures_may_take() -> None:
    policy = RetryPolicy(max_attempts=2, sleep=lambda _seconds: asyncio.sleep(0))
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.fail(429, headers={"Retry-After": "0"}, times=5)
        fake.fail(503, times=1)
        items = [item async for item in client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ})])]
        assert items[0].ok, "five 429s, then one 503 retried with the second of its two attempts"
        fake.fail(429, headers={"Retry-After": "0"}, times=3)
        fake.fail(503, times=2)
        items = [item async for item in client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ})])]
    error = items[0].error
    assert error is not None and error.status == 503  # type: ignore[attr-defined]
    assert error.attempts == 5 and "after 5 attempts" in str(error), "three waits, then two attempts spent"


async def test_a_retry_after_beyond_max_retry_after_fails_the_rows_it_met_and_says_so() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy(max_retry_after=60)) as client:
        fake.fail(429, headers={"Retry-After": "120"}, times=3)
        requests = [ChatTokenRequest(ttl=5, channels={"c": READ}, member_id=f"m{i}") for i in range(10)]
        items = [item async for item in client.chat_tokens.create_many(requests, concurrency=1)]
    failed = [item for item in items if not item.ok]
    assert len(failed) == 3 and sum(item.ok for item in items) == 7
    for item in failed:
        assert isinstance(item.error, RateLimitError)
        assert item.error.retry_after == 120
        assert "the API asked to wait more than 60 s" in str(item.error)
    assert fake.chat_tokens_minted == 7


async def test_the_calls_deadline_bounds_the_waiting_and_the_error_says_so() -> None:
    # No Retry-After: the backoff sets each wait; the 429s never end, the deadline does.
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, deadline=0.1)
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.fail(429, times=1_000)
        items = [item async for item in client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ})])]
    error = items[0].error
    assert isinstance(error, RateLimitError)
    assert "deadline" in error.notes[-1], error.notes
    assert 2 <= len(fake.requests) < 1_000, "it waited out some 429s, then the deadline ended it"


async def test_a_deadline_that_runs_out_during_the_wait_still_ends_the_row_with_its_429() -> None:
    async def late_sleep(seconds: float) -> None:  # a sleep that ends past the deadline it was judged against
        await asyncio.sleep(seconds + 0.05)

    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, deadline=0.08, sleep=late_sleep)
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.fail(429, times=1_000)
        items = [item async for item in client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ})])]
    error = items[0].error
    assert isinstance(error, RateLimitError), repr(error)
    assert error.notes == ("not retried: the call's deadline passed while waiting out its Retry-After",)


async def test_one_429_pauses_the_starts_of_the_whole_batch_until_its_retry_after() -> None:
    sleep = HeldSleep()
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy(sleep=sleep)) as client:
        fake.fail(429, headers={"Retry-After": "1"}, times=1)
        stream = client.chat_tokens.create_many((ChatTokenRequest(5, {"c": READ}) for _ in range(20)), concurrency=4)
        consumer = asyncio.ensure_future(stream.__anext__())
        await sleep.sleeping.wait()  # the first row met the 429 and waits out its Retry-After
        sent_before = len(fake.requests)
        for _ in range(100):  # whatever could start now would have by the end of this
            await asyncio.sleep(0)
        assert len(fake.requests) == sent_before <= 4, "no row started while the batch was paused"
        assert stream.flow.throttled == 1
        sleep.over.set()
        items = [await consumer] + [item async for item in stream]
    assert len(items) == 20 and all(item.ok for item in items)
    assert stream.flow.cuts == 1, "the 429 also halved the batch's concurrency"


async def test_cancelling_a_batch_during_a_pause_cancels_at_once() -> None:
    # Real waits: the Retry-After of 30 s is a real sleep, so only an immediate cancellation ends this test in time.
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy()) as client:
        fake.fail(429, headers={"Retry-After": "30"}, times=1)
        stream = client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ}) for _ in range(3)], concurrency=1)

        async def consume() -> list[Any]:
            return [item async for item in stream]

        task = asyncio.ensure_future(consume())
        await fake.wait_for_requests(1)
        for _ in range(10):
            await asyncio.sleep(0)
        assert stream.flow.throttled == 1 and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=2)
        await stream.aclose()
    assert asyncio.all_tasks() == {asyncio.current_task()}, "nothing of the batch is left running"
    assert len(fake.requests) == 1


async def test_testing_modes_cap_counts_a_batchs_429s_so_a_test_never_spins_forever() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        fake.fail(429, times=1_000)
        with fast_retries(max_attempts=3):
            items = [item async for item in client.chat_tokens.create_many([ChatTokenRequest(5, {"c": READ})])]
    error = items[0].error
    assert isinstance(error, RateLimitError) and error.attempts == 3
    assert len(fake.requests) == 3


def test_the_backoff_stays_finite_after_thousands_of_attempts() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0)
    assert 4.0 <= policy.backoff(5_000) <= 8.0


# -- the decision, a pure function ----------------------------------------------------------------------------------


def test_decide_waits_out_a_batchs_429_whatever_the_attempt_and_gives_up_outside_a_batch() -> None:
    policy = RetryPolicy(max_retry_after=60)
    in_batch = make_request(extensions=Extensions(flow=FlowControl(8)))
    throttled = error_response(429, headers={"Retry-After": "2"})
    assert decide(throttled, in_batch, 40, policy, 0.0, max_attempts=4, spent=1) == RetryAfter(2.0, free=True)
    assert decide(throttled, make_request(), 4, policy, 0.0, max_attempts=4) == GiveUp("after 4 attempts")
    too_long = error_response(429, headers={"Retry-After": "61"})
    assert decide(too_long, in_batch, 1, policy, 0.0, max_attempts=4) == GiveUp(
        "not retried: the API asked to wait more than 60 s"
    )
    unavailable = error_response(503)
    assert decide(unavailable, in_batch, 40, policy, 0.0, max_attempts=4, spent=4) == GiveUp("after 40 attempts")
    assert isinstance(decide(unavailable, in_batch, 40, policy, 0.0, max_attempts=4, spent=3), RetryAfter)


def test_decide_never_retries_a_call_whose_deadline_ran_out() -> None:
    ran_out = DeadlineExceededError("the call's deadline passed", request_sent=False)
    assert decide(ran_out, make_request(), 1, RetryPolicy(), 0.0, max_attempts=4) == GiveUp()
