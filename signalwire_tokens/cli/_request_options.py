"""A command's options made from a request class's fields: one ``--field-name`` per attrs field, its help the field's
``metadata["help"]``, its kind from the field's type (a flag for a bool, choices for a Literal, a JSON object for a
mapping, a repeatable option for a tuple), required where the field has no default. The request class is the one
list of a family's fields; a command says only what differs (the choices of a tuple's items, a field that is no
plain option)."""

from __future__ import annotations

import argparse
import json
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

__all__ = ["MOMENT_HELP", "add_request_options", "columns_help", "json_object", "request_fields"]

MOMENT_HELP = "an RFC 3339 time with an offset, e.g. 2026-01-01T18:00:00Z"


def json_object(text: str) -> dict[str, Any]:
    """An option's JSON object."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def request_fields(request_class: type[Any]) -> tuple[str, ...]:
    """The names of a request class's fields, in its order."""
    return tuple(field.name for field in attrs.fields(request_class))


def columns_help(request_class: type[Any], request: str, notes: str) -> str:
    """A batch epilog's paragraph on its input's columns: every field of ``request_class``, then ``notes``."""
    text = f"columns: every field of the API's {request} ({', '.join(request_fields(request_class))}). {notes}"
    return textwrap.fill(text, 112, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


def _given(hint: Any) -> Any:
    """The type of a field that may also be None (not sent)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (given,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        return given
    return hint


def _option(hint: Any, name: str, help_text: str) -> tuple[str, dict[str, Any]]:
    """The option of a field of type ``hint``: its name and what argparse is told of it."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        # Repeatable, one item each time: --permission a --permission b for permissions.
        item = name.removesuffix("s")
        return item, {"action": "append", "dest": name, "metavar": item.upper(), "help": f"repeatable: {help_text}"}
    if hint is bool:
        return name, {"action": argparse.BooleanOptionalAction, "help": help_text}
    if hint is int:
        return name, {"type": int, "help": help_text}
    if hint is datetime:
        return name, {"help": f"{help_text}: {MOMENT_HELP}"}
    if origin is Literal:
        return name, {"choices": typing.get_args(hint), "help": help_text}
    if origin is Mapping:
        return name, {"type": json_object, "help": help_text}
    return name, {"help": help_text}


def add_request_options(
    parser: argparse.ArgumentParser,
    request_class: type[Any],
    *,
    given: Mapping[str, Mapping[str, Any]] | None = None,
    custom: Mapping[str, Callable[[argparse.ArgumentParser], None]] | None = None,
) -> None:
    """One option per field of ``request_class``, in its order, required where the field has no default; ``given``
    adds to a field's argparse arguments (a tuple's choices); ``custom`` adds a field's option(s) itself (channel
    specs, an expiry that takes two spellings, a secret that comes from the environment)."""
    hints = typing.get_type_hints(request_class)
    for field in attrs.fields(request_class):
        if custom and field.name in custom:
            custom[field.name](parser)
            continue
        name, option = _option(_given(hints[field.name]), field.name, field.metadata["help"])
        if field.default is attrs.NOTHING:
            option["required"] = True
        option.update((given or {}).get(field.name, {}))
        parser.add_argument(f"--{name.replace('_', '-')}", **option)
