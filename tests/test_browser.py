"""A real browser runs the recipe's page: headless Chromium (Debian's) through Playwright signs in to
examples/browser_sdk_aiohttp.py, served on loopback against a fake space, and its CredentialProvider gets a SAT and
then a refreshed one with the session cookie; a page of another origin gets nothing and mints nothing."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from signalwire_tokens.testing import FakeSignalWire

from .support import RunAhead, load_recipe

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)", allow_module_level=True)
playwright = pytest.importorskip("playwright.async_api", reason="needs playwright (the test and e2e groups)")

# Headless and quiet: no sandbox (CI runs as root), and nothing a browser fetches for itself (updates, sync, QUIC).
# Every *.example.test name is loopback, so a test can serve one app under two sibling origins.
ARGS = [
    "--host-resolver-rules=MAP *.example.test 127.0.0.1",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TWO_HOURS_MS = 2 * 3600 * 1000
# What the page's provider sends, from a page that may be of another origin than the endpoint.
FETCH = """async ([url, contentType]) => {
  try {
    const r = await fetch(url, {method: "POST", credentials: "include", mode: contentType ? "cors" : "no-cors",
                                headers: {"content-type": contentType || "text/plain"}, body: "{}"});
    return r.type === "opaque" ? "opaque" : [r.status, await r.json()];
  } catch (error) {
    return error.name;
  }
}"""


@pytest.fixture
async def context() -> AsyncIterator[BrowserContext]:
    """A browser context of its own (its cookie jar starts empty)."""
    async with playwright.async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield await chromium.new_context()
        await chromium.close()


@pytest.fixture
def clock() -> RunAhead:
    return RunAhead()


@contextlib.asynccontextmanager
async def serving(fake: FakeSignalWire, port: int = 0, **options: Any) -> AsyncIterator[int]:
    """The aiohttp recipe, as a server runs it, on a loopback port, against ``fake``; ``options`` go to its mount."""
    runner = web.AppRunner(load_recipe("browser_sdk_aiohttp.py").make_app(fake.client, **options))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield runner.addresses[0][1]
    await runner.cleanup()


@pytest.fixture
async def port(fake: FakeSignalWire, clock: RunAhead) -> AsyncIterator[int]:
    async with serving(fake, clock=clock) as bound:
        yield bound


async def signed_in_page(context: BrowserContext, origin: str) -> Page:
    """A page of ``origin``, its user signed in through the form, as a person would."""
    page = await context.new_page()
    await page.goto(f"{origin}/")
    await page.fill("input[name=email]", "alice@example.com")
    await page.fill("input[name=password]", "correct horse")
    async with page.expect_navigation():
        await page.click("#sign-in")
    return page


async def test_the_pages_credential_provider_gets_a_sat_then_a_refreshed_one(
    context: BrowserContext, port: int, fake: FakeSignalWire, clock: RunAhead
) -> None:
    origin = f"http://127.0.0.1:{port}"
    everything: list[str] = []
    context.on("request", lambda request: everything.append(request.url))
    page = await signed_in_page(context, origin)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    before = clock()
    first = await page.evaluate("window.provider.authenticate()")
    clock.until_shortly_before(first["expiry_at"])  # when the SDK calls refresh()
    refreshed_at = clock()
    second = await page.evaluate("window.provider.refresh()")
    assert [r.operation for r in fake.requests] == [
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
    ]
    assert first["token"] != second["token"]
    for sat, asked_at in ((first, before), (second, refreshed_at)):
        minted = fake.fabric.token(sat["token"])  # a SAT of this space, for the subscriber signed in
        assert minted["kind"] == "subscriber"
        assert fake.fabric.subscribers["alice@example.com"]["id"] == minted["subscriber_id"]
        # The SDK's expiry_at: milliseconds since the epoch (Date.now()'s unit), at most two hours ahead.
        assert isinstance(sat["expiry_at"], int) and asked_at * 1000 < sat["expiry_at"] <= clock() * 1000 + TWO_HOURS_MS
    assert abs(first["expiry_at"] / 1000 - fake.fabric.token(first["token"])["expires"]) < 1  # the expire_at sent
    assert sent == [f"{origin}/signalwire/fabric/token", f"{origin}/signalwire/fabric/refresh"]
    assert all(url.startswith(f"{origin}/") for url in everything)  # the page needs nothing else (no SDK) to work


async def test_the_pages_buttons_log_what_the_provider_got(context: BrowserContext, port: int) -> None:
    """Signed out, "Get a SAT" logs the mount's 401; signed in, the SAT's expiry (what a person trying it sees)."""
    origin = f"http://127.0.0.1:{port}"
    page = await context.new_page()
    await page.goto(f"{origin}/")
    await page.click("#authenticate")
    await page.wait_for_function("document.getElementById('log').textContent.includes('answered 401')")
    page = await signed_in_page(context, origin)
    await page.click("#authenticate")
    await page.wait_for_function("document.getElementById('log').textContent.startsWith('a SAT until 20')")


async def other_origin(context: BrowserContext, port: int) -> tuple[Page, str]:
    """The user signed in on 127.0.0.1, and a page of the same server reached as localhost: another origin. The
    page, and the token endpoint of the user's origin."""
    await signed_in_page(context, f"http://127.0.0.1:{port}")
    page = await context.new_page()
    await page.goto(f"http://localhost:{port}/")
    return page, f"http://127.0.0.1:{port}/signalwire/fabric/token"


async def test_the_providers_request_from_another_origin_fails_its_preflight(
    context: BrowserContext, port: int, fake: FakeSignalWire
) -> None:
    page, endpoint = await other_origin(context, port)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    assert await page.evaluate(FETCH, [endpoint, "application/json"]) == "TypeError"  # fetch's network error
    assert failed == [endpoint] and fake.requests == []


async def test_a_request_from_another_origin_with_no_preflight_is_refused(
    context: BrowserContext, port: int, fake: FakeSignalWire
) -> None:
    """A "simple" request (a text/plain body) is sent without asking first: the mount refuses it for its origin."""
    page, endpoint = await other_origin(context, port)
    async with page.expect_response(endpoint) as answer:
        assert await page.evaluate(FETCH, [endpoint, None]) == "opaque"  # what the page may read of it: nothing
    assert (await answer.value).status == 403
    assert fake.requests == []


async def test_a_sibling_origin_the_app_names_gets_a_sat_across_origins(
    context: BrowserContext, fake: FakeSignalWire
) -> None:
    """The page on app.example.test, the mount on api.example.test (one site: the session cookie goes along) with
    ``allowed_origins`` naming the page's origin: the browser's preflight is answered, and the page reads its SAT."""
    with socket.socket() as probe:  # the origins name the port, so it is chosen before the server starts
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page_origin, api = f"http://app.example.test:{port}", f"http://api.example.test:{port}"
    async with serving(fake, port, allowed_origins=(page_origin,)):
        await signed_in_page(context, api)  # the session cookie is the API host's
        page = await context.new_page()
        await page.goto(f"{page_origin}/")
        status, sat = await page.evaluate(FETCH, [f"{api}/signalwire/fabric/token", "application/json"])
    assert status == 200 and set(sat) == {"token", "expiresAt"}
    assert fake.fabric.token(sat["token"])["kind"] == "subscriber"
    assert [r.operation for r in fake.requests] == ["fabric.subscriber_tokens.create"]
