"""The browser endpoints' routes, through both adapters against the fake space: what each mints and answers."""

from __future__ import annotations

import time

import pytest

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore

from .web_support import ADAPTERS, ALICE, FINGERPRINT, identify, serve

#: Every test here runs through both adapters.
pytestmark = pytest.mark.parametrize("adapter", ADAPTERS)


async def test_fabric_token_without_fingerprint_mints_a_sat_for_the_signed_in_subscriber(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(client, identify=identify)
    async with serve(tokens, adapter) as browser:
        reply = await browser.post("fabric/token")
    assert reply.status == 200, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    body = reply.json()
    assert set(body) == {"token", "expiresAt"}
    assert fake.fabric.token(body["token"])["kind"] == "subscriber"
    (sent,) = fake.requests
    assert sent.json()["reference"] == ALICE
    assert "scope" not in sent.json()
    assert time.time() * 1000 + 1.7 * 3600_000 < body["expiresAt"] <= time.time() * 1000 + 2 * 3600_000


async def test_fabric_token_with_the_sdks_fingerprint_mints_a_client_bound_sat(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    store = MemoryTokenStore()
    tokens = BrowserTokens(client, identify=identify, store=store)
    async with serve(tokens, adapter) as browser:
        reply = await browser.post("fabric/token", {"fingerprint": FINGERPRINT})
    assert reply.status == 200, reply.body
    (sent,) = fake.requests
    assert sent.json()["scope"] == "sat:refresh"
    assert sent.json()["fingerprint"] == FINGERPRINT
    assert len(store) == 0
