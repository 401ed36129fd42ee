"""``create_many`` for blocking callers: the async batch runs on the loop, and its input is pulled in the thread
that iterates it, only while that thread waits in ``next()``.

Pulling on the caller's thread keeps the caller's iterator where the caller's code runs: a generator over a Django
queryset or a file reads them in the thread that owns them (Django refuses database calls from a thread that runs
an event loop), and may itself call the sync client.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sized
from types import TracebackType
from typing import Any, Generic, TypeVar

from .._batch import BatchStream
from .._batch_item import BatchFailure, BatchSuccess
from .._pacing import FlowControl
from ._portal import Inbox, Portal

__all__ = ["SyncBatchStream"]

TokenT = TypeVar("TokenT")
Requests = Iterable[Any] | AsyncIterable[Any]

_EXHAUSTED: Any = object()


def _settle(future: asyncio.Future[Any], item: Any) -> None:
    if not future.done():  # else: the batch stopped while the item was pulled; it is not needed any more
        future.set_result(item)


def _fail(future: asyncio.Future[Any], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


class _CallerInput:
    """The batch's input as the loop sees it: an async iterator that posts each pull to the consuming thread's
    inbox and waits for that thread to take the next item from the caller's iterable.

    The batch pulls only while it has a free place (at most ``concurrency`` items pulled and not yet consumed), and
    the consuming thread serves the pulls only inside ``next()``: the input is read lazily, behind the consumer."""

    def __init__(self, requests: Iterable[Any], inbox: Inbox) -> None:
        self._requests: Iterable[Any] | None = requests
        self._iterator: Iterator[Any] | None = None
        self._inbox = inbox

    def __aiter__(self) -> _CallerInput:
        return self

    async def __anext__(self) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._inbox.put(lambda: self._pull(loop, future))
        item = await future
        if item is _EXHAUSTED:
            raise StopAsyncIteration
        return item

    def _pull(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        """In the consuming thread."""
        try:
            if self._iterator is None:
                self._iterator = iter(self._requests if self._requests is not None else ())
            item = next(self._iterator, _EXHAUSTED)
        except Exception as error:  # the input itself failed: the batch hands the error to the consumer
            loop.call_soon_threadsafe(_fail, future, error)
        else:
            loop.call_soon_threadsafe(_settle, future, item)

    def release(self) -> None:
        """Drop the caller's iterable here, in the consuming thread, rather than wherever the loop drops this
        object (a generator nobody else holds is finalized now, in its own thread)."""
        self._requests = self._iterator = None


class _SizedCallerInput(_CallerInput):
    """As :class:`_CallerInput`, with the length of an input that has one (the batch starts no more workers)."""

    def __init__(self, requests: Iterable[Any], inbox: Inbox, length: int) -> None:
        super().__init__(requests, inbox)
        self._length = length

    def __len__(self) -> int:
        return self._length


def _caller_side(requests: Requests, inbox: Inbox) -> Requests:
    if isinstance(requests, AsyncIterable) or not isinstance(requests, Iterable):
        # An async iterable is the loop's to pull; anything else the batch refuses, exactly as create_many does.
        return requests
    if isinstance(requests, Sized):
        return _SizedCallerInput(requests, inbox, len(requests))
    return _CallerInput(requests, inbox)


async def _next_item(stream: BatchStream[TokenT]) -> BatchSuccess[TokenT] | BatchFailure | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None


class SyncBatchStream(Iterator["BatchSuccess[TokenT] | BatchFailure"], Generic[TokenT]):
    """The plain iterator ``create_many`` of a :class:`SyncSignalWireClient` returns: :class:`BatchItem` s as they
    complete (in input order with ``ordered=True``), the async :class:`BatchStream` 's semantics, blocking.

    The input is pulled in the iterating thread, lazily (never more than about ``concurrency`` ahead of what was
    consumed). Breaking out of the ``for`` (the stream is dropped), :meth:`close` or ``with`` cancel the requests in
    flight; :meth:`close` also waits until they are gone. One thread at a time may iterate it.
    """

    def __init__(self, portal: Portal, start: Callable[[Requests], BatchStream[TokenT]], requests: Requests) -> None:
        self._portal = portal
        self._inbox: Inbox = queue.SimpleQueue()
        source = _caller_side(requests, self._inbox)
        self._input = source if isinstance(source, _CallerInput) else None
        # Made here, so bad arguments are refused by create_many itself, as the async client refuses them.
        self._stream = start(source)
        self._iterating = threading.Lock()
        self._started = False
        self._closed = False

    @property
    def flow(self) -> FlowControl:
        """The batch's flow control: ``limit`` (the concurrency now allowed), ``in_flight``, ``throttled``."""
        return self._stream.flow

    def __iter__(self) -> SyncBatchStream[TokenT]:
        return self

    def __next__(self) -> BatchSuccess[TokenT] | BatchFailure:
        if self._closed:
            raise StopIteration
        if not self._iterating.acquire(blocking=False):
            raise RuntimeError("this batch is being iterated by another thread: one thread at a time may iterate it")
        try:
            self._started = True
            item = self._portal.run_in(self._inbox, _next_item, self._stream)
        except BaseException:
            # Interrupted (Ctrl-C), refused or failed: the batch is over. Return once its requests are gone (a
            # second Ctrl-C stops the waiting); the first error is the one raised.
            with contextlib.suppress(RuntimeError):
                self.close()
            raise
        finally:
            self._iterating.release()
        if item is None:
            self._finish()
            raise StopIteration
        return item

    def close(self) -> None:
        """Cancel the requests in flight and wait until they are gone. Safe to call twice."""
        if not self._closed:
            if self._started and not self._portal.closed:
                self._portal.run(self._stream.aclose)
            self._finish()

    def _finish(self) -> None:
        self._closed = True
        if self._input is not None:
            self._input.release()

    def __del__(self) -> None:
        # Dropped (a ``break`` out of the ``for``): the batch is cancelled on the loop, where its tasks live (the
        # async stream's own ``__del__`` would cancel them from this thread), without blocking whoever dropped it.
        if getattr(self, "_started", False) and not self._closed:
            self._portal.spawn(self._stream.aclose)
            self._finish()

    def __enter__(self) -> SyncBatchStream[TokenT]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
