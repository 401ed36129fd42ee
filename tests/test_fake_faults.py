"""The fake space's faults, rate limit and request record, over loopback and in memory alike: a client meets the
same typed errors either way."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from signalwire_tokens import (
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    SignalWireError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import TOKEN_ID

READ = {"read": True}
NO_RETRIES = RetryPolicy.disabled()


# -- faults a transport surfaces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("after_processing", [False, True])
async def test_a_reset_is_a_lost_connection(each_fake: FakeSignalWire, after_processing: bool) -> None:
    each_fake.reset(after_processing=after_processing)
    async with each_fake.client(retry=NO_RETRIES) as client:
        with pytest.raises(ConnectionLostError):
            await client.api_tokens.create("n", ["chat"])
    assert len(each_fake.api_tokens) == int(after_processing)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"timeout": 0.05, "retry": NO_RETRIES}, RequestTimeoutError),
        ({"retry": RetryPolicy(max_attempts=1, deadline=0.05)}, DeadlineExceededError),
    ],
    ids=["timeout", "deadline"],
)
async def test_a_delay_past_the_attempts_limit_is_a_timeout(
    each_fake: FakeSignalWire, options: dict[str, object], error: type[RequestTimeoutError]
) -> None:
    each_fake.delay(5.0)
    async with each_fake.client(**options) as client:
        with pytest.raises(error, match="no answer within"):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})


async def test_a_delay_shorter_than_the_timeout_only_slows_the_answer(each_fake: FakeSignalWire) -> None:
    each_fake.delay(0.02)
    async with each_fake.client(timeout=1.0) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert each_fake.chat_tokens_minted == 1


async def test_closing_cuts_a_delay_short(each_fake: FakeSignalWire) -> None:
    each_fake.delay(30.0)
    async with each_fake.client(retry=NO_RETRIES) as client:
        call = asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ}))
        await each_fake.wait_for_requests(1)
        await asyncio.wait_for(each_fake.close(), 2.0)
        with contextlib.suppress(SignalWireError):
            await asyncio.wait_for(call, 2.0)
    assert call.done()


async def test_a_closed_space_refuses_the_connection(each_fake: FakeSignalWire) -> None:
    await each_fake.close()
    async with each_fake.client(retry=NO_RETRIES) as client:
        with pytest.raises(ConnectError) as info:
            await client.api_tokens.create("n", ["chat"])
    assert not info.value.outcome_unknown


# -- the sliding window ----------------------------------------------------------------------------------------------


async def test_the_window_admits_limit_requests_then_answers_429_with_retry_after(each_fake: FakeSignalWire) -> None:
    each_fake.rate_limit(2, period=10.0)
    async with each_fake.client(retry=NO_RETRIES) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
        await client.api_tokens.create("n", ["chat"])
        with pytest.raises(RateLimitError) as chat:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        with pytest.raises(RateLimitError) as compatibility:
            await client.api_tokens.update(TOKEN_ID, name="x")
    assert chat.value.headers["Retry-After"] == compatibility.value.headers["Retry-After"] == "10"
    assert chat.value.retry_after == 10
    assert chat.value.message == "Too Many Requests"
    assert compatibility.value.code == 429
    assert each_fake.throttled == 2


async def test_delete_is_never_limited(each_fake: FakeSignalWire) -> None:
    each_fake.rate_limit(1, period=10.0)
    async with each_fake.client(retry=NO_RETRIES) as client:
        token = await client.api_tokens.create("n", ["chat"])
        for _ in range(3):
            with pytest.raises(NotFoundError):
                await client.api_tokens.delete(TOKEN_ID)
        await client.api_tokens.delete(token.id)
    assert each_fake.throttled == 0


async def test_the_window_slides_and_a_refused_request_takes_no_place(each_fake: FakeSignalWire) -> None:
    each_fake.rate_limit(1, period=0.1)
    async with each_fake.client(retry=NO_RETRIES) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})  # t0
        await asyncio.sleep(0.06)
        with pytest.raises(RateLimitError) as refused:  # t0 + 0.06: the first one still holds the only place
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        await asyncio.sleep(0.06)
        # t0 + 0.12: the first one has left the window; had the refused one taken a place, this would be refused.
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert refused.value.retry_after == 1, "whole seconds, at least one"
    assert (each_fake.chat_tokens_minted, each_fake.throttled) == (2, 1)


async def test_throttled_counts_every_429_whoever_asked_for_it(each_fake: FakeSignalWire) -> None:
    each_fake.rate_limit(1, period=10.0)
    each_fake.fail(429, times=2, headers={"Retry-After": "0"})
    async with each_fake.client(retry=NO_RETRIES) as client:
        for _ in range(2):  # the first takes the window's place and meets the fault; the second meets the window
            with pytest.raises(RateLimitError):
                await client.chat_tokens.create(ttl=1, channels={"c": READ})
        each_fake.rate_limit(None)
        each_fake.chaos(1.0, seed=4)
        for _ in range(30):
            with contextlib.suppress(SignalWireError):
                await client.chat_tokens.create(ttl=1, channels={"c": READ})
    injected = each_fake.faults_injected
    assert injected["rate_limited"] == 1
    assert injected["429"] > 1, "the queued 429, then chaos's"
    assert each_fake.throttled == injected["429"] + injected["rate_limited"]


@pytest.mark.parametrize(("limit", "period"), [(0, 1.0), (1, 0.0), (True, 1.0)])
def test_the_window_must_make_sense(limit: int, period: float) -> None:
    with pytest.raises(ValueError, match=r"limit|period"):
        FakeSignalWire(in_memory=True).rate_limit(limit, period=period)


# -- waiting for requests --------------------------------------------------------------------------------------------


async def test_wait_for_requests_returns_once_they_arrived(each_fake: FakeSignalWire) -> None:
    waiting = asyncio.ensure_future(each_fake.wait_for_requests(2))
    async with each_fake.client() as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
        assert not waiting.done()
        await client.api_tokens.create("n", ["chat"])
        received = await asyncio.wait_for(waiting, 1.0)
    assert [r.operation for r in received] == ["chat_tokens.create", "api_tokens.create"]
    assert await each_fake.wait_for_requests(1) == received, "already there: at once"


async def test_wait_for_requests_says_how_many_arrived_when_it_times_out(each_fake: FakeSignalWire) -> None:
    async with each_fake.client() as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    with pytest.raises(TimeoutError, match=r"1 of 3 requests arrived within 0\.01 s"):
        await each_fake.wait_for_requests(3, timeout=0.01)


async def test_wait_for_requests_counts_the_requests_a_long_running_fake_forgot() -> None:
    async with FakeSignalWire(in_memory=True, keep_requests=1) as fake, fake.client() as client:
        for _ in range(5):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        assert len(await fake.wait_for_requests(5, timeout=0.01)) < 5


def test_a_fault_must_be_for_at_least_one_request() -> None:
    with pytest.raises(ValueError, match="times"):
        FakeSignalWire(in_memory=True).fail(500, times=0)


def test_a_chaos_rate_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="rate"):
        FakeSignalWire(in_memory=True).chaos(1.5)
