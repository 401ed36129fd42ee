"""Reading the Call Fabric operations' success bodies: objects of string fields (tokens, ids)."""

from __future__ import annotations

import json

from ..._errors import UnexpectedResponseError
from ..._http import Response

__all__ = ["read_strings"]


def read_strings(response: Response, *names: str) -> tuple[str, ...]:
    """The string fields ``names`` of a JSON object body, in that order, or an :class:`UnexpectedResponseError`
    naming the body's expected shape (never the values it held: they are tokens)."""
    try:
        data = json.loads(response.body)
        values = tuple(data[name] for name in names)
    except (ValueError, TypeError, KeyError):
        values = ()
    if len(values) != len(names) or not all(isinstance(value, str) for value in values):
        shape = ", ".join(f'"{name}": "<a string>"' for name in names)
        raise UnexpectedResponseError(
            f"the API answered {response.status} to {response.request.operation} with a body that is not {{{shape}}}"
        )
    return values
