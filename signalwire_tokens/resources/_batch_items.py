"""A batch item as a request, for every family: a request as it is, or a dict of its fields checked by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._batch_pool import ItemRefused
from .._errors import InvalidRequestError
from ._secrets import MaskedRow, Masks, secret_masks

if TYPE_CHECKING:
    from attrs import AttrsInstance

__all__ = ["request_from_item"]

R = TypeVar("R", bound="AttrsInstance")


@attrs.frozen
class _Fields:
    names: frozenset[str]
    required: tuple[str, ...]
    masks: Masks


#: Each request class's field names, its required ones (no default) and its secret ones, worked out once: a batch
#: of dicts asks for them on every item.
_FIELDS: dict[type[Any], _Fields] = {}


def _fields(cls: type[AttrsInstance]) -> _Fields:
    found = _FIELDS.get(cls)
    if found is None:
        fields = attrs.fields(cls)
        names = frozenset(field.name for field in fields)
        required = tuple(field.name for field in fields if field.default is attrs.NOTHING)
        found = _FIELDS[cls] = _Fields(names, required, secret_masks(cls))
    return found


def request_from_item(item: Any, accept: type[R], make: type[R]) -> R:
    """``item`` if it is an ``accept`` (a family's request class, or the base its families share), else a dict of
    ``make``'s fields made into one; anything else an :class:`InvalidRequestError`. A dict that cannot become one
    (an unknown, missing or invalid field) raises :class:`ItemRefused`: its error names the field, and its row is
    the dict with ``make``'s secrets masked, so that no repr of the failed row shows a password."""
    if isinstance(item, accept):
        return item
    if isinstance(item, Mapping):
        fields = _fields(make)
        try:
            return _made(item, make, fields)
        except InvalidRequestError as error:
            raise ItemRefused(error, MaskedRow(item, fields.masks)) from None
    raise InvalidRequestError(
        f"a batch item must be a {make.__name__} or a dict of its fields, not {type(item).__name__}"
    )


def _made(item: Mapping[Any, Any], make: type[R], fields: _Fields) -> R:
    unknown = sorted(map(str, set(item) - fields.names))
    if unknown:
        raise InvalidRequestError(f"unknown field {unknown[0]!r} in a batch item", field=unknown[0])
    missing = [name for name in fields.required if name not in item]
    if missing:
        raise InvalidRequestError(f"a batch item needs {missing[0]!r}", field=missing[0])
    return make(**item)
