"""Concurrent batch minting: a bounded pool of workers pulling lazily from the caller's requests."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sized
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import attrs

from ._channel_models import ChannelToken, ChannelTokenRequest, ChatTokenRequest, as_request
from ._errors import InvalidRequestError, SignalWireError
from ._http import Extensions
from ._models import BatchFailure, BatchItem, BatchSuccess
from ._pacing import FlowControl
from ._validate import check_int

__all__ = ["BatchProgress", "BatchStream"]

TokenT = TypeVar("TokenT", bound=ChannelToken)
#: Mints one token; the extensions carry the batch's flow control to its own requests.
Mint = Callable[[Any, Extensions], Awaitable[TokenT]]


@attrs.frozen
class BatchProgress:
    """Where a batch stands, passed to ``create_many``'s ``progress`` callback after each item completes."""

    done: int
    failed: int
    in_flight: int
    #: The concurrency the batch allows itself now: lower than asked after 429s, recovering after successes.
    concurrency: int
    #: 429 answers seen so far: each one a wait until its ``Retry-After`` (the whole batch pauses), not a failure.
    throttled: int


Progress = Callable[[BatchProgress], object]
Outcome = BatchItem | BaseException | None  # None: every worker is done


class _Pool:
    """The workers and what they share. Kept apart from :class:`BatchStream` so that the running workers do not
    keep the stream alive: when the consumer drops the stream, its ``__del__`` can cancel them."""

    def __init__(
        self,
        mint: Mint[Any],
        request_class: type[ChannelTokenRequest],
        requests: Iterable[Any] | AsyncIterable[Any],
        concurrency: int,
        flow: FlowControl,
        progress: Progress | None,
    ) -> None:
        self.mint = mint
        self.request_class = request_class
        self.flow = flow
        self.extensions = Extensions(flow=flow)
        self.progress = progress
        self.done = 0
        self.failed = 0
        self.sync_source: Iterator[Any] | None = None
        self.async_source: AsyncIterator[Any] | None = None
        if isinstance(requests, AsyncIterable):
            self.async_source = aiter(requests)
        else:
            self.sync_source = iter(requests)
        # Finished outcomes wait here for the consumer, who waits on ``consumer`` when there are none.
        self.outcomes: collections.deque[Outcome] = collections.deque()
        self.consumer: asyncio.Future[None] | None = None
        # A slot is held from pulling a request until the consumer takes its outcome: the input is never read
        # more than ``concurrency`` items ahead of the consumer, and memory stays flat for any input size.
        # (A counter and a queue of waiters: asyncio.Semaphore scans all its waiters on every release.)
        self.free_slots = concurrency
        self.slot_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.pull_lock = asyncio.Lock()
        self.cancelled = False
        self.next_index = 0
        self.exhausted = False
        # No more workers than items, when the input knows its length (a list of 5 with concurrency 1,000).
        workers = min(concurrency, len(requests)) if isinstance(requests, Sized) else concurrency
        self.running = max(workers, 1)
        self.workers = [asyncio.ensure_future(self.work()) for _ in range(self.running)]

    def release_slot(self) -> None:
        while self.slot_waiters:
            waiter = self.slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free_slots += 1

    def push(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.consumer is not None and not self.consumer.done():
            self.consumer.set_result(None)

    async def next_outcome(self) -> Outcome:
        while not self.outcomes:
            self.consumer = asyncio.get_running_loop().create_future()
            await self.consumer
        return self.outcomes.popleft()

    def pull_sync(self) -> tuple[int, Any] | None:
        assert self.sync_source is not None
        if self.exhausted:
            return None
        try:
            item = next(self.sync_source)
        except StopIteration:
            self.exhausted = True
            return None
        return self.numbered(item)

    async def pull_async(self) -> tuple[int, Any] | None:
        assert self.async_source is not None
        # An async generator cannot be advanced by two tasks at once.
        async with self.pull_lock:
            if self.exhausted:
                return None
            try:
                item = await self.async_source.__anext__()
            except StopAsyncIteration:
                self.exhausted = True
                return None
        return self.numbered(item)

    def numbered(self, item: Any) -> tuple[int, Any]:
        index, self.next_index = self.next_index, self.next_index + 1
        return index, item

    async def work(self) -> None:
        try:
            # A cancelled pool stops even a worker whose cancellation a library swallowed on the way.
            while not self.cancelled:
                if self.free_slots:
                    self.free_slots -= 1
                else:
                    # Inline rather than a helper coroutine: with the consumer keeping up, this runs for most items.
                    waiter = asyncio.get_running_loop().create_future()
                    self.slot_waiters.append(waiter)
                    try:
                        await waiter  # a released slot is handed straight to the waiter
                    except asyncio.CancelledError:
                        if waiter.done() and not waiter.cancelled():
                            self.release_slot()
                        raise
                # A plain call for a plain iterable: no coroutine per item.
                pulled = self.pull_sync() if self.sync_source is not None else await self.pull_async()
                if pulled is None:
                    self.release_slot()
                    return
                index, request = pulled
                try:
                    request = as_request(request, self.request_class)
                    outcome: BatchItem = BatchSuccess(index, request, await self.mint(request, self.extensions))
                except SignalWireError as error:
                    outcome = BatchFailure(index, request, error)
                self.record(outcome)
                self.push(outcome)
        except Exception as error:  # the input itself failed: the consumer gets the error
            self.exhausted = True
            self.push(error)
        finally:
            self.running -= 1
            if self.running == 0:
                self.push(None)

    def record(self, item: BatchItem) -> None:
        self.done += 1
        self.failed += not item.ok
        if self.progress is not None:
            self.progress(
                BatchProgress(self.done, self.failed, self.flow.in_flight, int(self.flow.limit), self.flow.throttled)
            )

    def cancel(self) -> None:
        self.cancelled = True
        for worker in self.workers:
            if not worker.done() and not worker.get_loop().is_closed():
                worker.cancel()


class BatchStream(AsyncIterator["BatchSuccess[TokenT] | BatchFailure"], Generic[TokenT]):
    """The async iterator ``create_many`` returns: :class:`BatchItem` s as they complete (in input order with
    ``ordered=True``), whose tokens are of the family that minted them (``ChatToken``, ``PubSubToken``).

    At most ``concurrency`` requests run at once, and the input is pulled only as results are taken. Breaking out
    of ``async for``, or cancelling the task that iterates, cancels whatever is in flight; ``aclose()`` (or
    ``async with``) also waits until it is gone.
    """

    def __init__(
        self,
        mint: Mint[TokenT],
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        request_class: type[ChannelTokenRequest] = ChatTokenRequest,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> None:
        self._concurrency = check_int("concurrency", concurrency, minimum=1)
        if not isinstance(requests, (Iterable, AsyncIterable)):
            raise InvalidRequestError(
                f"requests must be an iterable or async iterable, not {type(requests).__name__}", field="requests"
            )
        if progress is not None and not callable(progress):
            raise InvalidRequestError("progress must be a callable taking a BatchProgress", field="progress")
        self._flow = FlowControl(self._concurrency, max_rate)
        self._mint = mint
        self._request_class = request_class
        self._requests: Iterable[Any] | AsyncIterable[Any] | None = requests
        self._progress = progress
        self._ordered = bool(ordered)
        # With ordered=True, outcomes that finished ahead of their turn wait here. The slots bound it: at most
        # ``concurrency`` items are ever pulled and not yet yielded.
        self._early: dict[int, BatchItem] = {}
        self._next_index = 0
        self._pool: _Pool | None = None
        self._closed = False

    @property
    def flow(self) -> FlowControl:
        """The batch's flow control: ``limit`` (the concurrency now allowed), ``in_flight``, ``throttled``."""
        return self._flow

    def __aiter__(self) -> BatchStream[TokenT]:
        return self

    async def __anext__(self) -> BatchSuccess[TokenT] | BatchFailure:
        if self._closed:
            raise StopAsyncIteration
        if self._pool is None:
            # Started on first use, inside the consumer's running loop.
            assert self._requests is not None
            self._pool = _Pool(
                self._mint, self._request_class, self._requests, self._concurrency, self._flow, self._progress
            )
            self._requests = None
        pool = self._pool
        while True:
            if self._ordered and self._next_index in self._early:
                return self._hand_out(pool, self._early.pop(self._next_index))
            try:
                outcome = await pool.next_outcome()
            except asyncio.CancelledError:
                # The consumer was cancelled: it has stopped, so the batch stops with it, now, rather than when the
                # stream is collected (a cancelled task's traceback can keep it alive for a while).
                self._closed = True
                pool.cancel()
                raise
            if isinstance(outcome, BatchItem):
                if not self._ordered or outcome.index == self._next_index:
                    return self._hand_out(pool, outcome)
                self._early[outcome.index] = outcome
                continue
            await self.aclose()
            if outcome is not None:
                raise outcome
            raise StopAsyncIteration

    def _hand_out(self, pool: _Pool, item: BatchItem) -> BatchSuccess[TokenT] | BatchFailure:
        pool.release_slot()
        self._next_index = item.index + 1
        # The pool holds items of any family; this stream's mint made this one's token a TokenT.
        return cast("BatchSuccess[TokenT] | BatchFailure", item)

    async def aclose(self) -> None:
        """Cancel the requests in flight and wait until they are gone."""
        self._closed = True
        if self._pool is not None:
            self._pool.cancel()
            await asyncio.gather(*self._pool.workers, return_exceptions=True)

    def __del__(self) -> None:
        # Breaking out of ``async for`` drops the last reference: cancel now rather than leave workers running.
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.cancel()

    async def __aenter__(self) -> BatchStream[TokenT]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
