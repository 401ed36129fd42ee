"""attrs validators that more than one request model uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._errors import InvalidRequestError

__all__ = ["one_of"]


def one_of(choices: tuple[str, ...]) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """A field that is None (not sent) or one of ``choices`` (a spec's enum)."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value not in choices:
            name = attribute.name
            raise InvalidRequestError(f"{name} must be one of {', '.join(choices)}, got {value!r}", field=name)

    return check
