"""The app's own mistakes: an ``identify`` or a policy that raises, or returns what it must not, is a 500 JSON
answer (``no-store``, nothing minted) and a logged traceback, not the framework's page."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, Subscriber

from .test_web_refusals import assert_refusal
from .web_support import ADAPTERS, identify, serve


async def raises(_request: Any) -> Subscriber | None:
    raise RuntimeError("the session backend is down")


async def not_a_subscriber(_request: Any) -> Subscriber | None:
    return "alice@example.com"  # type: ignore[return-value]


async def a_wrong_room_request(_subscriber: Subscriber, room: str) -> Any:
    return {"room_name": room}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(
    ("options", "route", "body"),
    [
        ({"identify": raises}, "fabric/token", {}),
        ({"identify": not_a_subscriber}, "fabric/token", {}),
        ({"identify": identify, "rooms": a_wrong_room_request}, "video/token", {"room": "standup"}),
    ],
    ids=["identify raises", "identify returns a string", "rooms returns a dict"],
)
async def test_an_app_mistake_is_a_logged_500(
    adapter: str,
    options: dict[str, Any],
    route: str,
    body: dict[str, Any],
    client: SignalWireClient,
    fake: FakeSignalWire,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = BrowserTokens(client, **options)
    with caplog.at_level(logging.ERROR, logger="signalwire_tokens.web"):
        async with serve(tokens, adapter) as browser:
            reply = await browser.post(route, body)
    assert_refusal(reply, 500)
    assert any(record.exc_info for record in caplog.records)
    assert fake.requests == []
