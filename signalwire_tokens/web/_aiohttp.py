"""The aiohttp adapter: a sub-application (``app.add_subapp("/signalwire", tokens.aiohttp_app())``) that turns an
``aiohttp.web.Request`` into the core's :class:`~._core.Incoming` and its answer into a response; nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ._bodies import MAX_BODY
from ._core import Core, Incoming

__all__ = ["aiohttp_app"]


async def _body(request: web.Request) -> bytes | None:
    """The body, or None past MAX_BODY (read no further than that: a browser cannot make us buffer more)."""
    length = request.content_length
    if length is not None:
        # Its length said: read in one go (a body that ends short is the parser's error, raised here).
        return None if length > MAX_BODY else await request.content.readexactly(length)
    data = bytearray()
    while chunk := await request.content.read(MAX_BODY + 1 - len(data)):
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return bytes(data)


def aiohttp_app(core: Core) -> web.Application:
    """A sub-application answering every route of ``core`` below its mount point: each mounted route by its own
    path (resolved by aiohttp's index, no pattern to match), anything else by a catch-all the core answers 404."""

    def handler(route: str | None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            incoming = Incoming(
                route=request.match_info["route"] if route is None else route,
                method=request.method,
                headers=request.headers,
                body=await _body(request) if request.method == "POST" else b"",
                own_origin=f"{request.scheme}://{request.host}",
                client_address=request.remote,
                native=request,
            )
            answer = await core.handle(incoming)
            return web.Response(status=answer.status, headers=answer.headers, body=answer.body)

        return handle

    app = web.Application()
    for route in core.routes:
        app.router.add_route("*", f"/{route}", handler(route))
    app.router.add_route("*", "/{route:.*}", handler(None))
    return app
