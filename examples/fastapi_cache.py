"""Recipe: FastAPI handing each signed-in user a chat token on every page view, through a ChatTokenCache.

A page view that needs a chat token gets the one minted for that user earlier, with no request to SignalWire, while
it has plenty of life left; near its end the cache refreshes it in the background, and any number of page views
arriving at once for a user make one request. The member is the user's id: a token without a member would carry a
random identity, and one cached token would hand that identity to every user (the cache refuses to do it).

Run it: ``python examples/fastapi_cache.py`` (needs ``pip install fastapi httpx``) runs the app in-process against a
fake space and opens three pages. In production, serve ``make_app()`` with uvicorn and set the SIGNALWIRE_* variables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request

from signalwire_tokens import ChatToken, ChatTokenCache, InvalidRequestError, SignalWireClient, SignalWireError


async def signed_in_user(x_user_id: Annotated[str, Header()]) -> str:
    """Stands in for your authentication (a session cookie, a JWT): the id of the user who is signed in."""
    return x_user_id


def make_app(make_client: Callable[[], SignalWireClient] = SignalWireClient.from_env) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_client() as client:
            # One cache for the whole app, made inside the running loop; closing the client at shutdown closes it.
            app.state.chat_tokens = client.chat_tokens.cache()
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/chat-token")
    async def chat_token(request: Request, user_id: Annotated[str, Depends(signed_in_user)]) -> dict[str, str]:
        cache: ChatTokenCache[ChatToken] = request.app.state.chat_tokens
        try:
            token = await cache.get(ttl=60, channels={"lobby": {"read": True, "write": True}}, member_id=user_id)
        except InvalidRequestError:
            raise HTTPException(status_code=400, detail="this user id cannot be a chat member") from None
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
            users = ["alice", "alice", "bob"]  # alice opens two pages, bob one
            views = [await http.get("/chat-token", headers={"X-User-Id": user}) for user in users]
        tokens = [view.json()["token"] for view in views]
        assert [fake.decode_chat_token(token)["member_id"] for token in tokens] == users
        shared = tokens[0] == tokens[1]
        print(
            f"3 page views by 2 users -> {fake.chat_tokens_minted} chat tokens minted (alice's two share one: {shared})"
        )


if __name__ == "__main__":
    asyncio.run(main())
