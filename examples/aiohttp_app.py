"""Recipe: an aiohttp web app that mints a chat token per browser session.

The client is made when the app starts and closed at cleanup (aiohttp's cleanup_ctx), and shared by every request.
Run it: ``python examples/aiohttp_app.py`` serves it against a fake space and fetches a token once, then exits;
in production, make the client with ``SignalWireClient.from_env()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiohttp import ClientSession, web

from signalwire_tokens import SignalWireClient, SignalWireError
from signalwire_tokens.testing import FakeSignalWire

CLIENT = web.AppKey("signalwire", SignalWireClient)


def make_app(make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env) -> web.Application:
    app = web.Application()

    async def signalwire(app: web.Application) -> AsyncIterator[None]:
        async with make_client() as client:
            app[CLIENT] = client
            yield

    async def chat_token(request: web.Request) -> web.Response:
        session_id = request.match_info["session"]
        try:
            token = await request.app[CLIENT].chat_tokens.create(
                ttl=60, channels={"lobby": {"read": True, "write": True}}, member_id=session_id
            )
        except SignalWireError as error:
            # The message never holds credentials; the browser gets a plain 502.
            request.app.logger.warning("could not mint a chat token: %s", error)
            raise web.HTTPBadGateway(text="chat is unavailable") from None
        return web.json_response({"token": token.token, "expires_at": token.expires_at.isoformat()})

    app.cleanup_ctx.append(signalwire)
    app.router.add_get("/chat-token/{session}", chat_token)
    return app


async def main() -> None:
    async with FakeSignalWire() as fake:
        runner = web.AppRunner(make_app(fake.client))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with ClientSession() as browser, browser.get(f"http://{host}:{port}/chat-token/session-42") as response:
            body = await response.json()
        await runner.cleanup()
        claims = fake.decode_chat_token(body["token"])
        print(f"GET /chat-token/session-42 -> {response.status}, token for member {claims['member_id']!r}")


if __name__ == "__main__":
    asyncio.run(main())
