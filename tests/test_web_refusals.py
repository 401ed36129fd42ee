"""Every refusal of the browser endpoints, in the contract's order, each before anything is sent to SignalWire: one
table of cases run through both adapters, each asserting the status, the JSON ``{"error"}`` body, ``no-store`` and
that the fake space received nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from signalwire_tokens import ChatTokenRequest, RoomTokenRequest, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore, Subscriber

from .web_support import ADAPTERS, FINGERPRINT, Reply, identify, serve

OTHER_ORIGIN = "https://evil.example.net"


async def refuse_rooms(_subscriber: Subscriber, _room: str) -> RoomTokenRequest | None:
    return None


async def refuse_channels(_subscriber: Subscriber, _body: dict[str, Any]) -> ChatTokenRequest | None:
    return None


async def refuse_guests(_request: Any) -> list[str] | None:
    return None


@attrs.frozen
class Case:
    id: str
    route: str
    status: int
    body: Any = None
    raw: bytes | None = None
    headers: Mapping[str, str | None] = attrs.field(factory=dict)
    signed_in: bool = True
    field: str | None = None
    method: str = "POST"


CASES = [
    Case("no origin", "fabric/token", 403, headers={"Origin": None}),
    Case("another origin", "fabric/token", 403, headers={"Origin": OTHER_ORIGIN}),
    Case("the null origin", "fabric/token", 403, headers={"Origin": "null"}),
    Case("another origin's preflight", "fabric/token", 403, headers={"Origin": OTHER_ORIGIN}, method="OPTIONS"),
    Case("origin before content type", "fabric/token", 403, headers={"Origin": None, "Content-Type": "text/plain"}),
    Case("a form body", "fabric/token", 415, headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("no content type", "fabric/token", 415, headers={"Content-Type": None}),
    Case("json-ish content type", "fabric/token", 415, headers={"Content-Type": "text/json"}),
    Case("content type before sign-in", "fabric/token", 415, headers={"Content-Type": "text/plain"}, signed_in=False),
    Case("signed out", "fabric/token", 401, signed_in=False),
    Case("signed out, refresh", "fabric/refresh", 401, signed_in=False),
    Case("sign-in before the body", "fabric/token", 401, body={"colour": "red"}, signed_in=False),
    Case("an unknown field", "fabric/token", 400, body={"colour": "red"}, field="colour"),
    Case("a short fingerprint", "fabric/token", 400, body={"fingerprint": FINGERPRINT[:-1]}, field="fingerprint"),
    Case(
        "a fingerprint with a dot",
        "fabric/token",
        400,
        body={"fingerprint": FINGERPRINT[:-1] + "."},
        field="fingerprint",
    ),
    Case("a numeric fingerprint", "fabric/token", 400, body={"fingerprint": 42}, field="fingerprint"),
    Case("not JSON", "fabric/token", 400, raw=b"{fingerprint", field=None),
    Case("a JSON array", "fabric/token", 400, raw=b"[]", field=None),
    Case("a field on refresh", "fabric/refresh", 400, body={"refresh_token": "x"}, field="refresh_token"),
    Case("a field on guest", "fabric/guest", 400, body={"address": "x"}, field="address", signed_in=False),
    Case("a room with a space", "video/token", 400, body={"room": "stand up"}, field="room"),
    Case("a room too long", "video/token", 400, body={"room": "r" * 101}, field="room"),
    Case("no room", "video/token", 400, body={}, field="room"),
    Case("a chat body that is no object", "chat/token", 400, raw=b'"lobby"', field=None),
    Case("a body too large", "fabric/token", 413, raw=b'{"fingerprint": "' + b" " * 9000 + b'"}'),
    Case("a room the app refuses", "video/token", 403, body={"room": "standup"}),
    Case("channels the app refuses", "chat/token", 403, body={"room": "lobby"}),
    Case("a guest the app refuses", "fabric/guest", 403, signed_in=False),
    Case("a route not mounted", "fabric/nothing", 404),
    Case("GET", "fabric/token", 405, method="GET"),
]


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_each_refusal_answers_json_no_store_and_sends_nothing(
    adapter: str, case: Case, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(
        client, identify=identify, rooms=refuse_rooms, channels=refuse_channels, guest_addresses=refuse_guests
    )
    async with serve(tokens, adapter) as browser:
        reply = await browser.post(
            case.route,
            case.body,
            raw=case.raw,
            headers=case.headers,
            method=case.method,
            user=None if not case.signed_in else "alice@example.com",
        )
    assert reply.status == case.status, reply.body
    assert_refusal(reply, case.status, field=case.field)
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert fake.requests == []


def assert_refusal(reply: Reply, status: int, *, field: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Content-Type"].startswith("application/json")
    expected = {"error", "field"} if status == 400 else {"error"}
    assert set(reply.json()) == expected
    assert isinstance(reply.json()["error"], str)
    if status == 400:
        assert reply.json()["field"] == field


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_route_whose_policy_is_none_is_not_mounted(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    tokens = BrowserTokens(client, identify=identify)
    assert tokens.routes == ("fabric/token", "fabric/refresh")
    async with serve(tokens, adapter) as browser:
        for route in ("fabric/guest", "video/token", "chat/token"):
            assert_refusal(await browser.post(route, {"room": "standup"}), 404)
    assert fake.requests == []


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_past_per_subscriber_a_429_with_retry_after_and_nothing_sent(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    now = [1_000_000.0]
    tokens = BrowserTokens(
        client, identify=identify, store=MemoryTokenStore(clock=lambda: now[0]), per_subscriber=(2, 60.0)
    )
    async with serve(tokens, adapter) as browser:
        for _ in range(2):
            assert (await browser.post("fabric/token", {"fingerprint": FINGERPRINT})).status == 200
        now[0] += 10
        refused = await browser.post("fabric/token", {"fingerprint": FINGERPRINT})
        assert_refusal(refused, 429)
        assert refused.headers["Retry-After"] == "50"
        # Another subscriber has a count of their own; requests refused before sign-in count for nobody.
        assert (await browser.post("fabric/token", user="bob@example.com")).status == 200
        assert (await browser.post("fabric/token", user=None)).status == 401
        now[0] += 50
        assert (await browser.post("fabric/token", {"fingerprint": FINGERPRINT})).status == 200
    assert len(fake.requests) == 4
