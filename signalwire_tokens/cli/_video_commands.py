"""``room-token create|batch`` and ``conference-token list|get|reset``: their options, and running the ones that
are not a batch (``room-token batch`` runs on the batch engine of every family, :mod:`._batch_run`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import attrs

from ..resources.video import ROOM_TOKEN_PERMISSIONS, ConferenceToken, RoomTokenRequest
from ._credentials import add_credential_options, make_client

__all__ = ["add_video_commands", "conference_token", "room_token_create"]

ROOM_BATCH_EPILOG = """input rows (JSON Lines, or CSV with a header of the same columns):
  {{"room_name": "standup", "user_name": "alice", "permissions": ["room.self.audio_mute"], "join_as": "member"}}
  room_name,user_name,permissions,join_until,meta
  standup,alice,room.self.audio_mute;room.self.video_mute,2026-01-01T18:00:00Z,"{{""team"": 7}}"
  columns: every field of the API's room token request (room_name, user_name, permissions, join_from,
  join_until, remove_at, remove_after_seconds_elapsed, join_audio_muted, join_video_muted, auto_create_room,
  enable_room_previews, room_display_name, end_room_session_on_leave, join_as, media_allowed, room_meta, meta,
  sync_audio_video). CSV permissions: separated by ';' (or a JSON list); flags: true or false; meta and
  room_meta: JSON objects; times: RFC 3339 with an offset (2026-01-01T18:00:00Z). An empty cell leaves the
  field out (then --room-name must give room_name).

output lines (JSON Lines, one per row; "line" is the row's line in the input):
  {{"line": 7, "token": "eyJ...", "room_name": "standup", "user_name": "alice"}}
  {{"line": 8, "room_name": "standup", "user_name": "bob", "error": {{"type": "ServerError", "message": "..."}}}}

{exit_codes}"""

_FLAGS = (
    ("join_audio_muted", "join with audio muted"),
    ("join_video_muted", "join with video muted"),
    ("auto_create_room", "create the room on join if it does not exist (the API's default: yes)"),
    ("enable_room_previews", "record a preview of an auto-created room"),
    ("end_room_session_on_leave", "end the room session when this member leaves"),
    ("sync_audio_video", "jitter buffer audio-video sync"),
)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _room_token_commands(commands: Any, add_batch_parser: Callable[..., argparse.ArgumentParser], exits: str) -> None:
    room = commands.add_parser("room-token", help="mint video room tokens, one or a batch")
    actions = room.add_subparsers(dest="action", required=True, metavar="ACTION")
    one = actions.add_parser("create", help="mint one room token (prints it as JSON)")
    one.add_argument("--room-name", required=True, help="the room (A-Z, a-z, 0-9, _ and -; up to 100 characters)")
    one.add_argument("--user-name", help="the user's display name (<= 100 characters; default: a random one)")
    one.add_argument(
        "--permission",
        action="append",
        dest="permissions",
        choices=ROOM_TOKEN_PERMISSIONS,
        metavar="PERMISSION",
        help="repeatable: room.self.audio_mute, room.member.remove, room.set_layout, ... (the API's list)",
    )
    for option in ("join-from", "join-until", "remove-at"):
        one.add_argument(f"--{option}", help="an RFC 3339 time with an offset, e.g. 2026-01-01T18:00:00Z")
    one.add_argument("--remove-after-seconds-elapsed", type=int, help="seconds in the room, 1..200000")
    one.add_argument("--room-display-name", help="the display name of an auto-created room (<= 200 characters)")
    one.add_argument("--join-as", choices=["member", "audience"], help="the API's default: member")
    one.add_argument("--media-allowed", choices=["all", "video-only", "audio-only"], help="the API's default: all")
    one.add_argument("--meta", type=_json_object, help="the member's meta, a JSON object (<= 2,000 characters)")
    one.add_argument("--room-meta", type=_json_object, help="the room's meta, a JSON object (<= 2,000 characters)")
    for name, help_text in _FLAGS:
        one.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, help=help_text)
    batch = add_batch_parser(
        actions, "room token", "JSON Lines or CSV of room_name, user_name, ...; - = stdin", ROOM_BATCH_EPILOG
    )
    batch.epilog = ROOM_BATCH_EPILOG.format(exit_codes=exits)
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
    names = (field.name for field in attrs.fields(RoomTokenRequest))
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
