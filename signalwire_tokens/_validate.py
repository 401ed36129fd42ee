"""Checks shared by the models and the client: each raises a clear :class:`InvalidRequestError`.

Every check takes ``name``, the argument as its message names it (``"timeout"``, ``"RetryPolicy.max_attempts"``),
and sets the error's ``field`` to the argument as the caller spells it: ``field=`` when given, else ``name`` after
its last dot (``"max_attempts"``), so callers that build a name for the message get the field for free.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import InvalidRequestError

__all__ = [
    "HIDDEN",
    "SECRET_REPRS",
    "check_int",
    "check_number",
    "check_seconds",
    "check_str",
    "check_uuid",
    "hide",
    "is_text",
    "mask",
]

#: What a repr shows of a secret it shows nothing of.
HIDDEN = "'***'"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _refuse(name: str, message: str, field: str | None) -> InvalidRequestError:
    return InvalidRequestError(message, field=name.rpartition(".")[2] if field is None else field)


def check_str(
    name: str, value: Any, *, min_length: int = 0, max_length: int | None = None, field: str | None = None
) -> str:
    if not isinstance(value, str):
        raise _refuse(name, f"{name} must be a string, got {type(value).__name__}", field)
    if len(value) < min_length:
        raise _refuse(name, f"{name} must be at least {min_length} character(s) long", field)
    if max_length is not None and len(value) > max_length:
        raise _refuse(name, f"{name} must be at most {max_length} characters long, got {len(value)}", field)
    if not is_text(value):
        raise _refuse(name, f"{name} must be valid Unicode text: it holds a lone surrogate", field)
    return value


def is_text(value: str) -> bool:
    """Whether ``value`` can be sent as UTF-8: a lone surrogate (from a bad decode) cannot, and would otherwise
    fail when the body is encoded, after validation, as an error that is not the library's."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_uuid(name: str, value: Any, *, field: str | None = None) -> str:
    """A UUID in its canonical 8-4-4-4-12 form; nothing else can reach a URL path."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        shown = repr(value) if isinstance(value, str) and len(value) <= 64 else type(value).__name__
        message = f"{name} must be a UUID like 'ea14556a-984f-11ee-b9d1-0242ac120002', got {shown}"
        raise _refuse(name, message, field)
    return value


def mask(secret: object) -> str:
    """A token as a repr may show it: a few characters at each end of a long one (a JWT's or a JWE's are a fixed
    header and a tag), nothing of a short one, nor of anything that is not a string."""
    if not isinstance(secret, str) or len(secret) < 16:
        return HIDDEN
    return f"'{secret[:4]}…{secret[-4:]}'"


def hide(secret: object) -> str:
    """A password as a repr may show it: nothing at all, whatever its length (None, no password, says so)."""
    return "None" if secret is None else HIDDEN


#: The reprs of secret fields: a field is a secret when its repr is one of these (see ``resources._secrets``).
SECRET_REPRS = (mask, hide)


def check_int(name: str, value: Any, *, minimum: int, field: str | None = None) -> int:
    # bool is an int to Python, never to the API.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _refuse(name, f"{name} must be an int >= {minimum}, got {value!r}", field)
    return value


def check_number(name: str, value: Any, *, unit: str, positive: bool = False, field: str | None = None) -> float:
    """An int or float >= 0 (> 0 with ``positive``); ``unit`` says what it counts, for the message:
    ``"max_rate must be a number of requests per second > 0, got 0"``. NaN is refused (it compares false)."""
    valid = not isinstance(value, bool) and isinstance(value, (int, float)) and (value > 0 if positive else value >= 0)
    if not valid:
        raise _refuse(name, f"{name} must be a number of {unit} {'>' if positive else '>='} 0, got {value!r}", field)
    return float(value)


def check_seconds(name: str, value: Any, *, positive: bool = False, field: str | None = None) -> float:
    return check_number(name, value, unit="seconds", positive=positive, field=field)
