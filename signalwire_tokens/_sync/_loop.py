"""One event loop in a daemon thread of its own: started on first use, stopped once, never restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable

__all__ = ["BackgroundLoop", "Refused"]


class Refused(RuntimeError):
    """The loop took nothing: the client is closed, or its loop belongs to the process this one was forked from."""


class BackgroundLoop:
    """The thread and the loop that a :class:`SyncSignalWireClient` runs every call on.

    Started lazily, by the first callback submitted: a client made at import time costs no thread until it is used,
    and a process that forks before that (gunicorn's ``--preload``) starts its own loop in each child. The thread
    runs ``asyncio.run``, so stopping it does what ``asyncio.run`` does at the end: cancel the tasks left, finalize
    async generators, close the loop. It is a daemon, so a client nobody closed never keeps the process from exiting.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        # Held only to check-and-submit or to start: never while waiting for the loop.
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._spawned: set[asyncio.Future[object]] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def forked(self) -> bool:
        """True in a child process forked after the loop started: the loop's thread exists only in the parent."""
        return self._loop is not None and self._pid != os.getpid()

    def on_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, callback: Callable[[], object], *, closing: bool = False) -> None:
        """Run ``callback`` on the loop, soon (starting the loop first if needed). Refused once closed, except for
        the work of closing (``closing=True``)."""
        with self._lock:
            if self._closed and not closing:
                raise Refused(f"the {self._owner} is closed")
            loop = self._loop if self._loop is not None else self._start()
            if self._pid != os.getpid():
                raise Refused(
                    f"this {self._owner} started its event loop in another process, which then forked: its loop "
                    "thread does not exist here. Make the client in each process, or use it first after the fork"
                )
            # A closed loop raises RuntimeError here rather than drop the callback: nobody waits for it forever.
            loop.call_soon_threadsafe(callback)

    def spawn(self, function: Callable[[], Awaitable[object]]) -> None:
        """Start ``function()`` as a task of the loop, held until it is done, if the loop runs; else nothing. Takes no
        lock, so it is safe from ``__del__`` (a collection may run while this thread holds the lock)."""

        def start() -> None:
            task = asyncio.ensure_future(function())
            self._spawned.add(task)
            task.add_done_callback(self._spawned.discard)

        loop = self._loop
        if loop is not None and not self.forked:
            with contextlib.suppress(RuntimeError):  # the loop is closed: what ran on it is gone already
                loop.call_soon_threadsafe(start)

    def refuse_calls(self) -> bool:
        """Refuse every later :meth:`submit` but the closing one; True for the first caller only."""
        with self._lock:
            first, self._closed = not self._closed, True
            return first

    def stop(self) -> None:
        """Let ``asyncio.run`` finish (on the loop thread: called once, by the closing coroutine)."""
        assert self._stopping is not None
        self._stopping.set_result(None)

    def join(self) -> None:
        """Wait until the thread has ended, unless this is that thread (it ends once the current callback returns)."""
        if self._thread is not None and not self.on_loop_thread() and not self.forked:
            self._thread.join()

    def _start(self) -> asyncio.AbstractEventLoop:
        ready = threading.Event()
        thread = threading.Thread(target=self._serve, args=(ready,), name=f"{self._owner}-loop", daemon=True)
        self._thread, self._pid = thread, os.getpid()
        thread.start()
        try:
            ready.wait()
        except BaseException:  # pragma: no cover - a Ctrl-C in the microseconds the thread takes to start
            ready.wait()  # it starts all the same: let it be the one loop (a second Ctrl-C here gives up)
            raise
        assert self._loop is not None
        return self._loop

    def _serve(self, ready: threading.Event) -> None:
        asyncio.run(self._until_stopped(ready))

    async def _until_stopped(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = self._loop.create_future()
        ready.set()
        await self._stopping
