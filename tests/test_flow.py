"""Batch flow control (max_rate, backing off on 429), progress reports and ordered output."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from signalwire_tokens import (
    BatchProgress,
    ChatToken,
    ChatTokenRequest,
    Extensions,
    InvalidRequestError,
    RetryBudget,
    RetryPolicy,
    SignalWireClient,
)
from signalwire_tokens._batch import REORDER_WINDOW
from signalwire_tokens._http import NO_EXTENSIONS
from signalwire_tokens._pacing import FlowControl
from signalwire_tokens.testing import FakeSignalWire

from .support import READ, Minter, chat_batch, requests

# -- FlowControl on its own ----------------------------------------------------------------------------------------


async def test_a_429_halves_the_limit_once_per_window_and_successes_win_it_back() -> None:
    flow = FlowControl(32)
    windows = [await flow.acquire() for _ in range(10)]
    assert flow.in_flight == 10
    flow.release(windows[0], 429)
    assert flow.limit == 16
    for window in windows[1:5]:
        flow.release(window, 429)  # the same burst: started before the cut
    assert (flow.limit, flow.cuts, flow.throttled) == (16, 1, 5)
    later = await flow.acquire()
    flow.release(later, 429)
    assert flow.limit == 8
    for window in windows[5:]:
        flow.release(window, 200)
    assert 8.5 < flow.limit < 9
    for _ in range(1000):  # one more place per round of `limit` successes: about 470 to climb from 9 to 32
        flow.release(await flow.acquire(), 200)
    assert flow.limit == 32, "never above what was asked"
    assert flow.in_flight == 0


async def test_the_limit_never_drops_below_one() -> None:
    flow = FlowControl(2)
    for _ in range(5):
        flow.release(await flow.acquire(), 429)
    assert flow.limit == 1


async def test_acquire_waits_while_the_limit_is_reached_and_cancelled_waiters_pass_their_turn_on() -> None:
    flow = FlowControl(1)
    first = await flow.acquire()
    waiting = [asyncio.ensure_future(flow.acquire()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiting)
    flow.release(first, 200)
    waiting[0].cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert waiting[1].done() and not waiting[1].cancelled()
    assert flow.in_flight == 1


async def test_max_rate_spaces_the_starts() -> None:
    flow = FlowControl(100, max_rate=200)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(21):
        flow.release(await flow.acquire(), 200)
    assert loop.time() - started >= 20 / 200 * 0.95


async def test_cancelling_while_waiting_for_a_turn_gives_the_place_back() -> None:
    flow = FlowControl(4, max_rate=1)
    flow.release(await flow.acquire(), 200)
    turn = asyncio.ensure_future(flow.acquire())
    await asyncio.sleep(0.01)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    assert flow.in_flight == 0


@pytest.mark.parametrize("rate", [0, -5, "10", True])
def test_max_rate_must_be_positive(rate: object) -> None:
    with pytest.raises(InvalidRequestError, match="max_rate"):
        chat_batch(Minter(), [], max_rate=rate)


# -- against the fake space ----------------------------------------------------------------------------------------


async def test_max_rate_caps_requests_per_second(client: object, fake: FakeSignalWire) -> None:
    from signalwire_tokens import SignalWireClient

    assert isinstance(client, SignalWireClient)
    items = [item async for item in client.chat_tokens.create_many(requests(30), concurrency=16, max_rate=100)]
    assert all(item.ok for item in items)
    span = fake.arrivals[-1] - fake.arrivals[0]
    assert span >= 29 / 100 * 0.9


class WindowSleep:
    """Retries wait for real, one second of ``Retry-After`` lasting one ``period``: SignalWire's window of seconds,
    shrunk to the fake's window of milliseconds, keeps the test fast and the waits meaningful."""

    def __init__(self, period: float) -> None:
        self.period = period

    async def __call__(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.period)


async def test_a_rate_limited_space_makes_the_batch_back_off() -> None:
    period = 0.01
    seen: list[BatchProgress] = []
    policy = RetryPolicy(sleep=WindowSleep(period), budget=RetryBudget(capacity=10_000), max_attempts=50)
    async with FakeSignalWire(in_memory=True) as fake, fake.client(retry=policy) as client:
        fake.rate_limit(10, period=period)
        fake.delay(0.005, times=10_000)  # each request takes a while, so the load grows with the concurrency
        stream = client.chat_tokens.create_many(requests(200), concurrency=32, progress=seen.append)
        items = [item async for item in stream]
    assert sorted(item.index for item in items) == list(range(200))
    assert all(item.ok for item in items)
    assert stream.flow.cuts >= 2
    assert min(p.concurrency for p in seen) <= 8, "the batch shrank toward what the space accepts"
    assert fake.throttled == stream.flow.throttled
    # Without backing off, the same batch meets about 500 429s here (60 with it).
    assert fake.throttled < 150


async def test_max_rate_keeps_a_batch_under_the_window() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        fake.rate_limit(10, period=0.025)  # 400 a second, in any 25 ms
        stream = client.chat_tokens.create_many(requests(30), concurrency=16, max_rate=300)
        items = [item async for item in stream]
    assert all(item.ok for item in items)
    assert fake.throttled == 0, "without max_rate, about 80 of its requests meet a 429"


async def test_rate_limit_can_be_lifted(fake: FakeSignalWire) -> None:
    fake.rate_limit(1, period=60.0)
    fake.rate_limit(None)
    async with fake.client() as client:
        for _ in range(3):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert fake.throttled == 0


async def test_a_429_to_another_client_called_from_the_input_generator_never_slows_the_batch(
    fake: FakeSignalWire,
) -> None:
    async with FakeSignalWire() as other_space, other_space.client() as other, fake.client() as client:

        async def members():  # type: ignore[no-untyped-def]
            for request in requests(10):
                # Each pull calls another client, inside the batch's worker task, and meets a 429 first.
                other_space.fail(429, headers={"Retry-After": "0"})
                await other.chat_tokens.create(ttl=5, channels={"c": READ})
                yield request

        stream = client.chat_tokens.create_many(members(), concurrency=8)
        items = [item async for item in stream]
    assert all(item.ok for item in items) and len(items) == 10
    assert (stream.flow.throttled, stream.flow.limit) == (0, 8)


async def test_a_429_to_one_batch_never_slows_another_batch_of_the_same_client(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    fake.fail(429, headers={"Retry-After": "0"}, times=1)
    first = client.chat_tokens.create_many(requests(1), concurrency=8)
    assert [item.ok async for item in first] == [True]
    second = client.chat_tokens.create_many(requests(20), concurrency=8)
    assert all([item.ok async for item in second])
    assert (first.flow.throttled, second.flow.throttled, second.flow.limit) == (1, 0, 8)


# -- progress --------------------------------------------------------------------------------------------------------


async def test_progress_reports_each_completion() -> None:
    seen: list[BatchProgress] = []
    minter = Minter(fail={"m2", "m5"})
    items = [item async for item in chat_batch(minter, requests(8), concurrency=3, progress=seen.append)]
    assert len(items) == 8
    assert [p.done for p in seen] == list(range(1, 9))
    assert seen[-1].failed == 2
    assert all(0 <= p.in_flight <= 3 and p.concurrency == 3 for p in seen)


def test_progress_must_be_callable() -> None:
    with pytest.raises(InvalidRequestError, match="progress"):
        chat_batch(Minter(), [], progress=5)


# -- ordered ---------------------------------------------------------------------------------------------------------


class JitteryMinter(Minter):
    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    async def __call__(self, request: ChatTokenRequest, extensions: Extensions = NO_EXTENSIONS) -> ChatToken:
        for _ in range(self.rng.randint(0, 20)):
            await asyncio.sleep(0)
        return await super().__call__(request, extensions)


@pytest.mark.parametrize("seed", range(5))
async def test_ordered_yields_in_input_order_with_a_bounded_window(seed: int) -> None:
    pulled = 0

    def source():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for request in requests(300):
            pulled += 1
            yield request

    stream = chat_batch(JitteryMinter(seed), source(), concurrency=8, ordered=True)
    indexes = []
    async for item in stream:
        indexes.append(item.index)
        assert item.request.member_id == f"m{item.index}"
        assert pulled - len(indexes) <= 2 * 8 + REORDER_WINDOW
    assert indexes == list(range(300))


class HoldingMinter(Minter):
    """Holds one row (by member id) until ``let_go`` is set: a row stuck in retries or a slow answer."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.let_go = asyncio.Event()

    async def __call__(self, request: ChatTokenRequest, extensions: Extensions = NO_EXTENSIONS) -> ChatToken:
        if request.member_id == self.held:
            await self.let_go.wait()
        return await super().__call__(request, extensions)


async def test_ordered_keeps_the_workers_going_behind_one_slow_row() -> None:
    minter = HoldingMinter(held="m0")
    stream = chat_batch(minter, requests(500), concurrency=8, ordered=True)
    first = asyncio.ensure_future(anext(stream))
    for _ in range(10_000):
        if minter.started == 499:
            break
        await asyncio.sleep(0)
    assert minter.started == 499, "every other row is minted while row 0 is held (no stall at 2 * concurrency)"
    assert not first.done()
    minter.let_go.set()
    indexes = [(await first).index] + [item.index async for item in stream]
    assert indexes == list(range(500))


async def test_ordered_holds_at_most_its_reorder_window_behind_a_row_that_never_ends() -> None:
    minter = HoldingMinter(held="m0")
    pulled = 0

    def source() -> Iterator[ChatTokenRequest]:
        nonlocal pulled
        for request in requests(REORDER_WINDOW * 2):
            pulled += 1
            yield request

    async with chat_batch(minter, source(), concurrency=4, ordered=True) as stream:
        first = asyncio.ensure_future(anext(stream))
        for _ in range(REORDER_WINDOW * 2):  # rounds enough for the workers to pull all they may
            await asyncio.sleep(0)
        assert pulled == 2 * 4 + REORDER_WINDOW, "memory stays bounded behind a stuck row"
        first.cancel()


async def test_unordered_really_completes_out_of_order() -> None:
    indexes = [item.index async for item in chat_batch(JitteryMinter(1), requests(100), concurrency=8)]
    assert sorted(indexes) == list(range(100))
    assert indexes != list(range(100))


async def test_ordered_against_the_fake_space_with_failures(fake: FakeSignalWire) -> None:
    fake.chaos(0.2, seed=3)
    async with fake.client() as client:
        items = [item async for item in client.chat_tokens.create_many(requests(200), concurrency=16, ordered=True)]
    assert [item.index for item in items] == list(range(200))
