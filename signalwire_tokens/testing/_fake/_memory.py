"""The fake space in process: a :class:`Transport` that hands the request to the space, with no socket.

It fails the way the aiohttp transport does against the loopback server: a dropped connection is a
:class:`ConnectionLostError`, a closed space refuses the connection, and an attempt is bounded by the same limit.
"""

from __future__ import annotations

import asyncio

from ..._errors import ConnectError, ConnectionLostError
from ..._http import Request, Response
from ..._timeouts import attempt_limit, timeout_error
from ._bodies import Answer, Dropped
from ._space import Space

__all__ = ["InMemoryServer", "InMemoryTransport"]


class InMemoryServer:
    """Runs the space's work for in-memory transports, each request in a task of its own: like a server, the space
    carries on with a request whose client stopped waiting (a timeout, a cancellation)."""

    def __init__(self, space: Space) -> None:
        self._space = space
        self._tasks: set[asyncio.Task[Answer | Dropped]] = set()

    @property
    def closed(self) -> bool:
        return self._space.closing.is_set()

    def serve(self, request: Request) -> asyncio.Task[Answer | Dropped]:
        """Start the space's work on ``request`` (its body already bytes): the task that answers it."""
        if not isinstance(request.body, (bytes, type(None))):
            raise TypeError(f"an in-memory transport sends an encoded body (bytes), got {type(request.body).__name__}")
        work = self._space.answer(request.method, request.url, request.headers, request.body or b"")
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Let the requests under way finish: the space is closing, so their delays end now."""
        await asyncio.gather(*self._tasks)


class InMemoryTransport:
    """A :class:`Transport` to the fake space in this process: the request's bytes in, the space's answer out."""

    def __init__(self, server: InMemoryServer) -> None:
        self._server = server
        self._closed = False

    async def __call__(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("this in-memory transport is closed")
        method, url = request.method, str(request.url)
        if self._server.closed:
            raise ConnectError("could not connect: the fake space is closed", method=method, url=url)
        loop = asyncio.get_running_loop()
        seconds, limit = attempt_limit(request, loop.time())
        started = loop.time()
        served = self._server.serve(request)
        try:
            # The shield keeps the space's work going when the attempt gives up, as a server would.
            outcome = await asyncio.wait_for(asyncio.shield(served), seconds)
        except asyncio.TimeoutError:
            assert seconds is not None  # only a limit can run out
            raise timeout_error(request, seconds, limit) from None
        if isinstance(outcome, Dropped):
            raise ConnectionLostError("the server closed the connection before answering", method=method, url=url)
        return Response(outcome.status, outcome.headers, outcome.body, request, request.attempt, loop.time() - started)

    async def aclose(self) -> None:
        """Refuse every later request, as a closed connection pool would."""
        self._closed = True
