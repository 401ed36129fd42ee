"""The browser endpoints as a page sees them, through either adapter: ``serve(tokens, adapter)`` mounts a
:class:`BrowserTokens` at ``/signalwire`` of an aiohttp app on a loopback test server, or of a Starlette app
through httpx's in-process ASGI transport, and hands out a :class:`Browser` that posts to its routes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs
import httpx
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from starlette.applications import Starlette
from starlette.routing import Mount

from signalwire_tokens.web import BrowserTokens, Subscriber

ADAPTERS = ("aiohttp", "asgi")
ALICE = "alice@example.com"
FINGERPRINT = "Vg1h7IDV3AR6kTpCkZPHOVs32B81DX1naHiHbYoKXgY"


async def identify(request: Any) -> Subscriber | None:
    """The test app's sign-in: the ``session`` cookie names the user."""
    user = request.cookies.get("session")
    return Subscriber(reference=user, first_name="Alice") if user else None


@attrs.frozen
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """A signed-in page (cookie ``session=alice@example.com``) on the app's own origin, unless told otherwise."""

    def __init__(self, send: Any, origin: str) -> None:
        self._send = send
        #: The app's own origin, as the test server is reached.
        self.origin = origin

    async def post(
        self,
        route: str,
        body: Any = None,
        *,
        method: str = "POST",
        raw: bytes | None = None,
        headers: Mapping[str, str | None] | None = None,
        user: str | None = ALICE,
    ) -> Reply:
        sent = {"Origin": self.origin, "Content-Type": "application/json"}
        if user is not None:
            sent["Cookie"] = f"theme=dark; session={user}"
        for name, value in (headers or {}).items():
            if value is None:
                sent.pop(name, None)
            else:
                sent[name] = value
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        return await self._send(method, f"/signalwire/{route}", sent, data)


@contextlib.asynccontextmanager
async def serve(tokens: BrowserTokens, adapter: str) -> AsyncIterator[Browser]:
    if adapter == "aiohttp":
        app = web.Application()
        app.add_subapp("/signalwire", tokens.aiohttp_app())
        async with TestClient(TestServer(app)) as client:

            async def send_aiohttp(method: str, path: str, headers: dict[str, str], data: bytes) -> Reply:
                async with client.request(method, path, headers=headers, data=data) as response:
                    return Reply(response.status, response.headers, await response.read())

            yield Browser(send_aiohttp, f"http://{client.host}:{client.port}")
    else:
        starlette = Starlette(routes=[Mount("/signalwire", app=tokens.asgi_app())])
        transport = httpx.ASGITransport(app=starlette)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def send_asgi(method: str, path: str, headers: dict[str, str], data: bytes) -> Reply:
                response = await http.request(method, path, headers=headers, content=data)
                return Reply(response.status_code, response.headers, response.content)

            yield Browser(send_asgi, "http://testserver")
