"""Recipe: the backend half of a SignalWire web app on FastAPI (any ASGI framework mounts it the same way). Users
sign in to the app; their browsers get subscriber access tokens (SATs) that refresh, and never see the project's
API token or a refresh token.

``BrowserTokens(...).asgi_app()`` is mounted at ``/signalwire``: it mints for whoever ``identify`` finds behind the
session cookie, keeps each refresh token on the server, and refuses other origins. The page
(``browser_sdk_page.html``, the one ``browser_sdk_aiohttp.py`` serves) is the Browser SDK guide's
``CredentialProvider``: ``authenticate()`` POSTs to ``/signalwire/fabric/token``, ``refresh()`` to
``/signalwire/fabric/refresh``, with the cookie. The user table and the session dict are toys standing in for the
app's own sign-in (which stores password hashes, never passwords).

Run it: ``python examples/browser_sdk_fastapi.py`` (needs ``pip install fastapi httpx``) signs a user in against a
fake space in-process, gets a SAT, refreshes it and exits. In production, serve ``make_app()`` with uvicorn, with
the SIGNALWIRE_* variables set (or the exports ``signalwire-tokens fake-space serve`` prints).
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from signalwire_tokens import SignalWireClient
from signalwire_tokens.web import AsgiRequest, BrowserTokens, Subscriber

PAGE = (Path(__file__).parent / "browser_sdk_page.html").read_text()
SESSION_COOKIE = "session"


# A toy (see the docstring): email -> (first name, password).
USERS = {"alice@example.com": ("Alice", "correct horse")}


def make_app(make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env, **options: Any) -> FastAPI:
    """The app; ``options`` go to ``BrowserTokens`` (``allowed_origins``, ``store``, ``per_subscriber``...)."""
    client = make_client()
    sessions: dict[str, str] = {}  # session cookie -> the signed-in user's email

    async def identify(request: AsgiRequest) -> Subscriber | None:
        email = sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        return Subscriber(email, first_name=USERS[email][0]) if email else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with client:  # closed on shutdown
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.post("/sign-in")
    async def sign_in(request: Request) -> RedirectResponse:
        # The form's fields, read without python-multipart (FastAPI's Form needs it).
        form = {name: values[0] for name, values in parse_qs((await request.body()).decode()).items()}
        email = form.get("email", "")
        user = USERS.get(email)
        if user is None or not hmac.compare_digest(user[1].encode(), form.get("password", "").encode()):
            raise HTTPException(status_code=401, detail="wrong email or password")
        session = secrets.token_urlsafe(32)
        sessions[session] = email
        response = RedirectResponse("/", status_code=303)
        secure = request.url.scheme == "https"
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", secure=secure)
        return response

    app.mount("/signalwire", BrowserTokens(client, identify=identify, **options).asgi_app())
    return app


async def main() -> None:
    import httpx

    from signalwire_tokens.testing import FakeSignalWire

    async with FakeSignalWire() as fake:
        # The SDK calls refresh() shortly before the SAT expires: the tour's clock skips ahead to then.
        skipped = [0.0]
        app = make_app(fake.client, clock=lambda: time.time() + skipped[0])
        base = "http://app.example"
        # What uvicorn does around the app: run the lifespan, then serve requests (here in-process, over ASGI).
        # The Origin header is what the page's fetch sends.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=base, headers={"Origin": base}, follow_redirects=True
            ) as browser,
        ):
            await browser.post("/sign-in", data={"email": "alice@example.com", "password": "correct horse"})
            minted = await browser.post("/signalwire/fabric/token", json={})
            skipped[0] = minted.json()["expiresAt"] / 1000 - time.time() - 60
            renewed = await browser.post("/signalwire/fabric/refresh", json={})
            refused = await browser.post(
                "/signalwire/fabric/token", json={}, headers={"Origin": "https://elsewhere.example"}
            )
        [subscriber] = fake.fabric.subscribers
        new = renewed.json()["token"] != minted.json()["token"]
        # expiresAt is in milliseconds, as JavaScript's Date.now(); the SAT lives two hours less a random jitter.
        expires_in = datetime.fromtimestamp(minted.json()["expiresAt"] / 1000, timezone.utc) - datetime.now(
            timezone.utc
        )
        print(
            f"signed in as {subscriber}; POST /signalwire/fabric/token -> {minted.status_code}, "
            f"a SAT for the next {expires_in.total_seconds() // 3600:.0f} to 2 hours"
        )
        print(f"POST /signalwire/fabric/refresh -> {renewed.status_code}, a new SAT: {new}")
        print(f"from another origin -> {refused.status_code}; SignalWire saw {[r.operation for r in fake.requests]}")


if __name__ == "__main__":
    asyncio.run(main())
