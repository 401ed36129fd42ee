"""One set of checks for both clients: every operation's bad input is refused by SyncSignalWireClient exactly as by
SignalWireClient, with the same InvalidRequestError field, and nothing reaches the API."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from signalwire_tokens import InvalidRequestError, SignalWireClient, SyncSignalWireClient

from .conftest import TOKEN_ID
from .support import ThreadedFake, sync_client

LOBBY = {"lobby": {"read": True}}
SAT = "eyJhbGc.x.y"

# (operation, positional arguments, keyword arguments, the field refused). An operation is a path from the client;
# "cache()" makes the family's cache with its defaults.
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("api_tokens.create", ("", ["chat"]), {}, "name"),
    ("api_tokens.create", ("bot", "chat"), {}, "permissions"),
    ("api_tokens.create", ("bot", None), {}, "permissions"),
    ("api_tokens.create", ("bot", ["chat"], "not-a-uuid"), {}, "subproject_id"),
    ("api_tokens.update", ("../x",), {"name": "n"}, "token_id"),
    ("api_tokens.update", (TOKEN_ID,), {"permissions": 5}, "permissions"),
    ("api_tokens.delete", (None,), {}, "token_id"),
    ("project_tokens.create", (5, ["chat"]), {}, "name"),
    ("project_tokens.create", ("bot", ["teleport"]), {}, "permissions"),
    ("project_tokens.update", (TOKEN_ID,), {"name": ""}, "name"),
    ("project_tokens.delete", ("a-uuid",), {}, "token_id"),
    ("chat_tokens.create", (0, LOBBY), {}, "ttl"),
    ("chat_tokens.create", (60, None), {}, "channels"),
    ("chat_tokens.create", (60, "lobby"), {}, "channels"),
    ("chat_tokens.create", (60, LOBBY), {"member_id": 5}, "member_id"),
    ("chat_tokens.create", (60, LOBBY), {"state": "x"}, "state"),
    ("chat_tokens.create_many", ([],), {"concurrency": 0}, "concurrency"),
    ("chat_tokens.create_many", ([],), {"max_rate": -1}, "max_rate"),
    ("chat_tokens.create_many", (5,), {}, "requests"),
    ("pubsub_tokens.create", ("60", LOBBY), {}, "ttl"),
    ("pubsub_tokens.create", (60, {"sw_x": {"read": True}}), {}, "channels"),
    ("pubsub_tokens.create_many", ([],), {"concurrency": True}, "concurrency"),
    ("video.room_tokens.create", ("a room",), {}, "room_name"),
    ("video.room_tokens.create", (None,), {}, "room_name"),
    ("video.room_tokens.create", ("standup",), {"permissions": "room.self.audio_mute"}, "permissions"),
    ("video.room_tokens.create", ("standup",), {"remove_after_seconds_elapsed": 0}, "remove_after_seconds_elapsed"),
    ("video.conference_tokens.list", ("../x",), {}, "conference_id"),
    ("video.conference_tokens.list", (TOKEN_ID,), {"page_size": 0}, "page_size"),
    ("video.conference_tokens.get", (5,), {}, "token_id"),
    ("video.conference_tokens.reset", ("a-uuid",), {}, "token_id"),
    ("fabric.subscriber_tokens.create", ("",), {}, "reference"),
    ("fabric.subscriber_tokens.create", (None,), {}, "reference"),
    ("fabric.subscriber_tokens.create", ("alice",), {"region": "eu"}, "region"),
    ("fabric.subscriber_tokens.refresh", ("",), {}, "refresh_token"),
    ("fabric.subscriber_tokens.refresh", (None,), {}, "refresh_token"),
    ("fabric.guest_tokens.create", (None,), {}, "allowed_addresses"),
    ("fabric.guest_tokens.create", (5,), {}, "allowed_addresses"),
    ("fabric.guest_tokens.create", (TOKEN_ID,), {}, "allowed_addresses"),
    ("fabric.guest_tokens.create", ([TOKEN_ID],), {"ch": "eu"}, "ch"),
    ("fabric.embed_tokens.create", ("",), {}, "c2c_token"),
    ("fabric.embed_tokens.create", (None,), {}, "c2c_token"),
    ("fabric.invite_tokens.create", (), {"address_id": "x", "subscriber_token": SAT}, "address_id"),
    ("fabric.invite_tokens.create", (), {"address_id": TOKEN_ID, "subscriber_token": None}, "subscriber_token"),
    ("chat_tokens.cache().get", (60, LOBBY), {}, "member_id"),
    ("chat_tokens.cache().get", (60, "lobby"), {"member_id": "alice"}, "channels"),
    ("pubsub_tokens.cache().get", (-1, LOBBY), {"member_id": "alice"}, "ttl"),
    ("fabric.subscriber_tokens.cache().get", (None,), {}, "reference"),
    ("fabric.subscriber_tokens.cache().get", ("alice",), {"expire_at": "soon"}, "expire_at"),
]


def operation(client: Any, path: str) -> Any:
    for part in path.split("."):
        client = getattr(client, part.removesuffix("()"))
        if part.endswith("()"):
            client = client()
    return client


async def async_refusal(space: ThreadedFake, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    async with SignalWireClient(None, space.fake.project_id, space.fake.api_token, base_url=space.fake.url) as client:
        try:
            result = operation(client, path)(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
            else:  # a listing or a batch: what it refuses, it refuses at the latest when iterated
                async for _ in result:
                    pass
        except InvalidRequestError as error:
            return error
    return None


def sync_refusal(client: SyncSignalWireClient, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        result = operation(client, path)(*args, **kwargs)
        if hasattr(result, "__iter__"):  # a listing or a batch
            for _ in result:
                pass
    except InvalidRequestError as error:
        return error
    return None


@pytest.mark.parametrize(("path", "args", "kwargs", "field"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_both_clients_refuse_bad_input_with_the_same_field_and_send_nothing(
    space: ThreadedFake, path: str, args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    theirs = asyncio.run(async_refusal(space, path, args, kwargs))
    with sync_client(space) as client:
        ours = sync_refusal(client, path, args, kwargs)
    assert isinstance(theirs, InvalidRequestError), "the async client refuses it"
    assert theirs.field == field
    assert isinstance(ours, InvalidRequestError), f"the sync client refuses it too, not {ours!r}"
    assert (ours.field, str(ours)) == (theirs.field, str(theirs))
    assert space.fake.requests == []


def test_every_operation_is_in_the_table() -> None:
    operations = {path.removesuffix("()") for path, *_ in CASES}
    assert len({path for path in operations if ".cache()" not in path}) == 19  # 17 operations, two create_many
