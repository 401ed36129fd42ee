"""The fake space on a loopback socket: an aiohttp server that hands every request to the space as it is."""

from __future__ import annotations

from aiohttp import web

from ._bodies import Answer
from ._space import Space

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """Serves one :class:`Space` on ``host`` (``port`` 0: a free one); the space, not aiohttp, does the routing, so
    both adapters answer every path alike."""

    def __init__(self, space: Space, host: str, port: int) -> None:
        self._space = space
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Listen, and return the URL of the space."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        outcome = await self._space.answer(request.method, request.url, request.headers, await request.read())
        if isinstance(outcome, Answer):
            return web.Response(status=outcome.status, headers=outcome.headers, body=outcome.body)
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)  # never sent: the connection is gone
