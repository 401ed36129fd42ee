"""Type-checked use of ``signalwire_tokens.web`` (mypy --strict and pyright run over this file; pytest does not
collect it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from signalwire_tokens import ChatTokenRequest, RoomTokenRequest, SignalWireClient
from signalwire_tokens.web import AsgiRequest, BrowserTokens, MemoryTokenStore, StoredSession, Subscriber, TokenStore


async def identify(request: Any) -> Subscriber | None:
    user = request.cookies.get("session")
    return Subscriber(reference=user, first_name="Alice", region="us-central") if user else None


async def identify_asgi(request: AsgiRequest) -> Subscriber | None:
    user: str | None = request.cookies.get("session") or request.headers.get("X-User")
    return Subscriber(user) if user and request.method == "POST" else None


async def rooms(subscriber: Subscriber, room_name: str) -> RoomTokenRequest | None:
    return RoomTokenRequest(room_name=room_name, user_name=subscriber.display_name)


async def channels(subscriber: Subscriber, body: dict[str, Any]) -> ChatTokenRequest | None:
    return ChatTokenRequest(ttl=60, channels={str(body["room"]): {"read": True}}, member_id=subscriber.reference)


async def guest_addresses(request: web.Request) -> Sequence[str] | None:
    return ["ea14556a-984f-11ee-b9d1-0242ac120002"] if request.remote else None


async def mount(client: SignalWireClient) -> web.Application:
    store: TokenStore = MemoryTokenStore(clock=lambda: 0.0)
    tokens = BrowserTokens(
        client,
        identify=identify,
        store=store,
        allowed_origins=("https://app.example.com",),
        rooms=rooms,
        channels=channels,
        guest_addresses=guest_addresses,
        per_subscriber=(20, 60.0),
        expiry_jitter=0.1,
    )
    BrowserTokens(client, identify=identify_asgi).asgi_app()
    routes: tuple[str, ...] = tokens.routes
    assert routes
    session: StoredSession | None = await tokens.store.get("alice@example.com")
    if session is not None:
        print(session.expires_at.isoformat())
    async with tokens.store.single_flight("alice@example.com"):
        wait: float | None = await tokens.store.admit("subscriber:alice@example.com", 20, 60.0)
        print(wait)
    app = web.Application()
    app.add_subapp("/signalwire", tokens.aiohttp_app())
    return app
