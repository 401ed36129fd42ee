"""The workers of a batch: a bounded pool pulling lazily from the caller's requests, minting, and handing each
outcome to the one consumer (the :class:`~signalwire_tokens._batch.BatchStream` that iterates)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sized
from typing import Any, TypeVar

import attrs

from ._batch_item import BatchFailure, BatchItem, BatchSuccess
from ._errors import BatchRowError, SignalWireError
from ._http import Extensions
from ._pacing import FlowControl
from ._retry import UNKNOWN_OUTCOME

__all__ = ["AsRequest", "BatchProgress", "ItemRefused", "Mint", "Outcome", "Pool", "Progress", "row_error"]

TokenT = TypeVar("TokenT")
#: Mints one token; the extensions carry the batch's flow control to its own requests.
Mint = Callable[[Any, Extensions], Awaitable[TokenT]]
#: Makes one input item a request of the batch's family (a request as it is, a dict of its fields made into one),
#: or raises the :class:`InvalidRequestError` that fails that row alone (or :class:`ItemRefused`, to give the row
#: the item as it may be shown). Each family brings its own.
AsRequest = Callable[[Any], Any]


class ItemRefused(Exception):
    """An input item that cannot become a request: ``error`` fails its row, and ``item`` is what the row holds in
    its place (a dict row as a copy whose repr masks the family's secrets, which the item given may not)."""

    def __init__(self, error: SignalWireError, item: Any) -> None:
        super().__init__(error)
        self.error = error
        self.item = item


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


def row_error(error: Exception, *, minting: bool) -> BatchRowError:
    """What fails a row that raised ``error``, which is no :class:`SignalWireError`: its type is told, not its text
    (which may hold a secret: a token being read, say), and the original is the ``__cause__``. Raised while
    minting, it may have come after the API acted."""
    where = "while minting it" if minting else "while making it a request, so nothing was sent"
    failure = BatchRowError(
        f"this row raised {type(error).__name__} {where}; its message is not shown (it may hold a secret): it is"
        " this error's __cause__",
        outcome_unknown=minting,
        notes=(UNKNOWN_OUTCOME,) if minting else (),
    )
    failure.__cause__ = error
    return failure


Progress = Callable[[BatchProgress], object]
Outcome = BatchItem | BaseException | None  # None: every worker is done
_BUFFERED: Any = object()  # the consumer's wake-up: an outcome waits in the buffer


class Pool:
    """The workers and what they share. Kept apart from :class:`BatchStream` so that the running workers do not
    keep the stream alive: when the consumer drops the stream, its ``__del__`` can cancel them."""

    def __init__(
        self,
        mint: Mint[Any],
        as_request: AsRequest,
        requests: Iterable[Any] | AsyncIterable[Any],
        concurrency: int,
        look_ahead: int,
        flow: FlowControl,
        progress: Progress | None,
        hand_over: bool,
    ) -> None:
        self.mint = mint
        #: A finished item goes straight to a consumer that is waiting for one, and its slot to the worker's next
        #: row at once (not with ``ordered=True``, where an item may have to wait for its turn).
        self.hand_over = hand_over
        self.as_request = as_request
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
        self.consumer: asyncio.Future[Any] | None = None
        # A slot is held from pulling a request until the consumer takes its outcome: the input is never read
        # more than ``look_ahead`` items ahead of the consumer, and memory stays flat for any input size. The
        # workers (``concurrency`` of them) bound what is in flight; the slots beyond them let a worker start its
        # next row while finished ones wait for the consumer, so rows are not freed and made in lockstep bursts
        # (which made CPython's young collections run 20 times as often at exactly ``concurrency`` slots).
        # (A counter and a queue of waiters: asyncio.Semaphore scans all its waiters on every release.)
        self.free_slots = look_ahead
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
            self.consumer.set_result(_BUFFERED)

    def give(self, item: BatchItem) -> bool:
        """Hand ``item`` to a consumer waiting with nothing buffered: it is taken now, so its worker keeps the slot
        for its next row and starts it in the same step (no wake-up and no slot hand-off through the consumer)."""
        consumer = self.consumer
        if self.hand_over and consumer is not None and not consumer.done() and not self.outcomes:
            consumer.set_result(item)
            return True
        return False

    async def next_outcome(self) -> tuple[Outcome, bool]:
        """The next outcome, and whether its slot was already passed on (it was handed over)."""
        while not self.outcomes:
            self.consumer = asyncio.get_running_loop().create_future()
            handed = await self.consumer
            if handed is not _BUFFERED:
                return handed, True
        return self.outcomes.popleft(), False

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
            holding = False  # a slot passed on from the row this worker handed over
            # A cancelled pool stops even a worker whose cancellation a library swallowed on the way.
            while not self.cancelled:
                if holding:
                    holding = False
                elif self.free_slots:
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
                minting = False
                try:
                    request = self.as_request(request)
                    minting = True
                    outcome: BatchItem = BatchSuccess(index, request, await self.mint(request, self.extensions))
                except ItemRefused as refused:
                    outcome = BatchFailure(index, refused.item, refused.error)
                except SignalWireError as error:
                    outcome = BatchFailure(index, request, error)
                except Exception as error:  # not one of ours (a middleware's, a bug): still this row's alone
                    outcome = BatchFailure(index, request, row_error(error, minting=minting))
                self.record(outcome)
                holding = self.give(outcome)
                if not holding:
                    self.push(outcome)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            # The input itself failed, or a row raised what means "stop" (KeyboardInterrupt, SystemExit: not an
            # Exception, so no row's failure): the consumer gets it, and what means "stop" goes on up this task too.
            self.exhausted = True
            self.push(error)
            if not isinstance(error, Exception):
                raise
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
