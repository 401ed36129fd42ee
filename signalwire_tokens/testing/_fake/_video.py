"""The fake space's video operations: room tokens (minted after the documented checks of
``Video.CreateRoomTokenRequest``) and the conference tokens of the conferences a test adds, listed page by page with
real ``links.next`` on the space's own origin, read, and reset."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ...resources._json_object import MAX_JSON_OBJECT_CHARS, json_size
from ...resources.video._moments import read_moment
from ...resources.video._room_models import (
    MAX_REMOVE_AFTER_SECONDS,
    MAX_ROOM_DISPLAY_NAME,
    MAX_ROOM_NAME,
    MAX_USER_NAME,
    ROOM_NAME_PATTERN,
    ROOM_TOKEN_PERMISSIONS,
)
from ._bodies import Answer, Refusal
from ._handlers import Tokens, invalid, refuse_unknown

__all__ = ["create_room_token", "get_conference_token", "list_conference_tokens", "reset_conference_token"]

_FLAGS = (
    "join_audio_muted",
    "join_video_muted",
    "auto_create_room",
    "enable_room_previews",
    "end_room_session_on_leave",
    "sync_audio_video",
)
_MOMENTS = ("join_from", "join_until", "remove_at")
_CHOICES = {"join_as": ("audience", "member"), "media_allowed": ("all", "video-only", "audio-only")}
_ROOM_FIELDS = frozenset(
    {"room_name", "user_name", "permissions", "remove_after_seconds_elapsed", "room_display_name", "room_meta", "meta"}
    | set(_FLAGS)
    | set(_MOMENTS)
    | set(_CHOICES)
)
#: The spec's default for ``permissions``.
_DEFAULT_PERMISSIONS = [
    f"room.self.{action}"
    for action in (
        "audio_mute",
        "audio_unmute",
        "video_mute",
        "video_unmute",
        "deaf",
        "undeaf",
        "set_input_volume",
        "set_output_volume",
        "set_input_sensitivity",
        "screenshare",
        "additional_source",
    )
]
_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 1000


def _text(data: Mapping[str, Any], name: str, maximum: int) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > maximum):
        raise invalid(name, f"{name} must be a string of at most {maximum} characters")
    return value


def _moment(data: Mapping[str, Any], name: str) -> int | None:
    """The unixtime of a time field: an RFC 3339 date-time (a leap second included) or a date alone, as the spec
    documents them."""
    value = data.get(name)
    if value is None:
        return None
    moment = read_moment(value) if isinstance(value, str) else None
    if moment is None:
        raise invalid(name, f"{name} must be an RFC 3339 date-time")
    return int(moment.timestamp())


def _check_room_request(data: dict[str, Any]) -> None:
    refuse_unknown(data, _ROOM_FIELDS)
    if "room_name" not in data:
        raise invalid("room_name", "Room name must be present", "missing_required_parameter")
    room_name = data["room_name"]
    if not isinstance(room_name, str) or len(room_name) > MAX_ROOM_NAME or not ROOM_NAME_PATTERN.fullmatch(room_name):
        raise invalid("room_name", f"room_name must be 1..{MAX_ROOM_NAME} of A-Za-z0-9_-")
    _text(data, "user_name", MAX_USER_NAME)
    _text(data, "room_display_name", MAX_ROOM_DISPLAY_NAME)
    permissions = data.get("permissions", [])
    if not isinstance(permissions, list) or any(p not in ROOM_TOKEN_PERMISSIONS for p in permissions):
        raise invalid("permissions", "permissions must be a list of room token permissions")
    seconds = data.get("remove_after_seconds_elapsed", 1)
    if isinstance(seconds, float) and seconds.is_integer():  # JSON Schema 2020-12 counts 266.0 as an integer
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_REMOVE_AFTER_SECONDS:
        raise invalid("remove_after_seconds_elapsed", f"must be an integer in 1..{MAX_REMOVE_AFTER_SECONDS}")
    for name in _FLAGS:
        if not isinstance(data.get(name, False), bool):
            raise invalid(name, f"{name} must be a boolean")
    for name, choices in _CHOICES.items():
        if data.get(name, choices[-1]) not in choices:
            raise invalid(name, f"{name} must be one of {', '.join(choices)}")
    for name in ("meta", "room_meta"):
        value = data.get(name, {})
        if not isinstance(value, dict) or json_size(value) > MAX_JSON_OBJECT_CHARS:
            raise invalid(name, f"{name} must be a JSON object of at most {MAX_JSON_OBJECT_CHARS} characters")


def create_room_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/video/room_tokens``: a signed token holding the room, the user and the scopes, as SignalWire's
    own room tokens do (``r``, ``u``, ``s``, ``jf``, ``ju``, ...)."""
    _check_room_request(data)
    audience = data.get("join_as") == "audience"
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "sub": tokens.signer.project_id,
        "u": data.get("user_name") or secrets.token_hex(6),
        "r": data["room_name"],
        "s": [] if audience else data.get("permissions", _DEFAULT_PERMISSIONS),
        "acr": data.get("auto_create_room", True),
        "ja": data.get("join_as", "member"),
    }
    for name, claim in (("join_from", "jf"), ("join_until", "ju"), ("remove_at", "rat")):
        moment = _moment(data, name)
        if moment is not None:
            claims[claim] = moment
    if "remove_after_seconds_elapsed" in data:
        claims["rse"] = data["remove_after_seconds_elapsed"]
    for name in ("meta", "room_meta"):
        if name in data:
            claims[name] = data[name]
    token = tokens.signer.sign(claims)
    tokens.room_tokens_minted += 1
    return Answer.json(200, {"token": token})


# -- conference tokens -----------------------------------------------------------------------------------------------


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise invalid(name, f"{name} must be an integer in {low}..{high}")
    return value


def list_conference_tokens(tokens: Tokens, params: Mapping[str, str], body: None) -> Answer:
    """``GET /api/video/conferences/{id}/conference_tokens``: one page, and the links to the first, this, the
    previous and the next, on the origin the request came to. A page past the first needs the conference's
    ``page_token`` (the one its ``next`` links carry)."""
    conference = tokens.conferences.get(params["id"])
    if conference is None:
        raise Refusal(404)
    size = _int_param(params, "page_size", _PAGE_SIZE, 1, _MAX_PAGE_SIZE)
    number = _int_param(params, "page_number", 0, 0, 2**31 - 1)
    if number > 0 and params.get("page_token") != conference["page_token"]:
        raise invalid("page_token", "page_token is missing or is not this list's", "invalid_parameter")
    ids = conference["tokens"]
    base = f"{params['origin']}/api/video/conferences/{params['id']}/conference_tokens"

    def link(page: int) -> str:
        query: dict[str, Any] = {"page_size": size}
        if page:
            query.update(page_number=page, page_token=conference["page_token"])
        return f"{base}?{urlencode(query)}"

    links = {"self": link(number), "first": link(0)}
    if number:
        links["prev"] = link(number - 1)
    if (number + 1) * size < len(ids):
        links["next"] = link(number + 1)
    data = [tokens.conference_tokens[i] for i in ids[number * size : (number + 1) * size]]
    return Answer.json(200, {"links": links, "data": data})


def _conference_token(tokens: Tokens, params: Mapping[str, str]) -> dict[str, Any]:
    token = tokens.conference_tokens.get(params["id"])
    if token is None:
        raise Refusal(404)
    return token


def get_conference_token(tokens: Tokens, params: Mapping[str, str], body: None) -> Answer:
    return Answer.json(200, _conference_token(tokens, params))


def reset_conference_token(tokens: Tokens, params: Mapping[str, str], body: None) -> Answer:
    """A new random value for the token; the old one stops working."""
    token = _conference_token(tokens, params)
    token["token"] = new_conference_secret()
    tokens.conference_token_resets += 1
    return Answer.json(200, token)


def new_conference_secret() -> str:
    return f"vpt_{secrets.token_hex(16)}"
