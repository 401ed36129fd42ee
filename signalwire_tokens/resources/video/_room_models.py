"""Room tokens (``POST /api/video/room_tokens``): the request, checked against every limit of
``Video.CreateRoomTokenRequest`` when made, and the token the API mints."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import attrs

from ..._errors import InvalidRequestError
from ..._validate import check_str, mask
from .._batch_items import request_from_item
from .._field_checks import one_of
from .._json_object import MAX_JSON_OBJECT_CHARS, json_object
from ._moments import check_moment
from ._room_permissions import ROOM_TOKEN_PERMISSIONS

__all__ = [
    "MAX_REMOVE_AFTER_SECONDS",
    "MAX_ROOM_DISPLAY_NAME",
    "MAX_ROOM_NAME",
    "MAX_USER_NAME",
    "ROOM_NAME_PATTERN",
    "ROOM_TOKEN_PERMISSIONS",
    "JoinAs",
    "MediaAllowed",
    "RoomToken",
    "RoomTokenRequest",
    "as_room_request",
]

MAX_ROOM_NAME = 100
MAX_USER_NAME = 100
MAX_ROOM_DISPLAY_NAME = 200
MAX_REMOVE_AFTER_SECONDS = 200_000
ROOM_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
_PERMISSIONS = frozenset(ROOM_TOKEN_PERMISSIONS)
#: ``Video.JoinAsType`` and ``Video.MediaAllowedType``.
JoinAs = Literal["member", "audience"]
MediaAllowed = Literal["all", "video-only", "audio-only"]
_JOIN_AS = ("member", "audience")
_MEDIA_ALLOWED = ("all", "video-only", "audio-only")


def _room_name(value: Any) -> str:
    name = check_str("room_name", value, min_length=1, max_length=MAX_ROOM_NAME)
    if not ROOM_NAME_PATTERN.fullmatch(name):
        shown = repr(name[:40])
        raise InvalidRequestError(f"room_name may hold only A-Z, a-z, 0-9, _ and -, got {shown}", field="room_name")
    return name


def _text(maximum: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_str(attribute.name, value, max_length=maximum)

    return check


def _permissions(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            "permissions must be a list of room permissions such as 'room.self.audio_mute',"
            f" got {type(value).__name__}",
            field="permissions",
        )
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or name not in _PERMISSIONS:
            raise InvalidRequestError(
                f"unknown room permission {name!r}; valid permissions are: {', '.join(ROOM_TOKEN_PERMISSIONS)}",
                field="permissions",
            )
    return names


def _join_from(value: Any) -> datetime | None:
    return check_moment("join_from", value)


def _join_until(value: Any) -> datetime | None:
    return check_moment("join_until", value)


def _remove_at(value: Any) -> datetime | None:
    return check_moment("remove_at", value)


def _remove_after(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REMOVE_AFTER_SECONDS:
        raise InvalidRequestError(
            f"remove_after_seconds_elapsed must be an int number of seconds in 1..{MAX_REMOVE_AFTER_SECONDS},"
            f" got {value!r}",
            field="remove_after_seconds_elapsed",
        )
    return value


def _flag(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidRequestError(f"{attribute.name} must be True or False, got {value!r}", field=attribute.name)


def _room_meta(value: Any) -> Mapping[str, Any] | None:
    return json_object("room_meta", value, MAX_JSON_OBJECT_CHARS)


def _member_meta(value: Any) -> Mapping[str, Any] | None:
    return json_object("meta", value, MAX_JSON_OBJECT_CHARS)


def _check_window(join_from: datetime | None, join_until: datetime | None, remove_at: datetime | None) -> None:
    # "Now" is the wall clock when the request is made, just before it is sent (a batch makes each row as it
    # pulls it): a time a minute past is past whichever clock a test or the API keeps.
    now = datetime.now(timezone.utc)
    for name, moment in (("join_until", join_until), ("remove_at", remove_at)):
        if moment is not None and moment <= now:
            raise InvalidRequestError(
                f"{name} is already past ({moment.isoformat()}): nobody could use the token", field=name
            )
    if join_from is None:
        return
    for name, moment in (("join_until", join_until), ("remove_at", remove_at)):
        if moment is not None and join_from > moment:
            field = "join_from" if name == "join_until" else name
            raise InvalidRequestError(
                f"join_from ({join_from.isoformat()}) is after {name} ({moment.isoformat()}): nobody could use"
                " the token",
                field=field,
            )


@attrs.frozen
class RoomTokenRequest:
    """One room token to mint: every field of ``Video.CreateRoomTokenRequest``, checked against every documented limit
    when made (each failure an :class:`InvalidRequestError` whose ``field`` names the field). A field left None is
    not sent, and the API applies its documented default. A token nobody could use is refused too: a ``join_until``
    or ``remove_at`` already past when the request is made (a batch's rows as each is made), a ``join_from`` after
    the ``join_until`` or the ``remove_at``."""

    room_name: str = attrs.field(
        converter=_room_name, metadata={"help": "the room (A-Z, a-z, 0-9, _ and -; up to 100 characters)"}
    )
    user_name: str | None = attrs.field(
        default=None,
        validator=_text(MAX_USER_NAME),
        metadata={"help": "the user's display name (<= 100 characters; default: a random one)"},
    )
    permissions: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_permissions,
        metadata={"help": "what the member may do (the API's list): room.self.audio_mute, room.member.remove, ..."},
    )
    #: Aware datetimes, dates (midnight UTC) or RFC 3339 strings with an offset, held and sent in UTC.
    join_from: datetime | None = attrs.field(
        default=None, converter=_join_from, metadata={"help": "when the member may join from"}
    )
    join_until: datetime | None = attrs.field(
        default=None, converter=_join_until, metadata={"help": "when the member may join until"}
    )
    remove_at: datetime | None = attrs.field(
        default=None, converter=_remove_at, metadata={"help": "when the member is removed from the room"}
    )
    remove_after_seconds_elapsed: int | None = attrs.field(
        default=None,
        converter=_remove_after,
        metadata={"help": "seconds in the room before the member is removed, 1..200000"},
    )
    join_audio_muted: bool | None = attrs.field(
        default=None, validator=_flag, metadata={"help": "join with audio muted"}
    )
    join_video_muted: bool | None = attrs.field(
        default=None, validator=_flag, metadata={"help": "join with video muted"}
    )
    auto_create_room: bool | None = attrs.field(
        default=None,
        validator=_flag,
        metadata={"help": "create the room on join if it does not exist (the API's default: yes)"},
    )
    enable_room_previews: bool | None = attrs.field(
        default=None, validator=_flag, metadata={"help": "record a preview of an auto-created room"}
    )
    room_display_name: str | None = attrs.field(
        default=None,
        validator=_text(MAX_ROOM_DISPLAY_NAME),
        metadata={"help": "the display name of an auto-created room (<= 200 characters)"},
    )
    end_room_session_on_leave: bool | None = attrs.field(
        default=None, validator=_flag, metadata={"help": "end the room session when this member leaves"}
    )
    join_as: JoinAs | None = attrs.field(
        default=None,
        validator=one_of(_JOIN_AS),
        metadata={"help": "join as a member or as audience (the API's default: member)"},
    )
    media_allowed: MediaAllowed | None = attrs.field(
        default=None,
        validator=one_of(_MEDIA_ALLOWED),
        metadata={"help": "the media the member may send and receive (the API's default: all)"},
    )
    room_meta: Mapping[str, Any] | None = attrs.field(
        default=None,
        converter=_room_meta,
        hash=False,
        metadata={"help": "the room's meta, a JSON object (<= 2,000 characters)"},
    )
    meta: Mapping[str, Any] | None = attrs.field(
        default=None,
        converter=_member_meta,
        hash=False,
        metadata={"help": "the member's meta, a JSON object (<= 2,000 characters)"},
    )
    sync_audio_video: bool | None = attrs.field(
        default=None, validator=_flag, metadata={"help": "jitter buffer audio-video sync"}
    )

    def __attrs_post_init__(self) -> None:
        _check_window(self.join_from, self.join_until, self.remove_at)

    def to_json(self) -> dict[str, Any]:
        """The request body: the fields that are set, datetimes as RFC 3339 in UTC (``2026-01-01T09:00:00+00:00``)."""
        data: dict[str, Any] = {}
        for field in _FIELDS:
            value = getattr(self, field)
            if value is None:
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[field] = value
        return data


_FIELDS = tuple(field.name for field in attrs.fields(RoomTokenRequest))


def as_room_request(item: Any) -> RoomTokenRequest:
    """A batch item as a room token request: a :class:`RoomTokenRequest` as it is, or a dict of its fields; anything
    else is an :class:`InvalidRequestError` naming the field."""
    return request_from_item(item, RoomTokenRequest, RoomTokenRequest)


@attrs.frozen
class RoomToken:
    """A minted room token. ``token`` is the JWT (a secret: the repr shows only its ends); ``room_name`` and
    ``user_name`` are as requested (``user_name`` None: the API gives each join a random name)."""

    token: str = attrs.field(repr=mask)
    room_name: str
    user_name: str | None
