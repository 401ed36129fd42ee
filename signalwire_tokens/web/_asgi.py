"""The ASGI adapter: a plain ASGI 3 application (no framework needed; ``app.mount("/signalwire",
tokens.asgi_app())`` in FastAPI or Starlette) that turns a scope and its body into the core's
:class:`~._core.Incoming`, and its answer into ``http.response`` messages; nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from ._bodies import MAX_BODY
from ._core import Core, Incoming

__all__ = ["AsgiApp", "AsgiRequest", "asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application.
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _cookies(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` header, read pair by pair as browsers send them (``http.cookies`` gives up on a
    whole header for one malformed pair, another app's on the same domain perhaps, and would hide the session's);
    the first of two same-named cookies wins, as RFC 6265 orders the more specific first."""
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if sep and name:
            found.setdefault(name.strip(), value)
    return found


class AsgiRequest:
    """The request ``identify`` and ``guest_addresses`` receive under :meth:`BrowserTokens.asgi_app`: ``method``,
    ``headers`` (looked up case-insensitively; several values of one header joined), ``cookies`` (from the
    ``Cookie`` header), ``client`` (the peer's address, or None) and the ASGI ``scope`` itself."""

    __slots__ = ("client", "cookies", "headers", "method", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope: Scope = scope
        self.method: str = str(scope.get("method", "GET")).upper()
        headers: CIMultiDict[str] = CIMultiDict()
        for raw_name, raw_value in scope.get("headers", ()):
            headers.add(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(headers)
        self.cookies: dict[str, str] = _cookies("; ".join(headers.getall("Cookie", [])))
        client = scope.get("client")
        self.client: str | None = str(client[0]) if client else None

    def __repr__(self) -> str:
        return f"AsgiRequest({self.method} {self.scope.get('path', '')!r})"


def _route(scope: Scope) -> str:
    """The path below the mount: Starlette's ``Mount`` keeps the full path and sets ``root_path`` (recent
    releases) or strips the prefix from ``path`` (older ones); both leave the route."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "")).rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return path.lstrip("/")


def _own_origin(scope: Scope, request: AsgiRequest) -> str:
    host = request.headers.get("Host")
    if host is None:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else ""
    return f"{scope.get('scheme', 'http')}://{host}"


async def _body(receive: Receive) -> bytes | None:
    """The body, or None past MAX_BODY (read no further). A disconnect ends it early: nobody waits for an answer."""
    data = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(data)
        data += message.get("body", b"")
        if len(data) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return bytes(data)


async def _lifespan(receive: Receive, send: Send) -> None:
    # Nothing to start or stop: the client and the store belong to the app, which opens and closes them. The
    # protocol's two messages are each acknowledged as done.
    while True:
        kind = (await receive())["type"]
        await send({"type": f"{kind}.complete"})
        if kind == "lifespan.shutdown":
            return


def asgi_app(core: Core) -> AsgiApp:
    """An ASGI 3 application answering every route of ``core`` below its mount point."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            # A websocket (ASGI's one other scope) has no route here: refuse the handshake.
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        request = AsgiRequest(scope)
        incoming = Incoming(
            route=_route(scope),
            method=request.method,
            headers=request.headers,
            body=await _body(receive) if request.method == "POST" else b"",
            own_origin=_own_origin(scope, request),
            client_address=request.client,
            native=request,
        )
        answer = await core.handle(incoming)
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items()]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    return app
