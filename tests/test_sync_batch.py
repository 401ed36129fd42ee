"""SyncSignalWireClient's create_many (a plain iterator: lazy, behind the consumer, cancelled when dropped) and its
token cache, against a fake space on a thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from signalwire_tokens import (
    BatchFailure,
    BatchProgress,
    BatchSuccess,
    ChatTokenRequest,
    InvalidRequestError,
    PubSubToken,
    SyncBatchStream,
    SyncSignalWireClient,
    UnprocessableEntityError,
)

from .support import Hold, ThreadedFake, sync_client

LOBBY = {"lobby": {"read": True}}


@pytest.fixture
def client(space: ThreadedFake) -> Iterator[SyncSignalWireClient]:
    with sync_client(space) as sync:
        yield sync


class Input:
    """A generator of chat token requests that notes how many were pulled, and in which threads."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.pulled = 0
        self.threads: set[int] = set()

    def __iter__(self) -> Iterator[ChatTokenRequest]:
        for i in range(self.n):
            if i == self.fail_at:
                raise ValueError(f"bad row {i}")
            self.pulled += 1
            self.threads.add(threading.get_ident())
            yield ChatTokenRequest(ttl=5, channels=LOBBY, member_id=f"m{i}")


# -- create_many -----------------------------------------------------------------------------------------------------


def test_every_item_comes_out_and_a_failed_item_carries_its_error(
    space: ThreadedFake, client: SyncSignalWireClient
) -> None:
    space.call(space.fake.fail, 422, times=1)
    rows: list[Any] = [{"ttl": 5, "channels": LOBBY, "member_id": f"m{i}"} for i in range(20)]
    rows[7] = {"ttl": 0, "channels": LOBBY}
    stream = client.chat_tokens.create_many(rows, concurrency=4)
    assert isinstance(stream, SyncBatchStream) and iter(stream) is stream
    items = list(stream)
    assert sorted(item.index for item in items) == list(range(20))
    failures = [item for item in items if isinstance(item, BatchFailure)]
    assert sorted(type(f.error).__name__ for f in failures) == ["InvalidRequestError", "UnprocessableEntityError"]
    assert next(f for f in failures if isinstance(f.error, InvalidRequestError)).error.field == "ttl"
    assert any(isinstance(f.error, UnprocessableEntityError) for f in failures)
    assert all(item.token.member_id == item.request.member_id for item in items if isinstance(item, BatchSuccess))
    assert list(stream) == [], "exhausted"


def test_the_input_is_pulled_lazily_behind_the_consumer_in_the_consuming_thread(
    space: ThreadedFake, client: SyncSignalWireClient
) -> None:
    # Unordered: ordered=True may pull further ahead, into its reorder window, behind a slow row.
    requests, concurrency, consumed, seen = Input(60), 4, 0, set[int]()
    for item in client.chat_tokens.create_many(requests, concurrency=concurrency):
        assert item.ok
        seen.add(item.index)
        consumed += 1
        assert requests.pulled <= consumed + 2 * concurrency, "never more than 2 * concurrency ahead of the consumer"
        assert len(space.fake.requests) <= requests.pulled
    assert requests.pulled == consumed == 60 and seen == set(range(60))
    assert requests.threads == {threading.get_ident()}, "pulled where the caller's code runs, not on the loop"


def test_an_async_iterable_is_pulled_on_the_loop(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for i in range(5):
            yield {"ttl": 5, "channels": LOBBY, "member_id": f"m{i}"}

    items = list(client.pubsub_tokens.create_many(rows(), concurrency=2))
    assert sorted(i.index for i in items) == list(range(5))
    assert all(isinstance(i.token, PubSubToken) for i in items)


def test_an_input_that_fails_raises_its_error_and_the_client_goes_on(client: SyncSignalWireClient) -> None:
    stream, seen = client.chat_tokens.create_many(Input(10, fail_at=3), concurrency=2), []
    with pytest.raises(ValueError, match="bad row 3"):
        seen.extend(stream)
    assert len(seen) <= 3 and all(item.ok for item in seen)
    assert client.chat_tokens.create(ttl=5, channels=LOBBY).token


@pytest.mark.parametrize("then", ["yields", "raises"])
def test_an_input_may_call_the_client_even_to_close_its_own_batch(client: SyncSignalWireClient, then: str) -> None:
    """The input runs in the consuming thread, so it may call the client; what it pulls for a batch that it closed
    meanwhile (an item, or an error) is dropped."""

    def rows() -> Iterator[dict[str, Any]]:
        yield {"ttl": 5, "channels": LOBBY, "member_id": client.chat_tokens.create(ttl=5, channels=LOBBY).token[:8]}
        stream.close()
        if then == "raises":
            raise ValueError("too late to matter")
        yield {"ttl": 5, "channels": LOBBY}

    stream = client.chat_tokens.create_many(rows(), concurrency=1)
    assert [item.index for item in stream] == [0]


def test_bad_arguments_are_refused_by_create_many_itself(client: SyncSignalWireClient) -> None:
    for call, field in [
        (lambda: client.chat_tokens.create_many([], concurrency=0), "concurrency"),
        (lambda: client.chat_tokens.create_many(5), "requests"),  # type: ignore[arg-type]
        (lambda: client.chat_tokens.create_many([], max_rate=-1), "max_rate"),
    ]:
        with pytest.raises(InvalidRequestError) as refused:
            call()
        assert refused.value.field == field


def test_progress_and_flow_are_the_batchs(client: SyncSignalWireClient) -> None:
    seen: list[BatchProgress] = []
    stream = client.chat_tokens.create_many(Input(6), concurrency=3, progress=seen.append)
    assert stream.flow.limit == 3
    assert len(list(stream)) == 6
    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6] and seen[-1].failed == 0


def test_breaking_out_of_the_for_cancels_what_is_in_flight(space: ThreadedFake) -> None:
    hold = Hold(passes=1, everyone=4)
    requests = Input(100)
    with sync_client(space, middlewares=[hold]) as client:
        for item in client.chat_tokens.create_many(requests, concurrency=4):
            assert item.ok
            break
        # The one consumed, and the rest pulled behind it (at most `concurrency`), held in flight until cancelled.
        assert 4 <= requests.pulled <= 1 + 4
        assert hold.wait_until(cancelled=requests.pulled - 1), "cancelled on the loop"
        assert len(space.fake.requests) == 1
        hold.release()
        assert client.chat_tokens.create(ttl=5, channels=LOBBY).token, "the client goes on"


@pytest.mark.parametrize("how", ["close", "with"])
def test_closing_the_stream_cancels_what_is_in_flight_and_waits(space: ThreadedFake, how: str) -> None:
    hold = Hold(everyone=4)
    with sync_client(space, middlewares=[hold]) as client:
        stream = client.chat_tokens.create_many(Input(100), concurrency=4)
        started = threading.Thread(target=lambda: hold.wait_until(inside=4) and stream.close())
        if how == "close":
            started.start()
            with pytest.raises(StopIteration):  # the consumer's own next() ends when the stream is closed
                next(stream)
        else:
            with stream:
                started.start()
                assert list(stream) == []
        started.join(10)
        assert hold.cancelled == 4, "gone by the time close() returned"
        stream.close()


def test_one_thread_at_a_time_may_iterate_a_batch(space: ThreadedFake) -> None:
    hold = Hold(everyone=1)
    with sync_client(space, middlewares=[hold]) as client:
        stream = client.chat_tokens.create_many(Input(3), concurrency=1)
        consumer = threading.Thread(target=lambda: list(stream))
        consumer.start()
        assert hold.wait_until(inside=1)
        with pytest.raises(RuntimeError, match="being iterated by another thread"):
            next(stream)
        hold.release()
        consumer.join(10)
        assert not consumer.is_alive() and len(space.fake.requests) == 3


def test_a_stream_never_iterated_costs_nothing(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    stream = client.chat_tokens.create_many(Input(10))
    stream.close()
    assert list(stream) == [] and space.fake.requests == []
    del stream
    client.chat_tokens.create_many(Input(10))  # made and dropped
    assert space.fake.requests == []


# -- the token cache -------------------------------------------------------------------------------------------------


def test_the_cache_serves_a_token_again_without_a_request(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    cache = client.chat_tokens.cache(max_entries=10, refresh_margin=90.0)
    first = cache.get(ttl=60, channels=LOBBY, member_id="alice")
    assert cache.get(ttl=60, channels=LOBBY, member_id="alice") is first
    assert (cache.hits, cache.misses, cache.refreshes, len(cache)) == (1, 1, 0, 1)
    assert (cache.max_entries, cache.refresh_margin) == (10, 90.0)
    assert cache.invalidate(member_id="alice") == 1 and len(cache) == 0
    assert cache.get(ttl=60, channels=LOBBY, member_id="alice") is not first
    assert len(space.fake.requests) == 2
    assert repr(cache).startswith("SyncChatTokenCache(entries=1,") and "alice" not in repr(cache)
    with pytest.raises(InvalidRequestError) as refused:
        cache.get(ttl=60, channels=LOBBY)
    assert refused.value.field == "member_id"


def test_threads_share_one_cache(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    cache = client.pubsub_tokens.cache()
    tokens: list[object] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(cache.get(ttl=60, channels=LOBBY, member_id="bob")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(tokens) == 6 and all(token is tokens[0] for token in tokens)
    assert isinstance(tokens[0], PubSubToken) and len(space.fake.requests) == 1


def test_the_cache_refreshes_ahead_on_the_loop_between_calls(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    now = [time.time()]
    cache = client.chat_tokens.cache(clock=lambda: now[0])
    first = cache.get(ttl=60, channels=LOBBY, member_id="alice")
    now[0] += 50 * 60  # ten minutes left: inside the margin (12 minutes for a ttl of 60)
    assert cache.get(ttl=60, channels=LOBBY, member_id="alice") is first, "served at once"
    space.wait_for_requests(2)  # the refresh ran in the background, with nobody waiting for it
    assert cache.refreshes == 1


def test_closing_a_cache_or_its_client(space: ThreadedFake) -> None:
    client = sync_client(space)
    with client.chat_tokens.cache() as cache:
        cache.get(ttl=60, channels=LOBBY, member_id="alice")
    with pytest.raises(RuntimeError, match="the token cache is closed"):
        cache.get(ttl=60, channels=LOBBY, member_id="alice")
    other = client.chat_tokens.cache()
    client.close()
    other.close()  # the client closed it already: nothing to do
    with pytest.raises(RuntimeError, match="SyncSignalWireClient is closed"):
        other.get(ttl=60, channels=LOBBY, member_id="alice")
