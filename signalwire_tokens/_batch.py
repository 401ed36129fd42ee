"""Concurrent batch minting: a bounded pool of workers pulling lazily from the caller's requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ._errors import InvalidRequestError, SignalWireError
from ._models import BatchItem, ChatToken, ChatTokenRequest
from ._validate import check_int

__all__ = ["BatchStream"]

Mint = Callable[[ChatTokenRequest], Awaitable[ChatToken]]
_DONE = object()


def _as_request(item: Any) -> ChatTokenRequest:
    if isinstance(item, ChatTokenRequest):
        return item
    if isinstance(item, Mapping):
        return ChatTokenRequest(**item)
    raise InvalidRequestError(
        f"a batch item must be a ChatTokenRequest or a dict of its fields, not {type(item).__name__}"
    )


class BatchStream(AsyncIterator[BatchItem]):
    """The async iterator ``create_many`` returns.

    ``concurrency`` workers each pull one request, mint it and queue the outcome. A worker pulls only while fewer
    than ``concurrency`` outcomes are pulled but not yet taken by the consumer, so the input is never read more
    than ``concurrency`` items ahead and memory stays flat however long the input is.

    Breaking out of ``async for`` cancels the workers; ``aclose()`` (or ``async with``) also waits for them.
    """

    def __init__(self, mint: Mint, requests: Iterable[Any] | AsyncIterable[Any], *, concurrency: int = 32) -> None:
        self._concurrency = check_int("concurrency", concurrency, minimum=1)
        self._sync_source: Iterator[Any] | None = None
        self._async_source: AsyncIterator[Any] | None = None
        if isinstance(requests, AsyncIterable):
            self._async_source = aiter(requests)
        elif isinstance(requests, Iterable):
            self._sync_source = iter(requests)
        else:
            raise InvalidRequestError(f"requests must be an iterable or async iterable, not {type(requests).__name__}")
        self._mint = mint
        self._next_index = 0
        self._exhausted = False
        self._workers: list[asyncio.Task[None]] = []
        self._running = 0
        self._outcomes: asyncio.Queue[BatchItem | BaseException | object] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._pull_lock: asyncio.Lock | None = None
        self._closed = False

    def _start(self) -> asyncio.Queue[BatchItem | BaseException | object]:
        self._outcomes = asyncio.Queue()
        self._slots = asyncio.Semaphore(self._concurrency)
        self._pull_lock = asyncio.Lock()
        self._running = self._concurrency
        self._workers = [asyncio.ensure_future(self._work()) for _ in range(self._concurrency)]
        return self._outcomes

    async def _pull(self) -> tuple[int, Any] | None:
        try:
            if self._sync_source is not None:
                if self._exhausted:
                    return None
                item = next(self._sync_source)
            else:
                assert self._async_source is not None
                assert self._pull_lock is not None
                # An async generator cannot be advanced by two tasks at once.
                async with self._pull_lock:
                    if self._exhausted:
                        return None
                    item = await self._async_source.__anext__()
        except (StopIteration, StopAsyncIteration):
            self._exhausted = True
            return None
        index, self._next_index = self._next_index, self._next_index + 1
        return index, item

    async def _work(self) -> None:
        assert self._outcomes is not None
        assert self._slots is not None
        try:
            while True:
                await self._slots.acquire()
                pulled = await self._pull()
                if pulled is None:
                    self._slots.release()
                    return
                index, request = pulled
                try:
                    request = _as_request(request)
                    outcome = BatchItem(index, request, token=await self._mint(request))
                except SignalWireError as error:
                    outcome = BatchItem(index, request, error=error)
                self._outcomes.put_nowait(outcome)
        except Exception as error:  # the input iterator failed: the consumer gets the error
            self._exhausted = True
            self._outcomes.put_nowait(error)
        finally:
            self._running -= 1
            if self._running == 0:
                self._outcomes.put_nowait(_DONE)

    def __aiter__(self) -> BatchStream:
        return self

    async def __anext__(self) -> BatchItem:
        if self._closed:
            raise StopAsyncIteration
        outcomes = self._outcomes if self._outcomes is not None else self._start()
        assert self._slots is not None
        outcome = await outcomes.get()
        if isinstance(outcome, BatchItem):
            self._slots.release()
            return outcome
        await self.aclose()
        if isinstance(outcome, BaseException):
            raise outcome
        raise StopAsyncIteration

    def _cancel(self) -> None:
        self._closed = True
        for worker in self._workers:
            worker.cancel()

    async def aclose(self) -> None:
        """Cancel the requests in flight and wait until they are gone."""
        self._cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    def __del__(self) -> None:
        # Breaking out of ``async for`` drops the last reference: cancel at once rather than leak the workers.
        for worker in self._workers:
            if not worker.done() and not worker.get_loop().is_closed():
                worker.cancel()

    async def __aenter__(self) -> BatchStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
