"""``room-token create|batch`` and ``conference-token list|get|reset``: their options, and running the ones that
are not a batch (``room-token batch`` runs on the batch engine of every family, :mod:`._batch_run`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..resources.video import ROOM_TOKEN_PERMISSIONS, ConferenceToken, RoomTokenRequest
from ._credentials import add_credential_options, make_client
from ._request_options import add_request_options, columns_help, request_fields

__all__ = ["add_video_commands", "conference_token", "room_token_create"]

ROOM_BATCH_EPILOG = """input rows (JSON Lines, or CSV with a header of the same columns):
  {{"room_name": "standup", "user_name": "alice", "permissions": ["room.self.audio_mute"], "join_as": "member"}}
  room_name,user_name,permissions,join_until,meta
  standup,alice,room.self.audio_mute;room.self.video_mute,2026-01-01T18:00:00Z,"{{""team"": 7}}"
{columns}

output lines (JSON Lines, one per row; "line" is the row's line in the input):
  {{"line": 7, "token": "eyJ...", "room_name": "standup", "user_name": "alice"}}
  {{"line": 8, "room_name": "standup", "user_name": "bob", "error": {{"type": "ServerError", "message": "..."}}}}

{exit_codes}"""
_ROOM_COLUMNS = columns_help(
    RoomTokenRequest,
    "room token request",
    "CSV permissions: separated by ';' (or a JSON list); flags: true or false; meta and room_meta: JSON objects;"
    " times: RFC 3339 with an offset (2026-01-01T18:00:00Z). An empty cell leaves the field out (then --room-name"
    " must give room_name).",
)


def _room_token_commands(commands: Any, add_batch_parser: Callable[..., argparse.ArgumentParser], exits: str) -> None:
    room = commands.add_parser("room-token", help="mint video room tokens, one or a batch")
    actions = room.add_subparsers(dest="action", required=True, metavar="ACTION")
    one = actions.add_parser("create", help="mint one room token (prints it as JSON)")
    permissions = {"choices": ROOM_TOKEN_PERMISSIONS, "metavar": "PERMISSION"}
    add_request_options(one, RoomTokenRequest, given={"permissions": permissions})
    batch = add_batch_parser(
        actions, "room token", "JSON Lines or CSV of room_name, user_name, ...; - = stdin", ROOM_BATCH_EPILOG
    )
    batch.epilog = ROOM_BATCH_EPILOG.format(exit_codes=exits, columns=_ROOM_COLUMNS)
    batch.add_argument("--room-name", help="the room of rows without a room_name")
    for sub in (one, batch):
        add_credential_options(sub)


def _conference_token_commands(commands: Any) -> None:
    conference = commands.add_parser("conference-token", help="list, read or reset video conference tokens")
    actions = conference.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="every token of a conference, one JSON line each (fetched a page at a time)"
    )
    listing.add_argument("conference_id", help="the conference's ID (a UUID)")
    listing.add_argument("--page-size", type=int, default=50, help="tokens per request, 1..1000 (default 50)")
    get = actions.add_parser("get", help="one conference token (prints it as JSON, with its secret)")
    get.add_argument("token_id", help="the token's ID (a UUID)")
    reset = actions.add_parser(
        "reset", help="give a conference token a new value (prints it as JSON); the old value stops working"
    )
    reset.add_argument("token_id", help="the token's ID (a UUID)")
    for sub in (listing, get, reset):
        add_credential_options(sub)


def add_video_commands(commands: Any, add_batch_parser: Callable[..., argparse.ArgumentParser], exits: str) -> None:
    _room_token_commands(commands, add_batch_parser, exits)
    _conference_token_commands(commands)


async def room_token_create(args: argparse.Namespace) -> int:
    names = request_fields(RoomTokenRequest)
    request = RoomTokenRequest(**{name: getattr(args, name) for name in names if getattr(args, name) is not None})
    async with make_client(args) as client:
        token = await client.video.room_tokens.mint(request)
    print(json.dumps({"token": token.token, "room_name": token.room_name, "user_name": token.user_name}))
    return 0


def _conference_json(token: ConferenceToken) -> str:
    return json.dumps({"id": token.id, "name": token.name, "token": token.token, "scopes": list(token.scopes)})


async def conference_token(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        tokens = client.video.conference_tokens
        if args.action == "list":
            async for token in tokens.list(args.conference_id, page_size=args.page_size):
                print(_conference_json(token), flush=True)
        elif args.action == "get":
            print(_conference_json(await tokens.get(args.token_id)))
        else:
            print(_conference_json(await tokens.reset(args.token_id)))
    return 0
