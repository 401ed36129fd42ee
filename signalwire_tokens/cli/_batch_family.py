"""What a batch command knows about its family of tokens, and nothing else: the input's fields and how a CSV cell
reads, how a row becomes a request (with the command's defaults), how a request is spooled, which resource mints
it, and what a result line holds. The batch engine of the command line (reading, spooling, writing, resuming,
stopping) is one, in :mod:`._batch_run`; each family is one of these."""

from __future__ import annotations

import abc
import argparse
import json
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._batch import BatchStream
from .._errors import InvalidRequestError
from ..resources._channel_models import ChannelToken, ChannelTokenRequest
from ..resources.video import RoomToken, RoomTokenRequest
from ._credentials import UsageError
from ._request_options import request_fields

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["BASE_FAMILIES", "BatchFamily", "MissingField", "parse_channel"]


class MissingField(Exception):
    """A row without a field the request needs, and the option that could give it for every row."""

    def __init__(self, field: str, option: str) -> None:
        super().__init__(field)
        self.field = field
        self.option = option


def parse_channel(text: str) -> tuple[str, dict[str, bool]]:
    """One channel spec, ``name``, ``name:r``, ``name:w`` or ``name:rw`` (a bare name reads)."""
    name, sep, flags = text.rpartition(":")
    if not sep:
        name, flags = text, "r"
    if not name or not flags or set(flags) - {"r", "w"}:
        raise ValueError(f"{text!r} is not name, name:r, name:w or name:rw")
    return name, {"read": "r" in flags, "write": "w" in flags}


def _whole(value: Any) -> Any:
    """A whole number, written as 60 or 60.0 (JSON Schema's integer); anything else is left for the request's own
    check, which says what the field must be."""
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class BatchFamily(abc.ABC):
    """One token family's part in a batch command (``chat-token batch``, ``room-token batch``, ...)."""

    command: str
    noun: str
    #: The input's fields (JSON Lines keys, CSV columns), in the order the help lists them.
    fields: tuple[str, ...]
    #: The fields that are secrets (a subscriber's password): the spool keeps them in memory, never in its file.
    secret_fields: tuple[str, ...] = ()

    @abc.abstractmethod
    def csv_value(self, field: str, text: str) -> Any:
        """A CSV cell of ``field`` as the row's value (raises ValueError for a cell that cannot be read)."""

    @abc.abstractmethod
    def request(self, fields: dict[str, Any]) -> Any:
        """The request a row's fields (the command's defaults under them) make; :class:`MissingField` for a
        required field left out, :class:`InvalidRequestError` (whose field is the row's) for a bad value."""

    @abc.abstractmethod
    def spooled(self, request: Any) -> dict[str, Any]:
        """A request as JSON, to spool it; :meth:`unspooled` makes it again."""

    @abc.abstractmethod
    def unspooled(self, data: dict[str, Any]) -> Any: ...

    @abc.abstractmethod
    def create_many(self, client: SignalWireClient) -> Callable[..., BatchStream[Any]]:
        """The client's ``create_many`` of this family."""

    @abc.abstractmethod
    def token_json(self, token: Any) -> dict[str, Any]:
        """A minted token's result line fields (after ``line``)."""

    @abc.abstractmethod
    def row_json(self, request: Any) -> dict[str, Any]:
        """What a failed row's line says about the row, beside its ``error``."""

    def defaults(self, args: argparse.Namespace) -> dict[str, Any]:
        """The command's options that give a field to rows without it."""
        return {}

    def check_defaults(self, args: argparse.Namespace) -> None:  # noqa: B027 - a family may have none to check
        """The default options checked once, as the options they are, before any row is read."""

    def default_options(self, args: argparse.Namespace) -> list[str]:
        """The default options again, for the command that resumes the batch."""
        return []


class ChannelFamily(BatchFamily):
    """Chat and PubSub tokens: ``member_id``, ``channels``, ``ttl``, ``state``; ``--ttl`` and ``--channel``."""

    fields = ("member_id", "channels", "ttl", "state")

    def __init__(self, command: str, noun: str, resource: str) -> None:
        self.command = command
        self.noun = noun
        self._resource = resource

    def csv_value(self, field: str, text: str) -> Any:
        if field == "channels":
            # A JSON object, or ``name:rw;other:r;third`` (r = read, w = write; a bare name reads).
            if text.startswith(("{", "[")):
                return json.loads(text)
            return dict(map(parse_channel, filter(None, (part.strip() for part in text.split(";")))))
        if field == "state":
            return json.loads(text)
        return text

    def request(self, fields: dict[str, Any]) -> ChannelTokenRequest:
        for required, option in (("channels", "--channel"), ("ttl", "--ttl")):
            if required not in fields:
                raise MissingField(required, option)
        return ChannelTokenRequest(**{**fields, "ttl": _whole(fields["ttl"])})

    def spooled(self, request: ChannelTokenRequest) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ttl": request.ttl,
            "channels": {name: {"read": p.read, "write": p.write} for name, p in request.channels.items()},
            "member_id": request.member_id,
        }
        if request.state is not None:
            data["state"] = dict(request.state)
        return data

    def unspooled(self, data: dict[str, Any]) -> ChannelTokenRequest:
        return ChannelTokenRequest(data["ttl"], data["channels"], data.get("member_id"), data.get("state"))

    def create_many(self, client: SignalWireClient) -> Callable[..., BatchStream[Any]]:
        resource = client.chat_tokens if self._resource == "chat_tokens" else client.pubsub_tokens
        return resource.create_many

    def token_json(self, token: ChannelToken) -> dict[str, Any]:
        return {"token": token.token, "member_id": token.member_id, "expires_at": token.expires_at.isoformat()}

    def row_json(self, request: Any) -> dict[str, Any]:
        return {"member_id": request.member_id}

    def defaults(self, args: argparse.Namespace) -> dict[str, Any]:
        given = {"ttl": args.ttl, "channels": dict(args.channels) if args.channels else None}
        return {name: value for name, value in given.items() if value is not None}

    def check_defaults(self, args: argparse.Namespace) -> None:
        if args.ttl is None and not args.channels:
            return
        try:
            ChannelTokenRequest(
                args.ttl if args.ttl is not None else 1, dict(args.channels) if args.channels else {"c": {"read": True}}
            )
        except InvalidRequestError as error:
            option = "--ttl" if error.field == "ttl" else "--channel"
            raise UsageError(f"{option}: {error.message}; nothing was read or minted") from None

    def default_options(self, args: argparse.Namespace) -> list[str]:
        words = ["--ttl", str(args.ttl)] if args.ttl is not None else []
        for name, permissions in args.channels or ():
            flags = ("r" if permissions["read"] else "") + ("w" if permissions["write"] else "")
            words += ["--channel", f"{name}:{flags}"]
        return words


#: The room token request's flags (its bool fields), which a CSV cell writes as true or false.
_ROOM_FLAGS = frozenset(name for name, hint in typing.get_type_hints(RoomTokenRequest).items() if hint == (bool | None))
_BOOLEANS = {"true": True, "false": False}


class RoomFamily(BatchFamily):
    """Room tokens: every field of ``Video.CreateRoomTokenRequest``; ``--room-name`` for rows without one."""

    command = "room-token"
    noun = "room token"
    fields = request_fields(RoomTokenRequest)

    def csv_value(self, field: str, text: str) -> Any:
        if field == "permissions":
            # A JSON list, or ``room.self.audio_mute;room.self.video_mute``.
            return json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(";") if p.strip()]
        if field in ("meta", "room_meta"):
            return json.loads(text)
        if field in _ROOM_FLAGS:
            if text.lower() not in _BOOLEANS:
                raise ValueError(f"{text[:20]!r} is not true or false")
            return _BOOLEANS[text.lower()]
        return text

    def request(self, fields: dict[str, Any]) -> RoomTokenRequest:
        if "room_name" not in fields:
            raise MissingField("room_name", "--room-name")
        if "remove_after_seconds_elapsed" in fields:
            fields = {**fields, "remove_after_seconds_elapsed": _whole(fields["remove_after_seconds_elapsed"])}
        return RoomTokenRequest(**fields)

    def spooled(self, request: RoomTokenRequest) -> dict[str, Any]:
        return request.to_json()

    def unspooled(self, data: dict[str, Any]) -> RoomTokenRequest:
        return RoomTokenRequest(**data)

    def create_many(self, client: SignalWireClient) -> Callable[..., BatchStream[Any]]:
        return client.video.room_tokens.create_many

    def token_json(self, token: RoomToken) -> dict[str, Any]:
        return {"token": token.token, "room_name": token.room_name, "user_name": token.user_name}

    def row_json(self, request: Any) -> dict[str, Any]:
        return {"room_name": request.room_name, "user_name": request.user_name}

    def defaults(self, args: argparse.Namespace) -> dict[str, Any]:
        return {} if args.room_name is None else {"room_name": args.room_name}

    def check_defaults(self, args: argparse.Namespace) -> None:
        if args.room_name is not None:
            try:
                RoomTokenRequest(room_name=args.room_name)
            except InvalidRequestError as error:
                raise UsageError(f"--room-name: {error.message}; nothing was read or minted") from None

    def default_options(self, args: argparse.Namespace) -> list[str]:
        return [] if args.room_name is None else ["--room-name", args.room_name]


#: The batch families defined here, by command (``._families.FAMILIES`` adds the Call Fabric one).
BASE_FAMILIES: Mapping[str, BatchFamily] = {
    "chat-token": ChannelFamily("chat-token", "chat token", "chat_tokens"),
    "pubsub-token": ChannelFamily("pubsub-token", "PubSub token", "pubsub_tokens"),
    "room-token": RoomFamily(),
}
