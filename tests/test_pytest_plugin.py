"""The fixtures users get from the pytest plugin, used as a user would."""

from __future__ import annotations

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire


async def test_fixtures_give_a_client_bound_to_a_started_fake(
    signalwire_fake: FakeSignalWire, signalwire_client: SignalWireClient
) -> None:
    assert signalwire_fake.url.startswith("http://127.0.0.1:")
    token = await signalwire_client.chat_tokens.create(ttl=5, channels={"lobby": {"read": True}})
    assert signalwire_fake.decode_chat_token(token.token)["sub"] == signalwire_fake.project_id
    assert [r.operation for r in signalwire_fake.requests] == ["chat_tokens.create"]


async def test_a_conference_fixture_for_the_video_api(
    signalwire_fake: FakeSignalWire, signalwire_client: SignalWireClient, signalwire_conference: str
) -> None:
    tokens = [token async for token in signalwire_client.video.conference_tokens.list(signalwire_conference)]
    assert [token.name for token in tokens] == ["Token 1", "Token 2"]
    room = await signalwire_client.video.room_tokens.create(room_name="standup", user_name="alice")
    assert signalwire_fake.decode_room_token(room.token)["r"] == "standup"
    assert signalwire_fake.room_tokens_minted == 1


async def test_fast_retries_fixture(signalwire_fast_retries: None) -> None:
    from signalwire_tokens._retry import TESTING_MODE

    assert TESTING_MODE.get() is not None
