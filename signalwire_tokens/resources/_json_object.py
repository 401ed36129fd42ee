"""A free-form JSON object a token carries (a chat token's ``state``, a room token's ``meta`` and ``room_meta``),
limited by the API to a number of characters of its JSON: checked, measured on exactly what is sent, and kept as a
private read-only copy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._errors import InvalidRequestError
from .._http import dump_json

__all__ = ["MAX_JSON_OBJECT_CHARS", "json_object", "json_size"]

#: The limit every family documents for its free-form objects: 2,000 characters of JSON.
MAX_JSON_OBJECT_CHARS = 2_000


def json_size(value: Mapping[str, Any]) -> int:
    """The size such a limit applies to: the length of the compact JSON that is sent, in which a non-ASCII character
    counts as one (never a six-character ``\\uXXXX`` escape)."""
    return len(dump_json(dict(value)))


def json_object(field: str, value: Any, max_chars: int = MAX_JSON_OBJECT_CHARS) -> Mapping[str, Any] | None:
    """A private, read-only copy of ``value``, a JSON object of at most ``max_chars`` characters as sent (None stays
    None); anything else is an :class:`InvalidRequestError` whose ``field`` is ``field``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{field} must be a JSON object (a dict), got {type(value).__name__}", field=field)
    if any(not isinstance(key, str) for key in value):
        raise InvalidRequestError(f"{field} keys must be strings", field=field)
    try:
        # Serialized once: the text gives both the size and the private copy.
        serialized = dump_json(dict(value))
        if not serialized.isascii():
            serialized.encode("utf-8")  # a lone surrogate would otherwise fail later, while the body is encoded
    except UnicodeEncodeError:
        message = f"{field} must be valid JSON text: it holds a lone surrogate (half a UTF-16 pair)"
        raise InvalidRequestError(message, field=field) from None
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(f"{field} must be valid JSON: {error}", field=field) from None
    if len(serialized) > max_chars:
        message = f"{field} must be at most {max_chars} characters as JSON, got {len(serialized)}"
        raise InvalidRequestError(message, field=field)
    return MappingProxyType(json.loads(serialized))
