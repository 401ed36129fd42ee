"""Recipe: the backend half of a SignalWire web app on several replicas behind a load balancer. A browser's refresh
may land on any replica: the replicas share one Redis, where ``RedisTokenStore`` keeps each subscriber's refresh
token encrypted (Fernet), spends it once fleet-wide, and counts ``per_subscriber`` for the fleet; one
``RedisRateLimit`` keeps the replicas together under SignalWire's rate limit. The app's own sign-in must be the
fleet's too: here a session cookie signed with a secret every replica has (a toy, as in ``browser_sdk_aiohttp.py``).

Configuration, the same on every replica, from the environment:

- ``REDIS_URL``: ``redis://host:6379/0``;
- ``SIGNALWIRE_TOKENS_KEYS``: the store's keys, comma-separated, the first encrypting. Make one with
  ``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``. To rotate, put a
  new key in front (``NEW,OLD``) on every replica; once 2 hours 5 minutes have passed (every refresh token sealed
  under OLD has expired), drop OLD;
- ``APP_SESSION_SECRET``: the sign-in cookies' signing secret (``python -c 'import secrets;
  print(secrets.token_urlsafe(32))'``);
- ``SIGNALWIRE_*``: the space, as for ``SignalWireClient.from_env()``.

Run it: ``python examples/browser_sdk_fleet.py`` starts a redis-server and a fake space, runs two replicas, signs a
user in on one and refreshes on the other, and exits. ``python examples/browser_sdk_fleet.py serve PORT`` serves
one replica on http://127.0.0.1:PORT; start it twice (8080, 8081) behind a load balancer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, NoReturn

from aiohttp import ClientSession, CookieJar, web
from cryptography.fernet import Fernet

from signalwire_tokens import RedisRateLimit, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, RedisTokenStore, Subscriber

SESSION_COOKIE = "session"
# A toy (see the docstring): email -> (first name, password).
USERS = {"alice@example.com": ("Alice", "correct horse")}


def _signature(secret: str, email: str) -> str:
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def make_app(
    environ: Mapping[str, str] = os.environ,
    make_client: Callable[..., SignalWireClient] = SignalWireClient.from_env,
    **options: Any,
) -> web.Application:
    """One replica; ``options`` go to ``BrowserTokens``. Every replica made from the same environment is one fleet."""
    redis_url, secret = environ["REDIS_URL"], environ["APP_SESSION_SECRET"]
    limiter = RedisRateLimit(redis_url)  # SignalWire's window, shared by the fleet (keyed by the project id)
    client = make_client(rate_limit=limiter)
    store = RedisTokenStore(redis_url, keys=environ["SIGNALWIRE_TOKENS_KEYS"].split(","))

    async def identify(request: web.Request) -> Subscriber | None:
        # The cookie is email.signature: any replica checks it, none needs to have seen the sign-in.
        encoded, _, signature = request.cookies.get(SESSION_COOKIE, "").rpartition(".")
        with contextlib.suppress(ValueError):
            email = base64.urlsafe_b64decode(encoded).decode()
            if email in USERS and hmac.compare_digest(signature, _signature(secret, email)):
                return Subscriber(email, first_name=USERS[email][0])
        return None

    async def sign_in(request: web.Request) -> NoReturn:
        form = await request.post()
        email = str(form.get("email", ""))
        user = USERS.get(email)
        if user is None or not hmac.compare_digest(user[1].encode(), str(form.get("password", "")).encode()):
            raise web.HTTPUnauthorized(text="wrong email or password")
        signed_in = web.HTTPSeeOther("/")
        cookie = f"{base64.urlsafe_b64encode(email.encode()).decode()}.{_signature(secret, email)}"
        signed_in.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="Lax", secure=request.secure)
        raise signed_in

    async def signalwire(_app: web.Application) -> AsyncIterator[None]:
        async with client:  # closed when the app stops, with the store's and the limiter's pools
            yield
        await store.aclose()
        await limiter.aclose()

    app = web.Application()
    app.cleanup_ctx.append(signalwire)
    app.router.add_post("/sign-in", sign_in)
    app.add_subapp("/signalwire", BrowserTokens(client, identify=identify, store=store, **options).aiohttp_app())
    return app


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, for the tour."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def main(redis_url: str) -> None:
    environ = {
        "REDIS_URL": redis_url,
        "SIGNALWIRE_TOKENS_KEYS": Fernet.generate_key().decode(),
        "APP_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    async with FakeSignalWire() as fake:
        skipped = [0.0]  # the SDK refreshes shortly before the SAT expires: the tour's clock skips ahead to then
        replicas = [
            await serve(make_app(environ, fake.client, clock=lambda: time.time() + skipped[0])) for _ in range(2)
        ]
        (_, one), (_, other) = replicas
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:
            form = {"email": "alice@example.com", "password": "correct horse"}
            await browser.post(f"{one}/sign-in", data=form, allow_redirects=False)
            async with browser.post(f"{one}/signalwire/fabric/token", json={}, headers={"Origin": one}) as minted:
                sat = await minted.json()
            skipped[0] = sat["expiresAt"] / 1000 - time.time() - 60
            # Two tabs refreshing at once, through the other replica and this one.
            answers = await asyncio.gather(
                *(
                    browser.post(f"{base}/signalwire/fabric/refresh", json={}, headers={"Origin": base})
                    for base in (other, one)
                )
            )
            refreshed = [await answer.json() for answer in answers]
        for runner, _ in replicas:
            await runner.cleanup()
        print(f"signed in on one replica: POST fabric/token -> {minted.status}")
        print(
            f"two refreshes on two replicas -> {[a.status for a in answers]}, one SAT:"
            f" {refreshed[0]['token'] == refreshed[1]['token'] != sat['token']}"
        )
        print(f"SignalWire saw {[r.operation for r in fake.requests]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[2]))
    else:
        with redis_server() as url:
            asyncio.run(main(url))
