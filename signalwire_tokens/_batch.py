"""``create_many``'s stream: the async iterator over a batch's outcomes, which starts the workers
(:mod:`._batch_pool`) on first use and stops them when the consumer stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

from ._batch_item import BatchFailure, BatchItem, BatchSuccess
from ._batch_pool import AsRequest, BatchProgress, Mint, Pool, Progress
from ._errors import InvalidRequestError
from ._pacing import FlowControl
from ._validate import check_int

__all__ = ["REORDER_WINDOW", "AsRequest", "BatchProgress", "BatchStream", "Progress", "look_ahead"]

#: Rows that ``ordered=True`` may hold finished, beyond the usual look-ahead, while an earlier row is still being
#: retried or waited for: enough for a few seconds of a fast batch (at 1,000 rows/s, 4 s), so one slow row does not
#: stop the workers behind it; a few MiB of finished rows at most, whatever the input's size.
REORDER_WINDOW = 4096


def look_ahead(concurrency: int, *, ordered: bool) -> int:
    """How many rows a batch pulls ahead of its consumer: twice the concurrency (half of it running, half finished
    and waiting to be taken), plus the reorder window when the consumer wants input order."""
    return 2 * concurrency + (REORDER_WINDOW if ordered else 0)


TokenT = TypeVar("TokenT")


class BatchStream(AsyncIterator["BatchSuccess[TokenT] | BatchFailure"], Generic[TokenT]):
    """The async iterator ``create_many`` returns: :class:`BatchItem` s as they complete (in input order with
    ``ordered=True``), whose tokens are of the family that minted them (``ChatToken``, ``PubSubToken``,
    ``RoomToken``). The engine knows no family: ``mint`` makes one token, ``as_request`` makes an input item a
    request of the family (or fails that row alone).

    At most ``concurrency`` requests run at once, and the input is pulled only as results are taken: never more
    than ``2 * concurrency`` rows ahead of the consumer (with ``ordered=True``, ``REORDER_WINDOW`` more, so that
    the rows behind a slow one keep running while it waits for its turn). Breaking out
    of ``async for``, or cancelling the task that iterates, cancels whatever is in flight; ``aclose()`` (or
    ``async with``) also waits until it is gone.
    """

    def __init__(
        self,
        mint: Mint[TokenT],
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        as_request: AsRequest,
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
        self._as_request = as_request
        self._requests: Iterable[Any] | AsyncIterable[Any] | None = requests
        self._progress = progress
        self._ordered = bool(ordered)
        # With ordered=True, outcomes that finished ahead of their turn wait here, bounded by the look-ahead.
        self._early: dict[int, BatchItem] = {}
        self._next_index = 0
        self._pool: Pool | None = None
        self._closed = False
        self._consuming = False  # a task is inside __anext__

    @property
    def flow(self) -> FlowControl:
        """The batch's flow control: ``limit`` (the concurrency now allowed), ``in_flight``, ``throttled``."""
        return self._flow

    def __aiter__(self) -> BatchStream[TokenT]:
        return self

    async def __anext__(self) -> BatchSuccess[TokenT] | BatchFailure:
        if self._consuming:
            # The pool wakes one consumer: a second one would wait for ever. An async generator refuses it too.
            raise RuntimeError("anext(): this batch is already being iterated by another task (it has one consumer)")
        if self._closed:
            raise StopAsyncIteration
        self._consuming = True
        try:
            pool = self._pool if self._pool is not None else self._start()
            while True:
                if self._ordered and self._next_index in self._early:
                    return self._hand_out(pool, self._early.pop(self._next_index))
                try:
                    outcome, passed_on = await pool.next_outcome()
                except asyncio.CancelledError:
                    # The consumer was cancelled: it has stopped, so the batch stops with it, now, rather than when
                    # the stream is collected (a cancelled task's traceback can keep it alive for a while).
                    self._closed = True
                    pool.cancel()
                    raise
                if isinstance(outcome, BatchItem):
                    if passed_on:
                        return cast("BatchSuccess[TokenT] | BatchFailure", outcome)
                    if not self._ordered or outcome.index == self._next_index:
                        return self._hand_out(pool, outcome)
                    self._early[outcome.index] = outcome
                    continue
                await self.aclose()
                if outcome is not None:
                    raise outcome
                raise StopAsyncIteration
        finally:
            self._consuming = False

    def _start(self) -> Pool:
        """The workers, started on first use, inside the consumer's running loop."""
        assert self._requests is not None
        self._pool = Pool(
            self._mint,
            self._as_request,
            self._requests,
            self._concurrency,
            look_ahead(self._concurrency, ordered=self._ordered),
            self._flow,
            self._progress,
            hand_over=not self._ordered,
        )
        self._requests = None
        return self._pool

    def _hand_out(self, pool: Pool, item: BatchItem) -> BatchSuccess[TokenT] | BatchFailure:
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
