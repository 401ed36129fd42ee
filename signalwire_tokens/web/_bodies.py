"""The bodies of the routes: JSON objects, read with the limits that keep a browser from making the server buffer
much, and checked field by field for the routes whose fields the library fixes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..resources.fabric._models import FINGERPRINT_PATTERN
from ..resources.video._room_models import MAX_ROOM_NAME, ROOM_NAME_PATTERN
from ._answer import BodyError

__all__ = ["MAX_BODY", "fabric_token_body", "is_json", "json_object", "no_fields", "room_body"]

#: The largest body a route reads (bytes): a fingerprint or a room name is a few dozen, an app's chat fields a few
#: hundred. Past it the request is refused with 413, unread.
MAX_BODY = 8 * 1024


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` says JSON (``application/json``, with parameters or not)."""
    return content_type is not None and content_type.partition(";")[0].strip().lower() == "application/json"


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` (what a ``fetch`` without a body sends)."""
    if body == b"{}" or not body.strip():  # ``{}``: what the SDK sends to fabric/token and fabric/refresh
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise BodyError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BodyError("the body must be a JSON object")
    return data


def _only(data: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for name in data:
        if name not in fields:
            allowed = ", ".join(fields) or "none"
            raise BodyError(f"unknown field {name[:40]!r} (this route takes: {allowed})", field=name[:100])


def no_fields(data: Mapping[str, Any]) -> None:
    """The body of a route that takes no field (``fabric/refresh``, ``fabric/guest``): ``{}``."""
    _only(data, ())


def fabric_token_body(data: Mapping[str, Any]) -> str | None:
    """The fingerprint of a ``fabric/token`` body, or None (absent or null: the SDK leaves it out when it has none)."""
    _only(data, ("fingerprint",))
    fingerprint = data.get("fingerprint")
    if fingerprint is None:
        return None
    if not isinstance(fingerprint, str) or not FINGERPRINT_PATTERN.fullmatch(fingerprint):
        raise BodyError("fingerprint must be the Browser SDK's: 43 characters of A-Z, a-z, 0-9, _ and -", "fingerprint")
    return fingerprint


def room_body(data: Mapping[str, Any]) -> str:
    """The room name of a ``video/token`` body, as the API takes it (``^[A-Za-z0-9_-]+$``, at most 100)."""
    _only(data, ("room",))
    room = data.get("room")
    if not isinstance(room, str) or len(room) > MAX_ROOM_NAME or not ROOM_NAME_PATTERN.fullmatch(room):
        raise BodyError(
            f"room must be a room name: 1 to {MAX_ROOM_NAME} characters of A-Z, a-z, 0-9, _ and -", field="room"
        )
    return room
