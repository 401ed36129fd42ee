"""Blocking calls into the background loop: a coroutine function runs there while the calling thread waits for its
outcome; an interrupt of the waiting thread (Ctrl-C) cancels it on the loop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, TypeVar, cast

from ._loop import BackgroundLoop, Refused

__all__ = ["CANCEL_GRACE", "Inbox", "Portal"]

T = TypeVar("T")
P = ParamSpec("P")

#: Seconds an interrupted call is given to unwind on the loop (release its connection, leave the retry budget and
#: the batch's flow control as they were) before the interrupt is raised anyway.
CANCEL_GRACE = 5.0

#: What the loop posts to a waiting thread, each to be run there: a piece of work (a batch's next input is pulled in
#: the consuming thread: see ``_batch``), or a call of its own, which says it is done by being posted.
Inbox = queue.SimpleQueue[Callable[[], object]]


class _Call(Generic[T]):
    """``function(*args, **kwargs)`` awaited in a task of the loop; it reports to ``inbox`` when it is done."""

    __slots__ = ("_args", "_error", "_function", "_inbox", "_kwargs", "_result", "_task")

    def __init__(
        self, function: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any], inbox: Inbox
    ) -> None:
        self._function = function
        self._args = args
        self._kwargs = kwargs
        self._inbox = inbox
        self._task: asyncio.Task[None] | None = None
        self._result: T | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """On the loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        # The coroutine is made here, on the loop: a call refused before it started leaves none un-awaited. The
        # outcome is kept and reported from inside the task, a loop iteration sooner than a done callback would, and
        # the task always ends normally: nobody awaits it, so nothing is left for asyncio to log, and even a
        # KeyboardInterrupt raised by a middleware reaches the caller instead of stopping the loop.
        try:
            self._result = await self._function(*self._args, **self._kwargs)
        except BaseException as error:
            self._error = error
        finally:
            self._inbox.put(self)

    def cancel(self) -> None:
        """On the loop. The loop runs callbacks in the order they were submitted, so the task exists here unless
        the interrupt came before :meth:`start` was handed over: then the call is over as it stands."""
        if self._task is not None:
            self._task.cancel()
        else:  # pragma: no cover - only an interrupt inside submit(), before call_soon_threadsafe, gets here
            self._inbox.put(self)

    def __call__(self) -> None:
        """Run as the work of a waiting thread when a call it gave up on (after an interrupt) lands late in its
        inbox: nothing to do."""

    def outcome(self, owner: str) -> T:
        """In the waiting thread, once the call reported to its inbox: the result, or the call's own exception."""
        error, self._error = self._error, None  # no reference cycle through the traceback
        if error is None:
            return cast(T, self._result)
        if isinstance(error, asyncio.CancelledError):
            raise RuntimeError(f"the {owner} was closed while this call was in flight") from None
        raise error


def _refuse_inside_a_loop(owner: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{owner} blocks until each call is done, so it cannot be called inside a running event loop (that loop "
        "would stall): use SignalWireClient there, and await its calls"
    )


def _hand_over_and_wait(call: _Call[Any], inbox: Inbox, loop: BackgroundLoop) -> None:
    """Submit ``call`` and, until it is done, run the work the loop posts to ``inbox``. Interrupted anywhere from the
    hand-over on (a Ctrl-C can land in this thread before it is even waiting), cancel the call on the loop."""
    try:
        loop.submit(call.start)
        while (event := inbox.get()) is not call:
            event()
    except Refused:
        raise  # the loop took nothing: there is nothing to cancel
    except BaseException:  # KeyboardInterrupt, or whatever else a signal handler raised in this thread
        _abandon(call, inbox, loop)
        raise


def _abandon(call: _Call[Any], inbox: Inbox, loop: BackgroundLoop) -> None:
    """Cancel ``call`` on the loop and wait, at most :data:`CANCEL_GRACE` seconds, until it is gone: the client is
    then as it was before the call, usable or closable. Work posted meanwhile is dropped (its batch is stopping)."""
    with contextlib.suppress(RuntimeError):  # the loop is gone: nothing of the call runs any more
        loop.submit(call.cancel, closing=True)
    deadline = time.monotonic() + CANCEL_GRACE
    events = iter(lambda: inbox.get(timeout=max(0.0, deadline - time.monotonic())), call)
    with contextlib.suppress(queue.Empty):
        collections.deque(events, maxlen=0)  # every event up to the call's own, dropped


async def _close_then_stop(loop: BackgroundLoop, aclose: Callable[[], Awaitable[None]]) -> None:
    try:
        await aclose()
    finally:
        loop.stop()


def _close(loop: BackgroundLoop, aclose: Callable[[], Awaitable[None]], owner: str, *, start: bool) -> None:
    """Refuse new calls, run ``aclose`` on the loop, stop it and join its thread. The first closer does the work; a
    later one only waits for the thread. ``start``: start the loop to close the client even if it never ran (an
    explicit close: a transport or limiter that was given is closed all the same; never from the finalizer, which may
    run at interpreter exit, where no thread can start)."""
    if not loop.refuse_calls() or loop.forked or not (start or loop.started):
        loop.join()
        return
    inbox: Inbox = queue.SimpleQueue()
    call = _Call(_close_then_stop, (loop, aclose), {}, inbox)
    loop.submit(call.start, closing=True)
    if loop.on_loop_thread():
        return  # closed from a callback on the loop: the closing runs once that callback returns
    try:
        inbox.get()  # the call's own report: nothing else is posted to this inbox
    finally:
        loop.join()
    call.outcome(owner)


class Portal:
    """Runs the async client's coroutine functions on one :class:`BackgroundLoop` for any number of blocking
    threads at once (each call is a task of its own on the loop: calls from several threads run concurrently).

    ``aclose`` closes what runs on the loop (the async client); :meth:`close` runs it, then stops the loop. The
    portal is also closed when it is dropped (the client, its resources, streams and caches all unreachable) and
    at interpreter exit, so a client made per request and never closed leaves no thread behind.
    """

    def __init__(self, owner: str, aclose: Callable[[], Awaitable[None]]) -> None:
        self._owner = owner
        self._loop = BackgroundLoop(owner)
        self._aclose = aclose
        # Neither the loop nor aclose refers back to the portal, so it can be collected while the thread runs.
        self._finalizer = weakref.finalize(self, _close, self._loop, aclose, owner, start=False)

    @property
    def closed(self) -> bool:
        return self._loop.closed

    def run(self, function: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``function(*args, **kwargs)`` on the loop and return its result (or raise its exception) here."""
        return self.run_in(queue.SimpleQueue(), function, *args, **kwargs)

    def call(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a plain function on the loop's thread (for objects that only the loop's thread may touch)."""

        async def plain() -> T:
            return function(*args, **kwargs)

        return self.run(plain)

    def run_in(self, inbox: Inbox, function: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`run`, running meanwhile in this thread the work the loop posts to ``inbox``."""
        _refuse_inside_a_loop(self._owner)
        call = _Call(function, args, kwargs, inbox)
        _hand_over_and_wait(call, inbox, self._loop)
        return call.outcome(self._owner)

    def spawn(self, function: Callable[[], Awaitable[object]]) -> None:
        """Start ``function()`` on the loop without waiting for it; nothing happens when the loop is not running.
        Safe from any thread and from ``__del__`` (it takes no lock)."""
        self._loop.spawn(function)

    def close(self) -> None:
        """Close the async client on the loop, then stop the loop and join its thread. Safe to call twice."""
        self._finalizer.detach()
        _close(self._loop, self._aclose, self._owner, start=True)
