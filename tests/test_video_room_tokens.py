"""Video room tokens: ``client.video.room_tokens.create`` and ``create_many``, every field of
``Video.CreateRoomTokenRequest``, every documented limit checked before sending, every request and answer held
against SignalWire's OpenAPI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from signalwire_tokens import (
    BatchFailure,
    BatchSuccess,
    InvalidRequestError,
    RoomToken,
    RoomTokenRequest,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import assert_request_matches_spec, assert_response_matches_spec
from .support import Answers

EVERY_FIELD: dict[str, Any] = {
    "room_name": "standup_2-b",
    "user_name": "Alice",
    "permissions": ["room.self.audio_mute", "room.member.remove", "room.set_layout"],
    "join_from": datetime(2031, 1, 1, 9, 0, tzinfo=timezone.utc),
    "join_until": datetime(2031, 1, 1, 18, 30, tzinfo=timezone(timedelta(hours=2))),
    "remove_at": datetime(2031, 1, 2, tzinfo=timezone.utc),
    "remove_after_seconds_elapsed": 900,
    "join_audio_muted": True,
    "join_video_muted": False,
    "auto_create_room": False,
    "enable_room_previews": True,
    "room_display_name": "Daily standup",
    "end_room_session_on_leave": True,
    "join_as": "member",
    "media_allowed": "audio-only",
    "room_meta": {"topic": "standup"},
    "meta": {"team": "é", "n": [1, None]},
    "sync_audio_video": True,
}


async def test_a_room_token_with_every_field_is_sent_as_documented(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        room = await client.video.room_tokens.create(**EVERY_FIELD)
    assert isinstance(room, RoomToken)
    assert (room.room_name, room.user_name) == ("standup_2-b", "Alice")
    (sent,) = fake.requests
    assert (sent.method, sent.path, sent.content_type) == ("POST", "/api/video/room_tokens", "application/json")
    assert sent.json() == {
        **EVERY_FIELD,
        "join_from": "2031-01-01T09:00:00+00:00",
        "join_until": "2031-01-01T16:30:00+00:00",
        "remove_at": "2031-01-02T00:00:00+00:00",
    }
    claims = fake.decode_room_token(room.token)
    assert (claims["r"], claims["u"], claims["s"]) == ("standup_2-b", "Alice", EVERY_FIELD["permissions"])
    assert claims["ju"] == int(datetime(2031, 1, 1, 16, 30, tzinfo=timezone.utc).timestamp())
    assert fake.room_tokens_minted == 1
    assert_request_matches_spec(sent)
    assert_response_matches_spec(sent, answers.responses[0].status, answers.responses[0].body)


async def test_only_the_fields_given_are_sent(client: SignalWireClient, fake: FakeSignalWire) -> None:
    room = await client.video.room_tokens.create(room_name="lobby")
    assert fake.requests[0].json() == {"room_name": "lobby"}
    default = ["audio_mute", "audio_unmute", "video_mute", "video_unmute", "deaf", "undeaf", "set_input_volume"]
    default += ["set_output_volume", "set_input_sensitivity", "screenshare", "additional_source"]
    assert fake.decode_room_token(room.token)["s"] == [f"room.self.{p}" for p in default], "the spec's default"
    assert (room.room_name, room.user_name) == ("lobby", None)
    assert_request_matches_spec(fake.requests[0])


async def test_the_token_is_a_secret_its_repr_masks(client: SignalWireClient) -> None:
    room = await client.video.room_tokens.create(room_name="lobby", user_name="bob")
    assert room.token not in repr(room)
    assert "lobby" in repr(room)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"room_name": ""}, "room_name"),
        ({"room_name": "a" * 101}, "room_name"),
        ({"room_name": "has space"}, "room_name"),
        ({"room_name": "dot.ted"}, "room_name"),
        ({"room_name": None}, "room_name"),
        ({"user_name": "u" * 101}, "user_name"),
        ({"user_name": 7}, "user_name"),
        ({"room_display_name": "d" * 201}, "room_display_name"),
        ({"permissions": ["room.self.fly"]}, "permissions"),
        ({"permissions": "room.self.audio_mute"}, "permissions"),
        ({"permissions": [["room.lock"]]}, "permissions"),
        ({"remove_after_seconds_elapsed": 0}, "remove_after_seconds_elapsed"),
        ({"remove_after_seconds_elapsed": 200_001}, "remove_after_seconds_elapsed"),
        ({"remove_after_seconds_elapsed": True}, "remove_after_seconds_elapsed"),
        ({"remove_after_seconds_elapsed": 1.5}, "remove_after_seconds_elapsed"),
        ({"meta": {"k": "v" * 2000}}, "meta"),
        ({"room_meta": ["not", "an", "object"]}, "room_meta"),
        ({"meta": {1: "non-string key"}}, "meta"),
        ({"join_from": datetime(2026, 1, 1)}, "join_from"),
        ({"join_until": "2026-01-01T09:00:00"}, "join_until"),
        ({"remove_at": "tomorrow"}, "remove_at"),
        ({"remove_at": 1767225600}, "remove_at"),
        ({"join_as": "speaker"}, "join_as"),
        ({"media_allowed": "none"}, "media_allowed"),
        ({"join_audio_muted": "yes"}, "join_audio_muted"),
        ({"sync_audio_video": 1}, "sync_audio_video"),
    ],
)
async def test_every_documented_limit_is_checked_before_sending(
    client: SignalWireClient, fake: FakeSignalWire, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.video.room_tokens.create(**{**EVERY_FIELD, **changes})
    assert info.value.field == field
    assert fake.requests == []


def test_the_limits_are_inclusive() -> None:
    request = RoomTokenRequest(
        room_name="r" * 100,
        user_name="u" * 100,
        room_display_name="d" * 200,
        remove_after_seconds_elapsed=200_000,
        meta={"k": "v" * (2000 - len('{"k":""}'))},
        permissions=[],
    )
    assert request.to_json()["remove_after_seconds_elapsed"] == 200_000
    assert RoomTokenRequest(room_name="r", remove_after_seconds_elapsed=1).remove_after_seconds_elapsed == 1


def test_rfc_3339_strings_with_an_offset_are_read_and_sent_in_utc() -> None:
    request = RoomTokenRequest(room_name="r", join_from="2031-03-01T10:00:00Z", join_until="2031-03-01T12:00:00+01:00")
    assert request.join_from == datetime(2031, 3, 1, 10, tzinfo=timezone.utc)
    assert request.to_json() == {
        "room_name": "r",
        "join_from": "2031-03-01T10:00:00+00:00",
        "join_until": "2031-03-01T11:00:00+00:00",
    }


def test_meta_is_measured_as_sent_and_kept_as_a_private_copy() -> None:
    meta = {"name": "é" * 1989}
    request = RoomTokenRequest(room_name="r", meta=meta)
    meta["name"] = "changed"
    assert request.meta == {"name": "é" * 1989}
    with pytest.raises(TypeError):
        request.meta["x"] = 1  # type: ignore[index]


async def test_the_fakes_own_checks_answer_with_the_documented_422(fake: FakeSignalWire) -> None:
    """Bypass the client's checks with raw bodies: the fake refuses what the spec forbids, in the documented shape."""
    from signalwire_tokens import JsonBody

    answers = Answers()
    bodies = [
        ({"user_name": "u"}, "room_name"),
        ({"room_name": "bad name"}, "room_name"),
        ({"room_name": "r", "permissions": ["room.fly"]}, "permissions"),
        ({"room_name": "r", "join_from": "2026-02-30"}, "join_from"),
        ({"room_name": "r", "join_until": "tomorrow"}, "join_until"),
        ({"room_name": "r", "remove_after_seconds_elapsed": 0}, "remove_after_seconds_elapsed"),
        ({"room_name": "r", "join_as": "host"}, "join_as"),
        ({"room_name": "r", "meta": {"k": "v" * 2000}}, "meta"),
        ({"room_name": "r", "auto_create_room": "no"}, "auto_create_room"),
        ({"room_name": "r", "colour": "blue"}, "colour"),
    ]
    async with fake.client(attempt_middlewares=[answers]) as client:
        url = client.url("/api/video/room_tokens")
        for body, attribute in bodies:
            with pytest.raises(UnprocessableEntityError) as info:
                await client.send("POST", url, "video.room_tokens.create", body=JsonBody(body))
            assert info.value.attribute == attribute
    assert fake.room_tokens_minted == 0
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_an_audience_member_gets_no_permissions(client: SignalWireClient, fake: FakeSignalWire) -> None:
    room = await client.video.room_tokens.create(room_name="talk", join_as="audience", permissions=["room.lock"])
    assert fake.decode_room_token(room.token)["s"] == []


# -- batches ---------------------------------------------------------------------------------------------------------


async def test_a_batch_takes_requests_and_dicts_in_order_each_item_on_its_own(fake: FakeSignalWire) -> None:
    rows: list[Any] = [
        RoomTokenRequest(room_name="a", user_name="u0"),
        {"room_name": "b", "user_name": "u1", "join_until": "2031-01-01T00:00:00Z"},
        {"room_name": "bad name"},
        {"user_name": "no room"},
        {"room_name": "c", "colour": "blue"},
        42,
        {"room_name": "d"},
    ]
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        items = [item async for item in client.video.room_tokens.create_many(rows, concurrency=3, ordered=True)]
    assert [item.index for item in items] == list(range(7))
    assert [item.ok for item in items] == [True, True, False, False, False, False, True]
    fields = [getattr(item.error, "field", None) for item in items if isinstance(item, BatchFailure)]
    assert fields == ["room_name", "room_name", "colour", None]
    successes = [item for item in items if isinstance(item, BatchSuccess)]
    assert [(s.token.room_name, s.token.user_name) for s in successes] == [("a", "u0"), ("b", "u1"), ("d", None)]
    assert isinstance(successes[1].request, RoomTokenRequest)
    assert fake.room_tokens_minted == 3 == len(fake.requests)
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_a_batch_waits_out_429s_and_reports_progress(fake: FakeSignalWire) -> None:
    fake.fail(429, headers={"Retry-After": "0"}, times=3, operation="video.room_tokens.create")
    seen: list[int] = []
    async with fake.client() as client:
        stream = client.video.room_tokens.create_many(
            ({"room_name": f"r{n}"} for n in range(20)), concurrency=4, progress=lambda p: seen.append(p.done)
        )
        items = [item async for item in stream]
    assert all(item.ok for item in items) and len(items) == 20
    assert stream.flow.throttled == 3
    assert seen == list(range(1, 21))
    assert fake.room_tokens_minted == 20


async def test_a_batch_pulls_its_input_lazily(client: SignalWireClient) -> None:
    pulled: list[int] = []

    def rows() -> Any:
        for n in range(10_000):
            pulled.append(n)
            yield {"room_name": f"r{n}"}

    async with client.video.room_tokens.create_many(rows(), concurrency=2) as stream:
        first = await stream.__anext__()
    assert first.ok
    assert len(pulled) <= 2 * 2 + 1


async def test_an_answer_without_a_token_is_an_unexpected_response(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    from signalwire_tokens import UnexpectedResponseError

    fake.fail(200, body={"jwt": "x"})
    with pytest.raises(UnexpectedResponseError, match=r"video\.room_tokens\.create"):
        await client.video.room_tokens.create(room_name="lobby")
