"""create_many: lazy input, bounded concurrency, per-item errors, early stop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from signalwire_tokens import (
    ChatTokenRequest,
    InvalidRequestError,
    Request,
    Response,
    ServerError,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .support import READ, Minter, chat_batch, held_batch, requests


async def test_every_request_is_minted_exactly_once_against_the_fake(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    items = [item async for item in client.chat_tokens.create_many(requests(300), concurrency=16)]
    assert sorted(item.index for item in items) == list(range(300))
    assert all(item.ok and item.token is not None for item in items)
    for item in items:
        assert item.token is not None
        assert item.token.member_id == item.request.member_id == f"m{item.index}"
    assert fake.chat_tokens_minted == 300


async def test_concurrency_is_never_exceeded() -> None:
    minter = Minter()
    items = [item async for item in chat_batch(minter, requests(100), concurrency=7)]
    assert len(items) == 100
    assert minter.peak == 7


async def test_the_input_is_pulled_lazily() -> None:
    pulled = 0
    minter = Minter()

    def source() -> Iterator[ChatTokenRequest]:
        nonlocal pulled
        for request in requests(1000):
            pulled += 1
            yield request

    taken = 0
    async for _item in chat_batch(minter, source(), concurrency=8):
        taken += 1
        assert pulled - taken <= 2 * 8
        if taken == 50:
            break
    assert pulled <= 50 + 2 * 8


async def test_async_iterable_input() -> None:
    async def source() -> AsyncIterator[ChatTokenRequest]:
        for request in requests(40):
            await asyncio.sleep(0)
            yield request

    items = [item async for item in chat_batch(Minter(), source(), concurrency=5)]
    assert sorted(i.index for i in items) == list(range(40))


async def test_a_failed_item_carries_its_error_and_the_batch_goes_on() -> None:
    minter = Minter(fail={"m3", "m7"})
    items = {item.index: item async for item in chat_batch(minter, requests(10), concurrency=3)}
    assert len(items) == 10
    assert {i for i, item in items.items() if not item.ok} == {3, 7}
    assert isinstance(items[3].error, ServerError)
    assert items[3].token is None


async def test_dict_items_are_accepted_and_bad_items_fail_alone() -> None:
    batch = [
        {"ttl": 5, "channels": {"c": READ}, "member_id": "ok"},
        {"ttl": 0, "channels": {"c": READ}},
        42,
        requests(1)[0],
    ]
    items = {item.index: item async for item in chat_batch(Minter(), batch, concurrency=2)}
    assert items[0].ok and items[0].request == ChatTokenRequest(5, {"c": READ}, "ok")
    assert isinstance(items[1].error, InvalidRequestError) and items[1].request == batch[1]
    assert isinstance(items[2].error, InvalidRequestError) and items[2].request == 42
    assert items[3].ok


async def test_api_refusals_are_items_not_exceptions(fake: FakeSignalWire) -> None:
    fake.fail(
        422,
        body={
            "errors": [{"type": "validation_error", "code": "invalid", "message": "no", "attribute": "ttl", "url": "u"}]
        },
        times=1,
    )
    async with fake.client() as client:
        items = [item async for item in client.chat_tokens.create_many(requests(5), concurrency=1)]
    assert sum(not item.ok for item in items) == 1
    failed = next(item for item in items if not item.ok)
    assert isinstance(failed.error, UnprocessableEntityError)


async def test_stopping_early_cancels_whatever_is_in_flight() -> None:
    minter = Minter()
    stream = chat_batch(minter, requests(100), concurrency=10)
    first = await stream.__anext__()
    assert first.ok
    minter.release.clear()
    # An item that waited for the consumer: taking it frees its place for a row that the cleared event holds.
    assert (await stream.__anext__()).ok
    for _ in range(5):
        await asyncio.sleep(0)
    assert minter.in_flight > 0
    await stream.aclose()
    assert minter.in_flight == 0
    assert minter.cancelled > 0
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_breaking_out_of_async_for_cancels_at_once() -> None:
    minter = Minter()

    async def consume() -> None:
        async for _item in chat_batch(minter, requests(1000), concurrency=10):
            minter.release.clear()
            break

    await consume()
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)
    assert minter.in_flight == 0
    assert minter.started < 1000


async def test_async_with_closes_the_stream() -> None:
    minter = Minter()
    async with chat_batch(minter, requests(50), concurrency=5) as stream:
        await stream.__anext__()
        minter.release.clear()
    assert minter.in_flight == 0


async def test_an_input_that_raises_surfaces_after_cancelling() -> None:
    def source() -> Iterator[ChatTokenRequest]:
        yield from requests(3)
        raise OSError("the input file went away")

    stream = chat_batch(Minter(), source(), concurrency=2)
    with pytest.raises(OSError, match="went away"):
        async for _ in stream:
            pass


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
def test_concurrency_must_be_a_positive_int(concurrency: object) -> None:
    with pytest.raises(InvalidRequestError, match="concurrency"):
        chat_batch(Minter(), [], concurrency=concurrency)


def test_requests_must_be_iterable() -> None:
    with pytest.raises(InvalidRequestError, match="iterable"):
        chat_batch(Minter(), 5)


async def test_an_empty_batch_yields_nothing() -> None:
    assert [item async for item in chat_batch(Minter(), [], concurrency=4)] == []


async def test_no_more_workers_than_items_for_a_sized_input() -> None:
    minter, stream, first = await held_batch(3, concurrency=1000)
    # This test's task, the consumer, and one worker per item: not a thousand.
    assert len(asyncio.all_tasks()) == 2 + 3
    minter.release.set()
    items = [await first] + [item async for item in stream]
    assert len(items) == 3


async def test_a_dict_item_with_an_unknown_or_missing_field_fails_alone_naming_it() -> None:
    batch = [{"ttl": 5, "chanels": {"c": READ}}, {"channels": {"c": READ}}, {"ttl": 5, "channels": {"c": READ}}]
    items = {item.index: item async for item in chat_batch(Minter(), batch, concurrency=2)}
    assert [getattr(items[i].error, "field", None) for i in range(3)] == ["chanels", "ttl", None]
    assert items[2].ok


@pytest.mark.parametrize(
    "arguments",
    [{"member_id": "bad \udc80"}, {"channels": {"bad \udc80": READ}}],
)
def test_a_lone_surrogate_is_refused_before_sending(arguments: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError, match="lone surrogate") as info:
        ChatTokenRequest(**{"ttl": 5, "channels": {"c": READ}, **arguments})
    assert info.value.field in arguments


async def test_a_stopped_batch_stops_even_when_a_library_swallows_the_cancellation() -> None:
    async def swallow(request: Request, call_next: Any) -> Response:
        try:
            response: Response = await call_next(request)
        except asyncio.CancelledError:  # a misbehaving library: it answers instead of letting the cancel through
            return Response(200, {"Content-Type": "application/json"}, b'{"token": "t"}', request)
        return response

    async with FakeSignalWire(in_memory=True, latency=0.05) as fake, fake.client(attempt_middlewares=[swallow]) as c:
        stream = c.chat_tokens.create_many(requests(100), concurrency=8)
        first = await anext(stream)
        await asyncio.wait_for(stream.aclose(), 5)
    assert first.ok


async def test_a_finished_row_passes_its_place_to_the_next_row_at_once_when_the_consumer_is_waiting() -> None:
    """The consumer keeps up: each row starts as the previous one ends, not after the consumer has run (at
    concurrency 1 that hand-off was a round of the event loop per row with nothing in flight)."""
    minter = Minter()
    pulled = 0

    def source() -> Iterator[ChatTokenRequest]:
        nonlocal pulled
        for request in requests(20):
            pulled += 1
            yield request

    taken = 0
    async for _item in chat_batch(minter, source(), concurrency=1):
        taken += 1
        if taken < 20:
            assert minter.started == taken + 1, "the next row started before this one reached the consumer"
        assert pulled - taken <= 2, "still never more than 2 * concurrency rows ahead"
