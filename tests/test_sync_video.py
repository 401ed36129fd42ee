"""``client.video`` of SyncSignalWireClient: room tokens single and batch, conference tokens listed page by page,
blocking, against a fake space on a thread of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signalwire_tokens import (
    BatchSuccess,
    ConferenceToken,
    InvalidRequestError,
    RoomToken,
    RoomTokenRequest,
    SyncSignalWireClient,
)

from .conftest import assert_request_matches_spec
from .support import ThreadedFake, sync_client


@pytest.fixture
def client(space: ThreadedFake) -> Iterator[SyncSignalWireClient]:
    with sync_client(space) as sync:
        yield sync


def test_room_tokens_are_minted_one_and_many(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    room = client.video.room_tokens.create(room_name="standup", user_name="alice", join_as="audience")
    assert client.video.room_tokens.mint(RoomTokenRequest(room_name="prepared")).room_name == "prepared"
    assert isinstance(room, RoomToken) and (room.room_name, room.user_name) == ("standup", "alice")
    rows = [RoomTokenRequest(room_name="a"), {"room_name": "b"}, {"room_name": "not valid"}]
    items = list(client.video.room_tokens.create_many(rows, concurrency=2, ordered=True))
    assert [item.ok for item in items] == [True, True, False]
    assert [item.token.room_name for item in items if isinstance(item, BatchSuccess)] == ["a", "b"]
    assert space.fake.room_tokens_minted == 4
    for recorded in space.fake.requests:
        assert_request_matches_spec(recorded)


def test_a_bad_room_token_is_refused_before_anything_is_sent(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.video.room_tokens.create(room_name="r", remove_after_seconds_elapsed=0)
    assert info.value.field == "remove_after_seconds_elapsed"
    assert space.fake.requests == []


def test_conference_tokens_are_listed_read_and_reset(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    conference = space.call(space.fake.add_conference, 5)
    listed = list(client.video.conference_tokens.list(conference, page_size=2))
    assert [t.name for t in listed] == [f"Token {n}" for n in range(1, 6)]
    assert len(space.fake.requests) == 3
    token = client.video.conference_tokens.get(listed[0].id)
    assert isinstance(token, ConferenceToken) and token == listed[0]
    reset = client.video.conference_tokens.reset(token.id)
    assert reset.token != token.token and space.fake.conference_token_resets == 1


def test_leaving_a_listing_early_sends_nothing_more(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    conference = space.call(space.fake.add_conference, 5)
    for n, _token in enumerate(client.video.conference_tokens.list(conference, page_size=2)):
        if n == 2:
            break
    assert len(space.fake.requests) == 2
    with pytest.raises(InvalidRequestError):
        client.video.conference_tokens.list(conference, page_size=0)
