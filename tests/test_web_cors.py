"""Cross-origin pages: a page in ``allowed_origins`` gets its preflight answered and the CORS headers on every
answer (credentials included: it sends the session cookie); an origin not allowed gets none of them, and nothing
is minted. Origins compare as browsers write them (case and default ports aside)."""

from __future__ import annotations

import pytest

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens

from .test_web_refusals import assert_refusal
from .web_support import ADAPTERS, identify, serve

APP = "https://app.example.com"
CORS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods")


#: Every test here runs through both adapters.
pytestmark = pytest.mark.parametrize("adapter", ADAPTERS)


async def test_an_allowed_pages_preflight_and_answer_carry_the_cors_headers(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(client, identify=identify, allowed_origins=(APP, "http://localhost:5173"))
    async with serve(tokens, adapter) as browser:
        preflight = await browser.post(
            "fabric/token",
            method="OPTIONS",
            raw=b"",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-csrf-token",
                "Content-Type": None,
            },
            user=None,
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == APP
        assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert preflight.headers["Access-Control-Allow-Headers"] == "content-type, x-csrf-token"
        assert preflight.headers["Cache-Control"] == "no-store"
        assert fake.requests == []
        reply = await browser.post("fabric/token", headers={"Origin": "HTTPS://App.Example.com:443"})
        assert reply.status == 200, reply.body
        assert reply.headers["Access-Control-Allow-Origin"] == APP
        assert reply.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in reply.headers["Vary"]
        # A refusal to an allowed page is readable by it too.
        refused = await browser.post("fabric/token", headers={"Origin": APP}, user=None)
        assert_refusal(refused, 401)
        assert refused.headers["Access-Control-Allow-Origin"] == APP


async def test_with_allowed_origins_only_those_may_ask(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(client, identify=identify, allowed_origins=(APP,))
    async with serve(tokens, adapter) as browser:
        for origin in (
            browser.origin,
            "https://app.example.com:8443",
            "http://app.example.com",
            "https://x.example.com",
        ):
            for method in ("OPTIONS", "POST"):
                reply = await browser.post("fabric/token", method=method, headers={"Origin": origin})
                assert_refusal(reply, 403)
                assert not any(name in reply.headers for name in CORS)
    assert fake.requests == []


async def test_without_allowed_origins_the_apps_own_origin_asks_without_cors_headers(
    adapter: str, client: SignalWireClient
) -> None:
    async with serve(BrowserTokens(client, identify=identify), adapter) as browser:
        reply = await browser.post("fabric/token")
    assert reply.status == 200
    assert not any(name in reply.headers for name in CORS)


async def test_an_ipv6_origin_is_compared_as_browsers_write_it(adapter: str, client: SignalWireClient) -> None:
    tokens = BrowserTokens(client, identify=identify, allowed_origins=("http://[::1]:8000",))
    async with serve(tokens, adapter) as browser:
        assert (await browser.post("fabric/token", headers={"Origin": "http://[::1]:8000"})).status == 200
        assert_refusal(await browser.post("fabric/token", headers={"Origin": "http://[::1"}), 403)
