"""What each documented operation does to the fake space's tokens, after checking its input as documented.

A handler takes the space's :class:`Tokens`, the path's parameters and the parsed body (form fields as pairs, or
a JSON object) and returns an :class:`Answer`, or raises a :class:`Refusal` that the operation's family shapes.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ...resources._api_token_models import Permission
from ...resources._channel_models import (
    MAX_CHANNEL_NAME,
    MAX_CHANNELS,
    MAX_MEMBER_ID,
    MAX_STATE_CHARS,
    MAX_TTL_MINUTES,
    state_size,
)
from ._bodies import Answer, Refusal
from ._fabric_state import FabricSpace
from ._jwt import ChatTokenSigner

__all__ = [
    "Handler",
    "Tokens",
    "create_api_token",
    "create_chat_token",
    "create_project_token",
    "create_pubsub_token",
    "delete_api_token",
    "invalid",
    "refuse_unknown",
    "update_api_token",
]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PERMISSIONS = frozenset(p.value for p in Permission)
_MISSING = "missing_required_parameter"


@attrs.define
class Tokens:
    """What the fake space holds: the API tokens it created (through either API: they are the project's one set of
    tokens), how many chat, PubSub and room tokens it minted, and the conferences a test added with their tokens."""

    signer: ChatTokenSigner
    #: The API tokens that exist, by id: ``{"id", "name", "permissions", "token"}``.
    api_tokens: dict[str, dict[str, Any]] = attrs.Factory(dict)
    chat_tokens_minted: int = 0
    pubsub_tokens_minted: int = 0
    room_tokens_minted: int = 0
    #: The conferences, by id: ``{"tokens": [token ids, in order], "page_token": "..."}``.
    conferences: dict[str, dict[str, Any]] = attrs.Factory(dict)
    #: Every conference token, by id: ``{"id", "name", "token", "scopes"}`` (``Video.ConferenceToken``).
    conference_tokens: dict[str, dict[str, Any]] = attrs.Factory(dict)
    conference_token_resets: int = 0
    #: The Call Fabric side: subscribers, addresses, Click-to-Call tokens and the tokens minted for them.
    fabric: FabricSpace = attrs.Factory(FabricSpace)


Handler = Callable[[Tokens, Mapping[str, str], Any], Answer]


def invalid(attribute: str, message: str, code: str = "invalid_parameter") -> Refusal:
    return Refusal(422, message, attribute=attribute, code=code)


def refuse_unknown(fields: Iterable[str], known: frozenset[str]) -> None:
    unknown = sorted(set(fields) - known)
    if unknown:
        raise invalid(unknown[0], f"Unknown parameter: {unknown[0]}")


# -- API tokens ------------------------------------------------------------------------------------------------------


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid("name", "Name must be present", _MISSING)
    return value


def _permissions(value: Any, *, required: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise invalid("permissions", "Permissions must be a list of strings")
    if required and not value:
        raise invalid("permissions", "Permissions must be present", _MISSING)
    unknown = [p for p in value if p not in _PERMISSIONS]
    if unknown:
        raise invalid("permissions", f"Invalid permissions: {', '.join(unknown)}")
    return value


def _existing(tokens: Tokens, params: Mapping[str, str]) -> dict[str, Any]:
    token = tokens.api_tokens.get(params["token_id"])
    if token is None:
        raise Refusal(404)
    return token


def _first(form: list[tuple[str, str]], key: str) -> str | None:
    return next((value for name, value in form if name == key), None)


_CREATE_FIELDS = frozenset({"name", "permissions", "subproject_id"})


def _create_token(tokens: Tokens, name: Any, permissions: Any, subproject: Any) -> Answer:
    token: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": _name(name),
        "permissions": _permissions(permissions, required=True),
        "token": f"PT{secrets.token_hex(24)}",
    }
    if subproject is not None and not (isinstance(subproject, str) and _UUID.fullmatch(subproject)):
        raise invalid("subproject_id", "Subproject must be a valid UUID")
    tokens.api_tokens[token["id"]] = token
    return Answer.json(200, token)


def create_api_token(tokens: Tokens, params: Mapping[str, str], form: list[tuple[str, str]]) -> Answer:
    """The compatibility API's create: form fields, ``permissions`` repeated once per value."""
    refuse_unknown((key for key, _ in form), _CREATE_FIELDS)
    permissions = [value for key, value in form if key == "permissions"]
    return _create_token(tokens, _first(form, "name"), permissions, _first(form, "subproject_id"))


def create_project_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """The platform API's create: a JSON object of the same fields (a null ``subproject_id`` refused already, as
    every null is)."""
    refuse_unknown(data, _CREATE_FIELDS)
    return _create_token(tokens, data.get("name"), data.get("permissions", []), data.get("subproject_id"))


def update_api_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    refuse_unknown(data, frozenset({"name", "permissions"}))
    token = _existing(tokens, params)
    if "name" in data:
        token["name"] = _name(data["name"])
    if "permissions" in data:
        token["permissions"] = _permissions(data["permissions"], required=False)
    return Answer.json(200, token)


def delete_api_token(tokens: Tokens, params: Mapping[str, str], body: None) -> Answer:
    _existing(tokens, params)
    del tokens.api_tokens[params["token_id"]]
    return Answer(204, {})


# -- chat tokens -----------------------------------------------------------------------------------------------------


def _ttl(value: Any) -> int:
    # JSON Schema 2020-12 (OpenAPI 3.1) counts 60.0 as an integer; 60.5 is not one.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL_MINUTES:
        raise invalid("ttl", f"ttl must be an integer between 1 and {MAX_TTL_MINUTES}")
    return value


def _channels(channels: Any) -> dict[str, dict[str, bool]]:
    if not isinstance(channels, dict) or not 1 <= len(channels) <= MAX_CHANNELS:
        raise invalid("channels", f"channels must be an object of 1 to {MAX_CHANNELS} channels")
    for name, perms in channels.items():
        if len(name) > MAX_CHANNEL_NAME or not name or name.startswith("sw_"):
            raise invalid("channels", f"Invalid channel name: {name[:40]}")
        if (
            not isinstance(perms, dict)
            or set(perms) - {"read", "write"}
            or not all(isinstance(v, bool) for v in perms.values())
            or not any(perms.values())
        ):
            raise invalid("channels", f"Channel {name[:40]} needs read and/or write")
    return channels


def _mint(tokens: Tokens, data: dict[str, Any]) -> str:
    """The JWT for a chat or PubSub token request (one schema for both), after the documented checks."""
    refuse_unknown(data, frozenset({"ttl", "channels", "member_id", "state"}))
    for required in ("ttl", "channels"):
        if required not in data:
            raise invalid(required, "A required parameter is missing", _MISSING)
    ttl = _ttl(data["ttl"])
    channels = _channels(data["channels"])
    member_id = data.get("member_id", str(uuid.uuid4()))
    if not isinstance(member_id, str) or len(member_id) > MAX_MEMBER_ID:
        raise invalid("member_id", f"member_id must be a string of at most {MAX_MEMBER_ID} characters")
    state = data.get("state", {})
    if not isinstance(state, dict):
        raise invalid("state", "state must be a JSON object")
    if state_size(state) > MAX_STATE_CHARS:
        raise invalid("state", f"state must be at most {MAX_STATE_CHARS} characters")
    return tokens.signer.mint(ttl, channels, member_id, state)


def create_chat_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    token = _mint(tokens, data)
    tokens.chat_tokens_minted += 1
    return Answer.json(200, {"token": token})


def create_pubsub_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    token = _mint(tokens, data)
    tokens.pubsub_tokens_minted += 1
    return Answer.json(200, {"token": token})
