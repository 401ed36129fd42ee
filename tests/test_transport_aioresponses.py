"""The transport and the whole client against aioresponses (which patches aiohttp's ``ClientSession._request``).

aioresponses 0.7.9 does not work on aiohttp >= 3.14; the e2e run on the newest aiohttp skips this module.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from signalwire_tokens import (
    ApiError,
    AuthenticationError,
    ConnectError,
    ConnectionLostError,
    InvalidRequestError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    UnexpectedResponseError,
)
from signalwire_tokens._transport import AiohttpTransport

from .conftest import API_TOKEN, PROJECT_ID, TOKEN_ID, make_request

aioresponses_module = pytest.importorskip("aioresponses")

BASE = "https://example.signalwire.com"
CHAT = f"{BASE}/api/chat/tokens"
TOKENS = f"{BASE}/api/laml/2010-04-01/Accounts/{PROJECT_ID}/tokens"
TOKEN_BODY = {"id": TOKEN_ID, "name": "ci-bot", "permissions": ["calling", "fax"], "token": API_TOKEN}
NO_WAIT = RetryPolicy(sleep=lambda _s: asyncio.sleep(0))


@pytest.fixture
def mocked() -> Iterator[aioresponses_module.aioresponses]:
    with aioresponses_module.aioresponses() as m:
        yield m


def sent(mocked: aioresponses_module.aioresponses, method: str, url: str) -> list[object]:
    return mocked.requests[(method, URL(url))]


async def test_chat_token_wire_format(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, payload={"token": "eyJhbGciOi.eyJpYXQ.sig"})
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN) as client:
        token = await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}}, member_id="alice")
    assert token.token == "eyJhbGciOi.eyJpYXQ.sig"
    assert token.member_id == "alice"
    (call,) = sent(mocked, "POST", CHAT)
    kwargs = call.kwargs  # type: ignore[attr-defined]
    assert json.loads(kwargs["data"]) == {
        "ttl": 60,
        "channels": {"lobby": {"read": True, "write": False}},
        "member_id": "alice",
    }
    headers = kwargs["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("signalwire-tokens/")
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()
    assert kwargs["allow_redirects"] is False
    assert "auth" not in kwargs


async def test_api_token_create_is_form_encoded(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(TOKENS, payload=TOKEN_BODY)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN) as client:
        token = await client.api_tokens.create("ci-bot", ["calling", "fax"])
    assert token.permissions == ("calling", "fax")
    (call,) = sent(mocked, "POST", TOKENS)
    assert call.kwargs["data"] == b"name=ci-bot&permissions=calling&permissions=fax"  # type: ignore[attr-defined]
    assert call.kwargs["headers"]["Content-Type"] == "application/x-www-form-urlencoded"  # type: ignore[attr-defined]


async def test_update_and_delete_paths(mocked: aioresponses_module.aioresponses) -> None:
    mocked.patch(f"{TOKENS}/{TOKEN_ID}", payload={**TOKEN_BODY, "name": "renamed"})
    mocked.delete(f"{TOKENS}/{TOKEN_ID}", status=204)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN) as client:
        assert (await client.api_tokens.update(TOKEN_ID, name="renamed")).name == "renamed"
        assert await client.api_tokens.delete(TOKEN_ID) is None
    (patch,) = sent(mocked, "PATCH", f"{TOKENS}/{TOKEN_ID}")
    assert json.loads(patch.kwargs["data"]) == {"name": "renamed"}  # type: ignore[attr-defined]


async def test_redirects_are_not_followed_and_are_errors(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, status=302, headers={"Location": "https://elsewhere.example.com/"}, body=b"")
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=NO_WAIT) as client:
        with pytest.raises(ApiError) as info:
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
    assert type(info.value) is ApiError
    assert info.value.status == 302
    assert len(sent(mocked, "POST", CHAT)) == 1


async def test_5xx_is_retried_then_succeeds(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, status=502, body=b"<html>bad gateway</html>")
    mocked.post(CHAT, payload={"token": "t"})
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=NO_WAIT) as client:
        assert (await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})).token == "t"
    assert len(sent(mocked, "POST", CHAT)) == 2


async def test_connection_refused_is_a_connect_error(mocked: aioresponses_module.aioresponses) -> None:
    key = aiohttp.client_reqrep.ConnectionKey("example.signalwire.com", 443, True, True, None, None, None)
    mocked.post(CHAT, exception=aiohttp.ClientConnectorError(key, OSError(111, "Connection refused")), repeat=True)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=NO_WAIT) as client:
        with pytest.raises(ConnectError, match="could not connect") as info:
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
    assert len(sent(mocked, "POST", CHAT)) == 4
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (asyncio.TimeoutError(), RequestTimeoutError),
        (aiohttp.ServerTimeoutError("read"), RequestTimeoutError),
        (aiohttp.ServerDisconnectedError(), ConnectionLostError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), ConnectionLostError),
        (aiohttp.ClientPayloadError("truncated"), ConnectionLostError),
    ],
)
async def test_transport_failures_are_typed(
    mocked: aioresponses_module.aioresponses, exception: Exception, expected: type[Exception]
) -> None:
    mocked.post(CHAT, exception=exception, repeat=True)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(expected) as info:
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
    assert "POST https://example.signalwire.com/api/chat/tokens" in str(info.value)
    assert info.value.__context__ is None


async def test_connection_timeout_is_a_connect_error(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(TOKENS, exception=aiohttp.ConnectionTimeoutError("connect"))
    mocked.post(TOKENS, payload=TOKEN_BODY)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=NO_WAIT) as client:
        await client.api_tokens.create("ci-bot", ["calling"])
    assert len(sent(mocked, "POST", TOKENS)) == 2


async def test_an_unreadable_success_body_is_an_unexpected_response(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, body=b"<html>ok</html>")
    mocked.post(TOKENS, payload={"id": TOKEN_ID, "name": "n", "permissions": ["chat"], "token": 5})
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN) as client:
        with pytest.raises(UnexpectedResponseError, match=r"chat_tokens\.create"):
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
        with pytest.raises(UnexpectedResponseError, match="ApiToken"):
            await client.api_tokens.create("n", ["chat"])


async def test_401_decodes_the_compat_body(mocked: aioresponses_module.aioresponses) -> None:
    body = {"code": 20003, "message": "Authentication Failed", "more_info": "https://x", "status": 401}
    mocked.post(TOKENS, status=401, payload=body, headers={"X-Request-Id": "abc"})
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.api_tokens.create("n", ["chat"])
    assert (info.value.code, info.value.request_id, info.value.method) == (20003, "abc", "POST")


async def test_a_shared_session_is_used_as_is(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, payload={"token": "t"})
    async with aiohttp.ClientSession() as session:
        async with SignalWireClient("example", PROJECT_ID, API_TOKEN, session=session) as client:
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
        assert not session.closed
        assert [call.kwargs["headers"]["Authorization"][:6] for call in mocked.requests[("POST", URL(CHAT))]] == [
            "Basic "
        ]


async def test_concurrent_first_calls_share_one_session(
    mocked: aioresponses_module.aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[aiohttp.ClientSession] = []
    make_session = aiohttp.ClientSession

    def counted_session(**options: Any) -> aiohttp.ClientSession:
        made.append(make_session(**options))
        return made[-1]

    monkeypatch.setattr(aiohttp, "ClientSession", counted_session)
    mocked.post(CHAT, payload={"token": "t"}, repeat=True)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, max_connections=7) as client:
        await asyncio.gather(*(client.chat_tokens.create(ttl=1, channels={"a": {"read": True}}) for _ in range(20)))
        assert len(made) == 1
        assert made[0].connector is not None and made[0].connector.limit == 7
    assert made[0].closed


async def test_transport_alone_returns_our_response(mocked: aioresponses_module.aioresponses) -> None:
    mocked.get(re.compile(r"https://example\.signalwire\.com/x.*"), status=200, body=b"hello", headers={"X-A": "1"})
    transport = AiohttpTransport(max_connections=2)
    try:
        response = await transport(make_request("GET", f"{BASE}/x", attempt=3))
    finally:
        await transport.aclose()
    assert (response.status, response.body, response.headers["x-a"], response.attempt) == (200, b"hello", "1", 3)
    assert response.elapsed >= 0


async def test_user_middleware_cannot_redirect_credentials(mocked: aioresponses_module.aioresponses) -> None:
    async def reroute(request, call_next):  # type: ignore[no-untyped-def]
        import attrs

        return await call_next(attrs.evolve(request, url=URL("https://evil.example.com/steal")))

    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, middlewares=[reroute]) as client:
        with pytest.raises(InvalidRequestError, match="refusing to send credentials"):
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
    assert not mocked.requests


async def test_retries_exhausted_surface_the_last_server_error(mocked: aioresponses_module.aioresponses) -> None:
    mocked.post(CHAT, status=500, payload={"error": "boom"}, repeat=True)
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=NO_WAIT) as client:
        with pytest.raises(ServerError, match="boom"):
            await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
    assert len(sent(mocked, "POST", CHAT)) == 4
