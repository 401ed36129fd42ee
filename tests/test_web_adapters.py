"""What only the adapters do: the ASGI app's mount paths (``root_path`` as recent Starlette sets it, a path
stripped as older releases do), ``lifespan`` and websocket scopes, the request object ``identify`` receives under
ASGI, and bodies larger than the cap refused unread, streamed or not, in both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import AsgiRequest, BrowserTokens, Subscriber

from .web_support import identify

HOST = [(b"host", b"app.example.com")]
JSON_POST = [*HOST, (b"origin", b"https://app.example.com"), (b"content-type", b"application/json")]


class Exchange:
    """One ASGI call: the messages it is given, and those the app sends."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming = list(incoming)
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


def http_scope(path: str, *, root_path: str = "", headers: list[tuple[bytes, bytes]] = JSON_POST) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": "POST",
        "scheme": "https",
        "path": path,
        "root_path": root_path,
        "headers": headers,
        "client": ("203.0.113.9", 50000),
        "server": ("app.example.com", 443),
    }


BODY = {"type": "http.request", "body": b"{}", "more_body": False}


@pytest.mark.parametrize(
    ("path", "root_path"),
    [
        ("/signalwire/fabric/token", "/signalwire"),  # Starlette >= 0.35: the full path, and the mount's root_path
        ("/fabric/token", "/signalwire"),  # older Starlette: the prefix stripped from path
        ("/fabric/token", ""),  # the app served at the root
        ("/api/signalwire/fabric/token", "/api/signalwire/"),  # nested mounts
    ],
)
async def test_the_asgi_app_finds_its_route_below_any_mount(
    path: str, root_path: str, client: SignalWireClient
) -> None:
    app = BrowserTokens(client, identify=identify).asgi_app()
    scope = http_scope(path, root_path=root_path, headers=[*JSON_POST, (b"cookie", b"session=alice@example.com")])
    exchange = Exchange(BODY)
    await app(scope, exchange.receive, exchange.send)
    assert exchange.status == 200, exchange.sent


async def test_the_asgi_app_answers_lifespan_and_closes_websockets(client: SignalWireClient) -> None:
    app = BrowserTokens(client, identify=identify).asgi_app()
    lifespan = Exchange({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.receive, lifespan.send)
    assert lifespan.sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    socket = Exchange({"type": "websocket.connect"})
    await app({"type": "websocket", "path": "/fabric/token", "headers": []}, socket.receive, socket.send)
    assert socket.sent == [{"type": "websocket.close", "code": 1008}]


async def test_identify_under_asgi_gets_headers_cookies_method_and_scope(client: SignalWireClient) -> None:
    seen: list[AsgiRequest] = []

    async def look(request: AsgiRequest) -> Subscriber | None:
        seen.append(request)
        return None

    app = BrowserTokens(client, identify=look).asgi_app()
    headers = [*JSON_POST, (b"cookie", b'session="abc"; bad cookie=; theme=dark'), (b"X-User", b"alice")]
    exchange = Exchange(BODY)
    scope = http_scope("/fabric/token", headers=headers)
    await app(scope, exchange.receive, exchange.send)
    assert exchange.status == 401
    (request,) = seen
    assert request.method == "POST"
    assert request.headers["x-user"] == request.headers["X-USER"] == "alice"
    assert request.cookies["session"] == "abc" and request.cookies["theme"] == "dark"
    assert request.scope is scope
    assert request.client == "203.0.113.9"
    assert "alice" not in repr(request)


async def test_the_asgi_app_reads_no_body_past_the_cap_and_stops_on_disconnect(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    app = BrowserTokens(client, identify=identify).asgi_app()
    signed_in = [*JSON_POST, (b"cookie", b"session=alice@example.com")]
    chunk = {"type": "http.request", "body": b" " * 4096, "more_body": True}
    big = Exchange(chunk, chunk, chunk, BODY)
    await app(http_scope("/fabric/token", headers=signed_in), big.receive, big.send)
    assert big.status == 413
    assert len(big.incoming) == 1  # the last message was never asked for
    gone = Exchange({"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"})
    await app(http_scope("/fabric/token", headers=signed_in), gone.receive, gone.send)
    assert gone.status == 400
    # Without a Host header, the server's address is the request's own origin.
    no_host = Exchange(BODY)
    headers = [(b"origin", b"https://app.example.com"), (b"content-type", b"application/json")]
    await app(http_scope("/fabric/token", headers=headers), no_host.receive, no_host.send)
    assert no_host.status == 401  # the origin passed: https://app.example.com is app.example.com:443
    assert fake.requests == []


@pytest.fixture
async def aiohttp_client(client: SignalWireClient) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.add_subapp("/signalwire", BrowserTokens(client, identify=identify).aiohttp_app())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("chunks", "status", "sent"),
    [([b" " * 1024] * 64, 413, 0), ([b"{", b"}"], 200, 1)],
    ids=["past the cap, unread", "within it"],
)
async def test_the_aiohttp_app_reads_a_streamed_body_up_to_the_cap(
    chunks: list[bytes],
    status: int,
    sent: int,
    aiohttp_client: TestClient[web.Request, web.Application],
    fake: FakeSignalWire,
) -> None:
    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for chunk in chunks:
            yield chunk

    headers = {
        "Origin": f"http://{aiohttp_client.host}:{aiohttp_client.port}",
        "Content-Type": "application/json",
        "Cookie": "session=alice@example.com",
    }
    async with aiohttp_client.post("/signalwire/fabric/token", data=stream(), headers=headers) as response:
        assert response.status == status
        assert response.headers["Cache-Control"] == "no-store"
    assert len(fake.requests) == sent


async def test_an_empty_body_is_an_empty_object(client: SignalWireClient) -> None:
    app = BrowserTokens(client, identify=identify).asgi_app()
    exchange = Exchange({"type": "http.request", "body": b"", "more_body": False})
    scope = http_scope("/fabric/token", headers=[*JSON_POST, (b"cookie", b"session=alice@example.com")])
    await app(scope, exchange.receive, exchange.send)
    assert exchange.status == 200


async def test_fastapi_mounts_the_asgi_app(client: SignalWireClient, fake: FakeSignalWire) -> None:
    fastapi = pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    app = fastapi.FastAPI()
    app.mount("/signalwire", BrowserTokens(client, identify=identify).asgi_app())
    headers = {"Origin": "http://testserver", "Content-Type": "application/json", "Cookie": "session=alice@example.com"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        reply = await http.post("/signalwire/fabric/token", headers=headers, content=b"{}")
        missing = await http.post("/signalwire/video/token", headers=headers, content=b"{}")
    assert reply.status_code == 200, reply.text
    assert set(reply.json()) == {"token", "expiresAt"}
    assert missing.status_code == 404
    assert len(fake.requests) == 1
