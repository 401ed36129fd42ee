"""Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) for the session the client makes, and
credentials never come from ``.netrc``. Held through a small forward proxy on loopback; nothing leaves loopback."""

from __future__ import annotations

import base64
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer
from multidict import CIMultiDict

from signalwire_tokens import ConnectError, InvalidRequestError, RetryPolicy, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID

READ = {"read": True}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
HOP_BY_HOP = {"host", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "content-length"}


class ForwardProxy:
    """A plain-http forward proxy (no CONNECT): takes ``GET http://host/path`` and relays it, remembering what it
    was asked."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, CIMultiDict[str]]] = []
        self.server = RawTestServer(self._relay, host="127.0.0.1")

    async def _relay(self, request: web.BaseRequest) -> web.Response:
        self.seen.append((str(request.url), CIMultiDict(request.headers)))
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, request.url, headers=headers, data=await request.read()) as answer,
        ):
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No proxy variable from the machine running the tests, and a ``.netrc`` holding credentials for loopback
    (as HOME's and as NETRC's), which the client must never read."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    forward = ForwardProxy()
    await forward.server.start_server()
    yield forward
    await forward.server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    async with FakeSignalWire() as space:
        yield space


async def test_http_proxy_is_honoured_for_a_plain_http_base_url(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, fake: FakeSignalWire
) -> None:
    environ.setenv("HTTP_PROXY", proxy.url)
    async with fake.client() as client:
        chat = await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    assert chat.member_id == "alice"
    [(target, _headers)] = proxy.seen
    assert target == f"{fake.url}/api/chat/tokens"  # the absolute form a forward proxy is sent
    assert len(fake.requests) == 1


async def test_no_proxy_sends_that_host_directly(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, fake: FakeSignalWire
) -> None:
    environ.setenv("HTTP_PROXY", proxy.url)
    environ.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with fake.client() as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    assert proxy.seen == []
    assert len(fake.requests) == 1


async def test_a_proxy_off_this_machine_never_carries_a_plain_http_request(
    environ: pytest.MonkeyPatch, fake: FakeSignalWire
) -> None:
    # Its Basic credentials would cross the network in clear text; the request goes to loopback directly instead.
    # (.invalid never resolves: were the proxy used, the call would fail to connect.)
    environ.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    async with fake.client() as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    assert len(fake.requests) == 1


async def test_netrc_is_never_read(environ: pytest.MonkeyPatch, proxy: ForwardProxy, fake: FakeSignalWire) -> None:
    # aiohttp's trust_env would take Proxy-Authorization for the proxy's host (and Authorization for a request
    # meant to go without) from the .netrc the fixture wrote.
    environ.setenv("HTTP_PROXY", proxy.url)
    async with fake.client() as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    [(_target, headers)] = proxy.seen
    assert "Proxy-Authorization" not in headers
    assert "netrc" not in headers["Authorization"]
    assert headers["Authorization"] == fake.requests[0].headers["Authorization"]
    assert all("bmV0cmM" not in value for value in headers.values())  # base64 of "netrc"


async def test_a_session_passed_in_keeps_its_own_proxy_settings(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, fake: FakeSignalWire
) -> None:
    environ.setenv("HTTP_PROXY", proxy.url)
    async with aiohttp.ClientSession() as session, fake.client(session=session) as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    assert proxy.seen == []


async def test_https_proxy_tunnels_to_the_api_and_its_credentials_stay_out_of_errors(
    environ: pytest.MonkeyPatch,
) -> None:
    # A proxy on loopback that refuses the tunnel: nothing reaches the API's host (nor DNS), and the proxy's
    # password, given in HTTPS_PROXY as the README says, appears in no error.
    asked: list[tuple[str, str, str | None]] = []

    async def refuse(request: web.BaseRequest) -> web.Response:
        asked.append((request.method, request.host, request.headers.get("Proxy-Authorization")))
        return web.Response(status=407, reason="Proxy Authentication Required")

    proxy = RawTestServer(refuse, host="127.0.0.1")
    await proxy.start_server()
    try:
        environ.setenv("HTTPS_PROXY", f"http://alice:proxy-secret@127.0.0.1:{proxy.port}")
        async with SignalWireClient("example", PROJECT_ID, API_TOKEN, retry=RetryPolicy.disabled()) as client:
            with pytest.raises(ConnectError) as raised:
                await client.chat_tokens.create(ttl=60, channels={"lobby": READ}, member_id="alice")
    finally:
        await proxy.close()
    [(method, target, credentials)] = asked
    assert (method, target) == ("CONNECT", "example.signalwire.com")
    assert credentials == "Basic " + base64.b64encode(b"alice:proxy-secret").decode()
    error = raised.value
    assert "407" in str(error) and not error.request_sent
    shown = "".join(traceback.format_exception(error))
    assert "proxy-secret" not in shown and "YWxpY2U6cHJveHktc2VjcmV0" not in shown


async def test_a_session_that_trusts_the_environment_is_refused_and_nothing_is_sent(
    environ: pytest.MonkeyPatch, fake: FakeSignalWire
) -> None:
    # With trust_env, aiohttp adds the .netrc login the fixture wrote for 127.0.0.1 to every request: the embed
    # token's, whose spec asks for no credentials, would carry Basic netrc-user:netrc-secret.
    async with aiohttp.ClientSession(trust_env=True) as session:
        with pytest.raises(InvalidRequestError) as refused:
            SignalWireClient(None, PROJECT_ID, API_TOKEN, base_url=fake.url, session=session)
    assert refused.value.field == "session"
    assert "trust_env" in str(refused.value) and "proxy=" in str(refused.value)
    assert fake.requests == []
