"""The aiohttp adapter: a sub-application (``app.add_subapp("/signalwire", tokens.aiohttp_app())``) that turns an
``aiohttp.web.Request`` into the core's :class:`~._core.Incoming` and its answer into a response; nothing else."""

from __future__ import annotations

from aiohttp import web

from ._bodies import MAX_BODY
from ._core import Core, Incoming

__all__ = ["aiohttp_app"]


async def _body(request: web.Request) -> bytes | None:
    """The body, or None past MAX_BODY (read no further than that: a browser cannot make us buffer more)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    data = bytearray()
    while chunk := await request.content.read(MAX_BODY + 1 - len(data)):
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return bytes(data)


def aiohttp_app(core: Core) -> web.Application:
    """A sub-application answering every route of ``core`` below its mount point."""

    async def handle(request: web.Request) -> web.StreamResponse:
        incoming = Incoming(
            route=request.match_info["route"],
            method=request.method,
            headers=request.headers,
            body=await _body(request) if request.method == "POST" else b"",
            own_origin=f"{request.scheme}://{request.host}",
            client_address=request.remote,
            native=request,
        )
        answer = await core.handle(incoming)
        return web.Response(status=answer.status, headers=answer.headers, body=answer.body)

    app = web.Application()
    app.router.add_route("*", "/{route:.*}", handle)
    return app
