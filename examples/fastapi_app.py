"""Recipe: FastAPI with a lifespan-managed client.

Run it: ``python examples/fastapi_app.py`` (needs ``pip install fastapi httpx``) runs the app in-process against a
fake space and calls it once. In production, serve ``make_app()`` with uvicorn and set the SIGNALWIRE_* variables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request

from signalwire_tokens import SignalWireClient, SignalWireError


def make_app(make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Made inside the running loop, closed on shutdown: one pooled client for every request.
        async with make_client() as client:
            app.state.signalwire = client
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/chat-token/{member_id}")
    async def chat_token(member_id: str, request: Request) -> dict[str, str]:
        client: SignalWireClient = request.app.state.signalwire
        try:
            token = await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}}, member_id=member_id)
        except SignalWireError:
            raise HTTPException(status_code=502, detail="chat is unavailable") from None
        return {"token": token.token, "expires_at": token.expires_at.isoformat()}

    return app


async def main() -> None:
    import httpx

    from signalwire_tokens.testing import FakeSignalWire

    async with FakeSignalWire() as fake:
        app = make_app(fake.client)
        # What uvicorn does around the app: run the lifespan, then serve requests (here in-process, over ASGI).
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
        ):
            response = await http.get("/chat-token/bob")
        claims = fake.decode_chat_token(response.json()["token"])
        print(f"GET /chat-token/bob -> {response.status_code}, token for member {claims['member_id']!r}")


if __name__ == "__main__":
    asyncio.run(main())
