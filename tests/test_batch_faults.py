"""A batch survives what goes wrong inside one row, and refuses a second consumer: whatever one row raises, a
SignalWireError or not, fails that row alone; a second task iterating the same batch gets a RuntimeError at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from signalwire_tokens import (
    BatchFailure,
    BatchRowError,
    ChatTokenRequest,
    Request,
    Response,
    SignalWireClient,
    SignalWireError,
    SubscriberTokenRequest,
)
from signalwire_tokens._batch import BatchStream
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN
from .support import Minter, ThreadedFake, chat_batch, held_batch, requests, sync_client

FAILING_ROW = 3


class Fault:
    """A middleware that raises a bare ValueError (its message carrying a secret) for the one row whose body names
    ``marker``, and lets every other request through."""

    def __init__(self, marker: str) -> None:
        self.marker = marker.encode()
        self.raised: ValueError | None = None

    async def __call__(self, request: Request, call_next: Callable[[Request], Any]) -> Response:
        body = request.body if isinstance(request.body, bytes) else repr(request.body).encode()
        if self.marker in body:
            self.raised = ValueError(f"cannot read the answer signed with {API_TOKEN}")
            raise self.raised
        response: Response = await call_next(request)
        return response


def chat_rows(n: int) -> list[ChatTokenRequest]:
    return [ChatTokenRequest(ttl=5, channels={"c": {"read": True}}, member_id=f"row-{i}") for i in range(n)]


def subscriber_rows(n: int) -> list[SubscriberTokenRequest]:
    return [SubscriberTokenRequest(f"row-{i}@example.com") for i in range(n)]


FAMILIES: dict[str, tuple[Callable[[SignalWireClient], Any], Callable[[int], list[Any]]]] = {
    "chat": (lambda client: client.chat_tokens, chat_rows),
    "subscriber": (lambda client: client.fabric.subscriber_tokens, subscriber_rows),
}


def assert_only_the_failing_row_failed(items: list[Any], fault: Fault, n: int) -> None:
    assert sorted(item.index for item in items) == list(range(n)), "the rows after it ran too"
    failed = [item for item in items if not item.ok]
    assert [item.index for item in failed] == [FAILING_ROW]
    (item,) = failed
    assert isinstance(item, BatchFailure) and isinstance(item.error, BatchRowError)
    assert isinstance(item.error, SignalWireError)
    assert item.error.__cause__ is fault.raised, "the original is kept as the cause"
    assert "ValueError" in str(item.error)
    assert API_TOKEN not in str(item.error) and API_TOKEN not in repr(item.error), "its message is not echoed"
    assert item.error.outcome_unknown, "it may have been raised after the API minted the token"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seam", ["middlewares", "attempt_middlewares"])
async def test_a_bare_exception_inside_one_row_fails_that_row_alone(family: str, seam: str) -> None:
    resource, rows = FAMILIES[family]
    fault = Fault(f"row-{FAILING_ROW}")
    async with FakeSignalWire(in_memory=True) as fake, fake.client(**{seam: [fault]}) as client:
        items = [item async for item in resource(client).create_many(rows(8), concurrency=2)]
    assert_only_the_failing_row_failed(items, fault, 8)
    assert len(fake.requests) == 7, "every other row was minted, once"


def test_a_bare_exception_inside_one_row_fails_that_row_alone_in_the_sync_client(space: ThreadedFake) -> None:
    fault = Fault(f"row-{FAILING_ROW}")
    with sync_client(space, attempt_middlewares=[fault]) as client:
        items = list(client.chat_tokens.create_many(chat_rows(8), concurrency=2))
    assert_only_the_failing_row_failed(items, fault, 8)
    assert len(space.fake.requests) == 7


async def test_a_bare_exception_making_a_row_a_request_fails_that_row_alone_and_nothing_was_sent() -> None:
    def as_request(item: Any) -> Any:
        if item.member_id == "m1":
            raise TypeError("a family's converter that is not meant to fail")
        return item

    batch = BatchStream(Minter(), requests(4), as_request=as_request, concurrency=2)
    items = {item.index: item async for item in batch}
    assert [index for index, item in sorted(items.items()) if not item.ok] == [1]
    error = items[1].error
    assert isinstance(error, BatchRowError) and isinstance(error.__cause__, TypeError)
    assert not error.outcome_unknown, "nothing was sent for a row that never became a request"


class Halt(BaseException):
    """Not an Exception: as KeyboardInterrupt and SystemExit (which asyncio itself lets out of the event loop), it
    means "stop", not "this row failed"."""


async def test_what_is_not_an_exception_is_not_made_a_failed_row_it_ends_the_batch() -> None:
    minted: list[Any] = []

    async def mint(request: ChatTokenRequest, _extensions: Any) -> Any:
        if request.member_id == "m1":
            raise Halt()
        return await Minter()(request)

    async def consume() -> None:
        async for item in chat_batch(mint, requests(3), concurrency=1):
            minted.append(item)

    with pytest.raises(Halt):
        await consume()
    assert [item.index for item in minted] == [0], "no row after it ran, and it is no failed row"


# -- one consumer ----------------------------------------------------------------------------------------------------


async def test_a_second_consumer_gets_a_runtime_error_at_once_and_the_first_goes_on() -> None:
    minter, stream, first = await held_batch(6, concurrency=2)
    assert minter.in_flight == 2 and not first.done(), "the first consumer waits for a row"
    with pytest.raises(RuntimeError, match="already being iterated"):
        await asyncio.wait_for(anext(stream), 5)
    minter.release.set()
    items = [await first, *[item async for item in stream]]
    assert sorted(item.index for item in items) == list(range(6)), "the refused consumer broke nothing"


async def test_two_tasks_iterating_one_client_batch_end_with_one_error_not_a_hang(client: SignalWireClient) -> None:
    stream = client.chat_tokens.create_many(requests(50), concurrency=4)

    async def consume() -> int:
        return len([item async for item in stream])

    first, second = await asyncio.wait_for(asyncio.gather(consume(), consume(), return_exceptions=True), 10)
    assert first == 50, "the first consumer took every row"
    assert isinstance(second, RuntimeError)
