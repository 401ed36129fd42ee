"""The FastAPI recipe (examples/browser_sdk_fastapi.py) as a browser uses it, in-process over ASGI against a fake
space: the sign-in sets the session cookie, the mount mints and refreshes for it, and refuses, before anything
reaches SignalWire, whatever is not the signed-in page asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from signalwire_tokens.testing import FakeSignalWire

from .support import RunAhead, load_recipe

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

ORIGIN = "http://app.example"
ALICE = {"email": "alice@example.com", "password": "correct horse"}


@pytest.fixture
def clock() -> RunAhead:
    return RunAhead()


@pytest.fixture
async def browser(fake: FakeSignalWire, clock: RunAhead) -> AsyncIterator[Any]:
    """A browser on the app's page, signed out, the app's lifespan running."""
    app = load_recipe("browser_sdk_fastapi.py").make_app(fake.client, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


async def ask(browser: Any, route: str, origin: str | None = ORIGIN, content_type: str = "application/json") -> Any:
    """What the page's provider sends: a POST with the cookie, the page's Origin and a JSON body."""
    headers = {"Content-Type": content_type} | ({} if origin is None else {"Origin": origin})
    return await browser.post(f"/signalwire/{route}", content=b"{}", headers=headers)


async def test_the_page_is_the_sdk_guides_credential_provider_on_the_mounts_routes(browser: Any) -> None:
    page = (await browser.get("/")).text
    assert "/signalwire/fabric/token" in page and "/signalwire/fabric/refresh" in page
    assert 'credentials: "include"' in page and "expiry_at: expiresAt" in page


async def test_a_signed_in_browser_gets_a_sat_then_a_refreshed_one(
    browser: Any, fake: FakeSignalWire, clock: RunAhead
) -> None:
    signed_in = await browser.post("/sign-in", data=ALICE)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert "HttpOnly" in signed_in.headers["set-cookie"]
    before = clock()
    first = await ask(browser, "fabric/token")
    clock.until_shortly_before(first.json()["expiresAt"])  # when the SDK calls refresh()
    refreshed_at = clock()
    second = await ask(browser, "fabric/refresh")
    assert [r.operation for r in fake.requests] == [
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
    ]
    sent = fake.requests[0].json()
    assert sent["reference"] == "alice@example.com" and sent["first_name"] == "Alice"
    assert first.json()["token"] != second.json()["token"]
    for answer, asked_at in ((first, before), (second, refreshed_at)):
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        sat = answer.json()
        assert set(sat) == {"token", "expiresAt"}  # never the refresh token
        # Milliseconds since the epoch (JavaScript's Date.now()), at most two hours ahead.
        assert isinstance(sat["expiresAt"], int) and asked_at * 1000 < sat["expiresAt"] <= (clock() + 2 * 3600) * 1000
    assert abs(first.json()["expiresAt"] / 1000 - sent["expire_at"]) < 1  # the expire_at asked of SignalWire


@pytest.mark.parametrize(
    ("sign_in", "origin", "content_type", "status"),
    [
        (ALICE, "https://elsewhere.example", "application/json", 403),  # another origin's page
        (ALICE, None, "application/json", 403),  # no origin at all
        (ALICE, ORIGIN, "text/plain", 415),  # not JSON: what a form or a no-cors fetch can send
        ({"email": "alice@example.com", "password": "wrong"}, ORIGIN, "application/json", 401),  # sign-in failed
        (None, ORIGIN, "application/json", 401),  # never signed in
    ],
    ids=["other-origin", "no-origin", "not-json", "wrong-password", "signed-out"],
)
async def test_what_is_not_the_signed_in_page_asking_is_refused_and_mints_nothing(
    browser: Any,
    fake: FakeSignalWire,
    sign_in: dict[str, str] | None,
    origin: str | None,
    content_type: str,
    status: int,
) -> None:
    if sign_in is not None:
        signed_in = await browser.post("/sign-in", data=sign_in)
        assert signed_in.status_code == (303 if sign_in == ALICE else 401)
    for route in ("fabric/token", "fabric/refresh"):
        refused = await ask(browser, route, origin, content_type)
        assert refused.status_code == status and "error" in refused.json()
    assert fake.requests == []
