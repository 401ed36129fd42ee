"""An API that keeps answering 429 gets neither a request storm nor a batch that never ends: in a batch, a
``Retry-After`` of 0 (or none, or a date already past) is waited out with the backoff of the row's consecutive 429s,
``max_rate_limit_wait`` caps what one row may wait in all, and ``RetryPolicy.disabled()`` is one attempt per row."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from signalwire_tokens import ChatTokenRequest, Extensions, RateLimitError, RetryPolicy
from signalwire_tokens._pacing import FlowControl
from signalwire_tokens._retry import GiveUp, RetryAfter, decide
from signalwire_tokens.testing import FakeSignalWire

from .conftest import make_request
from .support import READ, error_response

PAST = "Wed, 21 Oct 2015 07:28:00 GMT"


class Clock:
    """A retry sleep that moves a virtual clock instead of waiting: each row's waits add up per row."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def rows(n: int) -> list[ChatTokenRequest]:
    return [ChatTokenRequest(ttl=5, channels={"c": READ}, member_id=f"m{i}") for i in range(n)]


def requests_per_row(fake: FakeSignalWire) -> Counter[str]:
    return Counter(str(request.json()["member_id"]) for request in fake.requests)


@pytest.mark.parametrize("retry_after", [{"Retry-After": "0"}, {"Retry-After": PAST}, {}])
async def test_come_back_now_said_for_ever_is_waited_out_with_a_growing_backoff(retry_after: dict[str, str]) -> None:
    clock = Clock()
    policy = RetryPolicy(max_rate_limit_wait=30.0, sleep=clock)
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.fail(429, headers=retry_after, times=100_000)
        items = [item async for item in client.chat_tokens.create_many(rows(10), concurrency=10)]
    assert len(items) == 10 and not any(item.ok for item in items), "every row ends: the bound, not the API, ends it"
    for item in items:
        assert isinstance(item.error, RateLimitError)
        assert "max_rate_limit_wait" in item.error.notes[-1], item.error.notes
    assert min(clock.waits) >= 0.25, "never a retry at once"
    # A row's waits are at least half the backoff's ceiling (0.5, 1, 2, 4, 8 s...), so within its 30 s it can
    # make a handful of attempts, not thousands: 0.25 + 0.5 + 1 + 2 + 4 * 6 <= 30.
    assert max(requests_per_row(fake).values()) <= 10
    assert sum(clock.waits) <= 10 * 30.0


async def test_a_sane_retry_after_refused_for_ever_ends_each_row_after_max_rate_limit_wait() -> None:
    clock = Clock()
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy(sleep=clock)) as client:
        fake.fail(429, headers={"Retry-After": "60"}, times=100_000)
        items = [item async for item in client.chat_tokens.create_many(rows(2), concurrency=1)]
    # The default cap, 600 s: ten waits of 60 s, then the eleventh 429 ends the row.
    assert requests_per_row(fake) == {"m0": 11, "m1": 11}
    for item in items:
        assert isinstance(item.error, RateLimitError) and item.error.attempts == 11
        assert item.error.notes[-1] == (
            "not retried: the row already waited 600 s for the rate limit, and may wait 600 s in all"
            " (max_rate_limit_wait)"
        )


async def test_disabled_retries_are_one_attempt_per_row_in_a_batch_too() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy.disabled()) as client:
        fake.fail(429, headers={"Retry-After": "0"}, times=100_000)
        items = [item async for item in client.chat_tokens.create_many(rows(10), concurrency=4)]
    assert len(fake.requests) == 10
    for item in items:
        assert isinstance(item.error, RateLimitError)
        assert item.error.notes == ("not retried: this policy waits out no 429 (max_rate_limit_wait=0)",)


async def test_a_row_whose_429s_stop_in_time_is_minted() -> None:
    clock = Clock()
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=RetryPolicy(sleep=clock)) as client:
        fake.fail(429, headers={"Retry-After": "0"}, times=5)
        items = [item async for item in client.chat_tokens.create_many(rows(1))]
    assert items[0].ok and len(fake.requests) == 6


def test_max_rate_limit_wait_is_checked() -> None:
    with pytest.raises(ValueError, match="max_rate_limit_wait"):
        RetryPolicy(max_rate_limit_wait=-1)
    assert RetryPolicy().max_rate_limit_wait == 600.0
    assert RetryPolicy.disabled().max_rate_limit_wait == 0.0


# -- the decision, a pure function ----------------------------------------------------------------------------------


def test_decide_backs_off_on_a_zero_retry_after_by_the_rows_consecutive_429s() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0)
    in_batch = make_request(extensions=Extensions(flow=FlowControl(8)))
    now_please = error_response(429, headers={"Retry-After": "0"})
    for in_a_row, ceiling in [(1, 0.5), (2, 1.0), (4, 4.0), (9, 8.0)]:
        decision = decide(now_please, in_batch, 1, policy, 0.0, max_attempts=4, rate_limited=in_a_row)
        assert isinstance(decision, RetryAfter) and decision.free
        assert ceiling / 2 <= decision.wait <= ceiling


def test_decide_ends_a_row_that_would_wait_past_max_rate_limit_wait() -> None:
    policy = RetryPolicy(max_rate_limit_wait=100.0)
    in_batch = make_request(extensions=Extensions(flow=FlowControl(8)))
    throttled = error_response(429, headers={"Retry-After": "10"})
    assert decide(throttled, in_batch, 9, policy, 0.0, max_attempts=4, rate_limit_waited=90.0) == RetryAfter(
        10.0, free=True
    )
    assert decide(throttled, in_batch, 10, policy, 0.0, max_attempts=4, rate_limit_waited=100.0) == GiveUp(
        "not retried: the row already waited 100 s for the rate limit, and may wait 100 s in all (max_rate_limit_wait)"
    )
    # Outside a batch the cap does not apply: max_attempts does.
    assert decide(throttled, make_request(), 1, policy, 0.0, max_attempts=4, rate_limit_waited=1e9) == RetryAfter(10.0)
