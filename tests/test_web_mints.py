"""What the policy routes mint (guest, room and chat tokens), and the expiry jitter of every SAT the mount mints:
``expire_at`` two hours ahead less a random share of up to ``expiry_jitter``, drawn from an injected source."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from signalwire_tokens import ChatTokenRequest, RoomTokenRequest, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, Subscriber

from .web_support import ADAPTERS, ALICE, FINGERPRINT, identify, serve

#: Every test here runs through both adapters.
pytestmark = pytest.mark.parametrize("adapter", ADAPTERS)


async def test_video_token_mints_the_room_token_the_policy_describes(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    asked: list[tuple[str, str]] = []

    async def rooms(subscriber: Subscriber, room: str) -> RoomTokenRequest | None:
        asked.append((subscriber.reference, room))
        return RoomTokenRequest(room_name=room, user_name=subscriber.first_name, permissions=["room.self.audio_mute"])

    tokens = BrowserTokens(client, identify=identify, rooms=rooms)
    async with serve(tokens, adapter) as browser:
        reply = await browser.post("video/token", {"room": "standup"})
    assert reply.status == 200, reply.body
    assert set(reply.json()) == {"token"}
    assert fake.decode_room_token(reply.json()["token"])["r"] == "standup"
    assert asked == [(ALICE, "standup")]


async def test_chat_token_mints_what_the_policy_makes_of_the_apps_fields(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    async def channels(subscriber: Subscriber, body: dict[str, Any]) -> ChatTokenRequest | None:
        return ChatTokenRequest(ttl=60, channels={body["room"]: {"read": True}}, member_id=subscriber.reference)

    tokens = BrowserTokens(client, identify=identify, channels=channels)
    async with serve(tokens, adapter) as browser:
        reply = await browser.post("chat/token", {"room": "lobby"})
    assert reply.status == 200, reply.body
    body = reply.json()
    assert set(body) == {"token", "expiresAt"}
    assert fake.requests[0].json()["channels"] == {"lobby": {"read": True, "write": False}}
    assert time.time() * 1000 < body["expiresAt"] <= (time.time() + 60 * 60) * 1000  # ttl: minutes


async def test_fabric_guest_needs_no_sign_in_and_counts_per_client_address(
    adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    address = fake.fabric.add_address()

    async def guest_addresses(_request: Any) -> list[str]:
        return [address]

    async def nobody(_request: Any) -> Subscriber | None:
        raise AssertionError("fabric/guest never asks identify")

    tokens = BrowserTokens(client, identify=nobody, guest_addresses=guest_addresses, per_subscriber=(2, 60.0))
    async with serve(tokens, adapter) as browser:
        replies = [await browser.post("fabric/guest", user=None) for _ in range(3)]
    assert [reply.status for reply in replies] == [200, 200, 429]
    assert set(replies[0].json()) == {"token", "expiresAt"}
    assert fake.fabric.token(replies[0].json()["token"])["kind"] == "guest"
    assert [request.json()["allowed_addresses"] for request in fake.requests] == [[address], [address]]


class Draw:
    """An injected random source: the share given, recorded each time it is drawn."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.draws = 0

    def __call__(self) -> float:
        self.draws += 1
        return self.share


@pytest.mark.parametrize(("jitter", "share"), [(0.1, 0.5), (0.1, 0.999), (0.0, 0.7), (0.5, 0.25)])
async def test_every_sat_expires_two_hours_ahead_less_a_random_share_of_the_jitter(
    jitter: float, share: float, adapter: str, client: SignalWireClient, fake: FakeSignalWire
) -> None:
    now = time.time()
    address = fake.fabric.add_address()

    async def guest_addresses(_request: Any) -> list[str]:
        return [address]

    draw = Draw(share)
    tokens = BrowserTokens(
        client,
        identify=identify,
        guest_addresses=guest_addresses,
        expiry_jitter=jitter,
        clock=lambda: now,
        random=draw,
    )
    expected = math.floor(now + 7200 - share * jitter * 7200)
    async with serve(tokens, adapter) as browser:
        replies = [
            await browser.post("fabric/token"),
            await browser.post("fabric/token", {"fingerprint": FINGERPRINT}),
            await browser.post("fabric/guest"),
        ]
    assert [request.json()["expire_at"] for request in fake.requests] == [expected] * 3
    assert [reply.json()["expiresAt"] for reply in replies] == [expected * 1000] * 3
    assert draw.draws == 3
    # 10 %: never more than 12 minutes early.
    assert expected >= math.floor(now + 7200 - jitter * 7200)
