"""Test doubles shared by several test modules (test modules never import each other)."""

from __future__ import annotations

import asyncio
import heapq
import importlib.util
import threading
import time
from collections.abc import AsyncIterable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from signalwire_tokens import (
    ApiError,
    ChatToken,
    ChatTokenRequest,
    Extensions,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SyncSignalWireClient,
)
from signalwire_tokens._batch import BatchStream
from signalwire_tokens._batch_pool import Mint
from signalwire_tokens._decode import decode_error
from signalwire_tokens._http import NO_EXTENSIONS
from signalwire_tokens.resources._channel_models import as_request
from signalwire_tokens.testing import FakeSignalWire

from .conftest import make_response

READ = {"read": True}
TokenT = TypeVar("TokenT")
EXAMPLES = Path(__file__).parents[1] / "examples"


class RunAhead:
    """``time.time()`` moved ahead by ``skip`` seconds: a clock for the browser endpoints, so a test reaches the
    moment the SDK refreshes (shortly before the SAT expires) without waiting for it."""

    def __init__(self) -> None:
        self.skip = 0.0

    def __call__(self) -> float:
        return time.time() + self.skip

    def until_shortly_before(self, expires_at_ms: int) -> None:
        self.skip = expires_at_ms / 1000 - time.time() - 60


def load_recipe(name: str) -> ModuleType:
    """A recipe under examples/, imported as a server imports it (its module-level code run once)."""
    spec = importlib.util.spec_from_file_location(Path(name).stem, EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe


def chat_batch(mint: Mint[TokenT], requests: Iterable[Any] | AsyncIterable[Any], **options: Any) -> BatchStream[TokenT]:
    """The batch engine as chat tokens drive it: input items become :class:`ChatTokenRequest` s."""
    return BatchStream(mint, requests, as_request=lambda item: as_request(item, ChatTokenRequest), **options)


def requests(n: int) -> list[ChatTokenRequest]:
    return [ChatTokenRequest(ttl=5, channels={"c": READ}, member_id=f"m{i}") for i in range(n)]


class Minter:
    """A fake mint that counts concurrency and can be held or made to fail."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started = 0
        self.cancelled = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail = fail or set()

    async def __call__(self, request: ChatTokenRequest, _extensions: Extensions = NO_EXTENSIONS) -> ChatToken:
        self.started += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.release.wait()
            await asyncio.sleep(0)
            if request.member_id in self.fail:
                raise ServerError("boom", status=500)
            return ChatToken(
                f"jwt-{request.member_id}",
                request.member_id,
                datetime.now(timezone.utc) + timedelta(minutes=request.ttl),
            )
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


async def held_batch(n: int, concurrency: int) -> tuple[Minter, BatchStream[ChatToken], asyncio.Future[Any]]:
    """A batch of ``n`` rows whose mint holds them all, and its consumer, started and waiting for the first row."""
    minter = Minter()
    minter.release.clear()
    stream = chat_batch(minter, requests(n), concurrency=concurrency)
    first = asyncio.ensure_future(anext(stream))
    for _ in range(5):
        await asyncio.sleep(0)
    return minter, stream, first


def error_response(status: int, headers: dict[str, str] | None = None, request: Request | None = None) -> ApiError:
    return decode_error(make_response(status, b'{"error":"x"}', headers=headers, request=request))


class RecordingTransport:
    """A Transport double: answers every request with ``status`` and ``body``, records what it was given, and
    counts how often it was closed."""

    def __init__(self, status: int = 200, body: bytes = b'{"token": "jwt"}') -> None:
        self.status = status
        self.body = body
        self.requests: list[Request] = []
        self.closes = 0

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(self.status, {"Content-Type": "application/json"}, self.body, request, request.attempt)

    async def aclose(self) -> None:
        self.closes += 1


class ThreadedFake:
    """A FakeSignalWire on its own event loop in a thread, since the CLI runs its own loop."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.fake = FakeSignalWire(**options)
        self.loop.run_until_complete(self.fake.start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.wait_for_requests(n, timeout=timeout), self.loop).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        # The connections the server closed last finish closing in a later callback: run those before closing the
        # loop, or their sockets are left for the garbage collector (a ResourceWarning in some later test).
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


async def no_wait(_seconds: float) -> None:
    """A retry sleep that does not wait."""


def sync_client(space: ThreadedFake, **options: Any) -> SyncSignalWireClient:
    """A SyncSignalWireClient bound to a fake space on its own thread; retries skip their waits unless ``retry=``
    says otherwise (as ``FakeSignalWire.client()`` does for the async client)."""
    options.setdefault("retry", RetryPolicy(sleep=no_wait))
    options.setdefault("api_token", space.fake.api_token)
    return SyncSignalWireClient(None, space.fake.project_id, base_url=space.fake.url, **options)


class Hold:
    """A middleware that lets the first ``passes`` calls through once ``everyone`` calls are inside it, and holds
    the rest until :meth:`release`; it counts arrivals and cancellations, and the test's thread waits on them."""

    def __init__(self, *, passes: int = 0, everyone: int = 1) -> None:
        self.passes = passes
        self.everyone = everyone
        self.inside = 0
        self.cancelled = 0
        self.changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._all_in: asyncio.Event | None = None
        self._open: asyncio.Event | None = None

    async def __call__(self, request: Request, call_next: Any) -> Response:
        if self._all_in is None or self._open is None:
            self._loop, self._all_in, self._open = asyncio.get_running_loop(), asyncio.Event(), asyncio.Event()
        with self.changed:
            self.inside += 1
            number = self.inside
            self.changed.notify_all()
        if self.inside >= self.everyone:
            self._all_in.set()
        try:
            await (self._all_in if number <= self.passes else self._open).wait()
        except asyncio.CancelledError:
            with self.changed:
                self.cancelled += 1
                self.changed.notify_all()
            raise
        response: Response = await call_next(request)
        return response

    def wait_until(self, *, inside: int = 0, cancelled: int = 0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.inside >= inside and self.cancelled >= cancelled, timeout=5)

    def release(self) -> None:
        assert self._loop is not None and self._open is not None
        self._loop.call_soon_threadsafe(self._open.set)


class Answers:
    """An attempt middleware that keeps every raw answer the fake gave."""

    def __init__(self) -> None:
        self.responses: list[Response] = []

    async def __call__(self, request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        self.responses.append(response)
        return response


class VirtualTime:
    """A clock and a sleep for code that takes both (``LocalRateLimit(clock=..., sleep=...)``): sleepers wake in
    the order of their wake times, and time jumps to each wake, so a test of minutes of waiting runs in
    milliseconds. ``run`` drives the given coroutines until all are done."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._count, waiter))
        await waiter

    async def run(self, *coroutines: Any) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        idle = 0
        while not all(t.done() for t in tasks):
            idle += 1
            assert idle < 10_000, "nothing left to wake, yet the tasks are not done"
            for _ in range(5):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
                heapq.heappop(self._sleepers)
            if self._sleepers:
                wake, _, waiter = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                waiter.set_result(None)
        return await asyncio.gather(*tasks, return_exceptions=True)
