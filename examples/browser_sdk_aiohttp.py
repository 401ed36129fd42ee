"""Recipe: the backend half of a SignalWire web app on aiohttp. Users sign in to the app; their browsers get
subscriber access tokens (SATs) that refresh, and never see the project's API token or a refresh token.

``BrowserTokens`` is mounted at ``/signalwire``: it mints for whoever ``identify`` finds behind the session cookie,
keeps each refresh token on the server, and refuses other origins. The page (``browser_sdk_page.html``) is the
Browser SDK guide's ``CredentialProvider``: ``authenticate()`` POSTs to ``/signalwire/fabric/token``, ``refresh()``
to ``/signalwire/fabric/refresh``, with the cookie. The user table and the session dict are toys standing in for the
app's own sign-in (which stores password hashes, never passwords).

Run it: ``python examples/browser_sdk_aiohttp.py`` signs a user in against a fake space, gets a SAT, refreshes it
and exits. ``python examples/browser_sdk_aiohttp.py serve [PORT]`` serves it on http://127.0.0.1:PORT (8080) for a
browser, against ``SignalWireClient.from_env()``: a real space, or what ``signalwire-tokens fake-space serve``
exports.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import ClientSession, CookieJar, web

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, Subscriber

PAGE = (Path(__file__).parent / "browser_sdk_page.html").read_text()
SESSION_COOKIE = "session"


# A toy (see the docstring): email -> (first name, password).
USERS = {"alice@example.com": ("Alice", "correct horse")}


def make_app(
    make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env, **options: Any
) -> web.Application:
    """The app; ``options`` go to ``BrowserTokens`` (``allowed_origins``, ``store``, ``per_subscriber``...)."""
    client = make_client()
    sessions: dict[str, str] = {}  # session cookie -> the signed-in user's email

    async def identify(request: web.Request) -> Subscriber | None:
        email = sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        return Subscriber(email, first_name=USERS[email][0]) if email else None

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def sign_in(request: web.Request) -> NoReturn:
        form = await request.post()
        email = str(form.get("email", ""))
        user = USERS.get(email)
        if user is None or not hmac.compare_digest(user[1].encode(), str(form.get("password", "")).encode()):
            raise web.HTTPUnauthorized(text="wrong email or password")
        session = secrets.token_urlsafe(32)
        sessions[session] = email
        signed_in = web.HTTPSeeOther("/")  # back to the page, now with the cookie
        signed_in.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Lax", secure=request.secure)
        raise signed_in

    async def signalwire(_app: web.Application) -> AsyncIterator[None]:
        async with client:  # closed when the app stops
            yield

    app = web.Application()
    app.cleanup_ctx.append(signalwire)
    app.router.add_get("/", page)
    app.router.add_post("/sign-in", sign_in)
    app.add_subapp("/signalwire", BrowserTokens(client, identify=identify, **options).aiohttp_app())
    return app


async def main() -> None:
    async with FakeSignalWire() as fake:
        # The SDK calls refresh() shortly before the SAT expires: the tour's clock skips ahead to then.
        skipped = [0.0]
        runner = web.AppRunner(make_app(fake.client, clock=lambda: time.time() + skipped[0]))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        # What the page's fetch sends; unsafe=True: the jar keeps cookies set by an IP address such as 127.0.0.1.
        async with ClientSession(base, cookie_jar=CookieJar(unsafe=True), headers={"Origin": base}) as browser:
            await browser.post("/sign-in", data={"email": "alice@example.com", "password": "correct horse"})
            async with browser.post("/signalwire/fabric/token", json={}) as minted:
                sat = await minted.json()
            skipped[0] = sat["expiresAt"] / 1000 - time.time() - 60
            async with browser.post("/signalwire/fabric/refresh", json={}) as renewed:
                refreshed = await renewed.json()
            elsewhere = {"Origin": "https://elsewhere.example"}
            async with browser.post("/signalwire/fabric/token", json={}, headers=elsewhere) as refused:
                pass
        await runner.cleanup()
        [subscriber] = fake.fabric.subscribers
        # expiresAt is in milliseconds, as JavaScript's Date.now(); the SAT lives two hours less a random jitter.
        expires_in = datetime.fromtimestamp(sat["expiresAt"] / 1000, timezone.utc) - datetime.now(timezone.utc)
        print(
            f"signed in as {subscriber}; POST /signalwire/fabric/token -> {minted.status}, "
            f"a SAT for the next {expires_in.total_seconds() // 3600:.0f} to 2 hours"
        )
        print(f"POST /signalwire/fabric/refresh -> {renewed.status}, a new SAT: {refreshed['token'] != sat['token']}")
        print(f"from another origin -> {refused.status}; SignalWire saw {[r.operation for r in fake.requests]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[2]) if sys.argv[2:] else 8080)
    else:
        asyncio.run(main())
