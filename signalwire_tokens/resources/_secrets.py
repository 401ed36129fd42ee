"""What shows the secret fields of a request class outside its own repr: a batch row given as a dict and refused
before it became a request. A field is secret when its repr masks it (``repr=mask`` for a token, ``repr=hide`` for
a password): that one declaration, on the field, is the rule for its value wherever it shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._validate import SECRET_REPRS

if TYPE_CHECKING:
    from attrs import AttrsInstance

__all__ = ["MaskedRow", "Masks", "secret_masks"]

#: A secret field's name to the function that shows its value.
Masks = Mapping[str, Callable[[Any], str]]


def secret_masks(cls: type[AttrsInstance]) -> Masks:
    """The secret fields of an attrs class, each with the function its repr shows it with."""
    return {field.name: field.repr for field in attrs.fields(cls) if field.repr in SECRET_REPRS}


class MaskedRow(Mapping[Any, Any]):
    """A batch row given as a dict, as a row that never became a request holds it: a read-only copy, equal to the
    dict, whose repr (and str) masks the secret fields of the family's request class as the request's would."""

    __slots__ = ("_fields", "_masks")

    def __init__(self, row: Mapping[Any, Any], masks: Masks) -> None:
        self._fields = dict(row)
        self._masks = masks

    def __getitem__(self, name: Any) -> Any:
        return self._fields[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        shown = (f"{name!r}: {self._masks.get(name, repr)(value)}" for name, value in self._fields.items())
        return "{" + ", ".join(shown) + "}"
