"""Recipe: an aiohttp backend that signs Browser SDK users in with subscriber access tokens (SATs), and a
click-to-call widget's token.

Each page view asks ``GET /sat`` for the signed-in user's SAT; a ``SubscriberTokenCache`` answers from memory while
the token has life left, and renews it ahead of expiry with its refresh token (not a new create), so a user who
opens ten tabs costs one request. ``POST /embed`` trades the widget's public click-to-call token for a guest token:
that operation goes to SignalWire with no credentials at all, and the library sees to it. Run it:
``python examples/fabric_signin.py`` serves the app against a fake space, opens a few pages, and exits; in
production, make the client with ``SignalWireClient.from_env()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiohttp import ClientSession, web

from signalwire_tokens import SignalWireClient, SignalWireError, SubscriberTokenCache
from signalwire_tokens.testing import FakeSignalWire

SATS = web.AppKey("sats", SubscriberTokenCache)
CLIENT = web.AppKey("signalwire", SignalWireClient)


def signed_in_user(request: web.Request) -> str:
    """Stands in for your authentication (a session cookie, a JWT): the signed-in user's address."""
    return request.headers["X-User"]


def make_app(make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env) -> web.Application:
    app = web.Application()

    async def signalwire(app: web.Application) -> AsyncIterator[None]:
        async with make_client() as client:
            app[CLIENT] = client
            app[SATS] = client.fabric.subscriber_tokens.cache()  # closed with the client
            yield

    async def sat(request: web.Request) -> web.Response:
        try:
            token = await request.app[SATS].get(reference=signed_in_user(request))
        except SignalWireError as error:
            request.app.logger.warning("could not sign a subscriber in: %s", error)  # never holds a secret
            raise web.HTTPBadGateway(text="sign-in is unavailable") from None
        return web.json_response({"token": token.token, "expires_at": token.expires_at.isoformat()})

    async def embed(request: web.Request) -> web.Response:
        c2c = (await request.json())["c2c_token"]
        try:
            token = await request.app[CLIENT].fabric.embed_tokens.create(c2c)
        except SignalWireError:
            raise web.HTTPForbidden(text="this widget cannot call") from None
        return web.json_response({"token": token.token})

    app.cleanup_ctx.append(signalwire)
    app.router.add_get("/sat", sat)
    app.router.add_post("/embed", embed)
    return app


async def main() -> None:
    async with FakeSignalWire() as fake:
        runner = web.AppRunner(make_app(fake.client))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        async with ClientSession() as browser:
            views = ["alice@example.com"] * 3 + ["bob@example.com"] * 2  # alice has three tabs open
            for user in views:
                async with browser.get(f"{base}/sat", headers={"X-User": user}) as response:
                    response.raise_for_status()
            widget = {"c2c_token": fake.fabric.add_click_to_call()}
            async with browser.post(f"{base}/embed", json=widget) as response:
                embedded = response.status
        await runner.cleanup()
        creates = sum(1 for r in fake.requests if r.operation == "fabric.subscriber_tokens.create")
        [embed] = [r for r in fake.requests if r.operation == "fabric.embed_tokens.create"]
        print(f"{len(views)} page views by 2 subscribers -> {creates} SATs minted")
        print(f"POST /embed -> {embedded}, sent with no credentials: {'Authorization' not in embed.headers}")


if __name__ == "__main__":
    asyncio.run(main())
