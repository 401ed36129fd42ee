"""Tokens on channels, the chat and PubSub families (one schema, two endpoints): their requests, checked against
every documented limit when made, and the tokens the API mints."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from .._errors import InvalidRequestError
from .._validate import check_str, is_text, mask
from ._batch_items import request_from_item
from ._json_object import MAX_JSON_OBJECT_CHARS, json_object, json_size

__all__ = [
    "MAX_CHANNELS",
    "MAX_CHANNEL_NAME",
    "MAX_MEMBER_ID",
    "MAX_STATE_CHARS",
    "MAX_TTL_MINUTES",
    "ChannelPermissions",
    "ChannelToken",
    "ChannelTokenRequest",
    "ChannelsInput",
    "ChatToken",
    "ChatTokenRequest",
    "PubSubToken",
    "PubSubTokenRequest",
    "as_request",
    "state_size",
]

MAX_TTL_MINUTES = 43_200
MAX_CHANNELS = 500
MAX_CHANNEL_NAME = 250
MAX_MEMBER_ID = 250
MAX_STATE_CHARS = MAX_JSON_OBJECT_CHARS
RESERVED_CHANNEL_PREFIX = "sw_"


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be True or False, got {value!r}", field=name)
    return value


@attrs.frozen
class ChannelPermissions:
    """What a chat token may do on one channel: read, write, or both (at least one must be true).

    A flag that is not a bool is refused with ``field`` ``"read"`` or ``"write"``; both false, with ``field=None``
    (neither flag alone is wrong). Inside a :class:`ChatTokenRequest`'s ``channels``, every error's field is
    ``"channels"``.
    """

    read: bool = False
    write: bool = False

    def __attrs_post_init__(self) -> None:
        _flag("read", self.read)
        _flag("write", self.write)
        if not (self.read or self.write):
            raise InvalidRequestError("a channel needs read and/or write set to True", field=None)


_COMMON_PERMISSIONS = {
    (True, False): ChannelPermissions(read=True),
    (False, True): ChannelPermissions(write=True),
    (True, True): ChannelPermissions(read=True, write=True),
}

ChannelsInput = Mapping[str, ChannelPermissions | Mapping[str, bool]]


def _bad_channels(message: str) -> InvalidRequestError:
    # Whatever is wrong inside ``channels`` (a name, an entry), the argument to fix is ``channels``.
    return InvalidRequestError(message, field="channels")


def _channel(name: Any, value: Any) -> ChannelPermissions:
    if not isinstance(name, str):
        raise _bad_channels(f"a channel name must be a string, got {type(name).__name__}")
    where = f"channel {name!r}"
    if not 1 <= len(name) <= MAX_CHANNEL_NAME:
        raise _bad_channels(f"{where[:60]}: a channel name must be 1..{MAX_CHANNEL_NAME} characters long")
    if name.startswith(RESERVED_CHANNEL_PREFIX):
        raise _bad_channels(f"{where}: names starting with {RESERVED_CHANNEL_PREFIX!r} are reserved")
    if not is_text(name):
        raise _bad_channels(f"{where[:60]}: a channel name must be valid Unicode text (it holds a lone surrogate)")
    if isinstance(value, ChannelPermissions):
        return value
    if (
        isinstance(value, dict)
        and value.keys() <= {"read", "write"}
        and all(type(flag) is bool for flag in value.values())
    ):
        # The usual forms, {"read": True} and the like, map to one of three shared instances.
        known = _COMMON_PERMISSIONS.get((value.get("read", False), value.get("write", False)))
        if known is not None:
            return known
    if not isinstance(value, Mapping):
        raise _bad_channels(f"{where}: permissions must be ChannelPermissions or a dict, got {value!r}")
    unknown = set(value) - {"read", "write"}
    if unknown:
        raise _bad_channels(f"{where}: unknown keys {sorted(map(str, unknown))}; only read and write are allowed")
    try:
        return ChannelPermissions(**value)
    except InvalidRequestError as error:
        raise _bad_channels(f"{where}: {error.message}") from None


def _channels(value: Any) -> Mapping[str, ChannelPermissions]:
    if not isinstance(value, Mapping):
        raise _bad_channels(f"channels must be a dict of channel name to permissions, got {type(value).__name__}")
    if not 1 <= len(value) <= MAX_CHANNELS:
        raise _bad_channels(f"channels must hold 1..{MAX_CHANNELS} entries, got {len(value)}")
    return MappingProxyType({name: _channel(name, perms) for name, perms in value.items()})


def _ttl(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL_MINUTES:
        raise InvalidRequestError(
            f"ttl must be an int number of minutes in 1..{MAX_TTL_MINUTES}, got {value!r}", field="ttl"
        )
    return value


def _member_id(value: Any) -> str | None:
    return None if value is None else check_str("member_id", value, max_length=MAX_MEMBER_ID)


def state_size(state: Mapping[str, Any]) -> int:
    """The size the 2,000-character limit applies to: the length of the compact JSON that is sent, in which a
    non-ASCII character counts as one."""
    return json_size(state)


def _state(value: Any) -> Mapping[str, Any] | None:
    """A private, read-only copy of a JSON object of at most 2,000 characters as sent (see :func:`state_size`)."""
    return json_object("state", value, MAX_STATE_CHARS)


@attrs.frozen
class ChannelTokenRequest:
    """One token to mint on channels, chat or PubSub alike; checked against every documented limit when made."""

    ttl: int = attrs.field(converter=_ttl, metadata={"help": "minutes, 1..43200"})
    channels: Mapping[str, ChannelPermissions] = attrs.field(
        converter=_channels, hash=False, metadata={"help": "the channels, each read and/or written"}
    )
    member_id: str | None = attrs.field(
        default=None,
        converter=_member_id,
        metadata={"help": "who the token is for (<= 250 characters; default: a random one)"},
    )
    state: Mapping[str, Any] | None = attrs.field(
        default=None,
        converter=_state,
        hash=False,
        metadata={"help": "a JSON object the token carries (<= 2,000 characters)"},
    )


@attrs.frozen
class ChatTokenRequest(ChannelTokenRequest):
    """One chat token to mint (``POST /api/chat/tokens``)."""


@attrs.frozen
class PubSubTokenRequest(ChannelTokenRequest):
    """One PubSub token to mint (``POST /api/pubsub/tokens``): the chat token's fields and limits."""


def as_request(item: Any, cls: type[ChannelTokenRequest]) -> ChannelTokenRequest:
    """A batch item as a request: a request of either family as it is (they share one schema), or a dict of its
    fields made into a ``cls``; anything else is an :class:`InvalidRequestError` naming the field."""
    return request_from_item(item, ChannelTokenRequest, cls)


@attrs.frozen
class ChannelToken:
    """A minted token on channels. ``token`` is the JWT; the repr shows only its ends."""

    token: str = attrs.field(repr=mask)
    member_id: str | None
    #: When the token expires, at the latest: the time the request was sent plus ``ttl`` (aware, UTC).
    expires_at: datetime


@attrs.frozen
class ChatToken(ChannelToken):
    """A minted chat token."""


@attrs.frozen
class PubSubToken(ChannelToken):
    """A minted PubSub token."""
