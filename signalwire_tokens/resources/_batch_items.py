"""A batch item as a request, for every family: a request as it is, or a dict of its fields checked by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._errors import InvalidRequestError

if TYPE_CHECKING:
    from attrs import AttrsInstance

__all__ = ["request_from_item"]

R = TypeVar("R", bound="AttrsInstance")


#: Each request class's field names and its required ones (no default), worked out once: a batch of dicts asks for
#: them on every item.
_FIELDS: dict[type[Any], tuple[frozenset[str], tuple[str, ...]]] = {}


def _fields(cls: type[AttrsInstance]) -> tuple[frozenset[str], tuple[str, ...]]:
    found = _FIELDS.get(cls)
    if found is None:
        fields = attrs.fields(cls)
        names = frozenset(field.name for field in fields)
        found = _FIELDS[cls] = names, tuple(field.name for field in fields if field.default is attrs.NOTHING)
    return found


def request_from_item(item: Any, accept: type[R], make: type[R]) -> R:
    """``item`` if it is an ``accept`` (a family's request class, or the base its families share), else a dict of
    ``make``'s fields made into one (an unknown or missing field an :class:`InvalidRequestError` naming it);
    anything else an :class:`InvalidRequestError`."""
    if isinstance(item, accept):
        return item
    if isinstance(item, Mapping):
        names, required = _fields(make)
        unknown = sorted(map(str, set(item) - names))
        if unknown:
            raise InvalidRequestError(f"unknown field {unknown[0]!r} in a batch item", field=unknown[0])
        missing = [name for name in required if name not in item]
        if missing:
            raise InvalidRequestError(f"a batch item needs {missing[0]!r}", field=missing[0])
        return make(**item)
    raise InvalidRequestError(
        f"a batch item must be a {make.__name__} or a dict of its fields, not {type(item).__name__}"
    )
