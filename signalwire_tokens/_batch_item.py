"""The outcome of one request of a batch: :class:`BatchSuccess` (its token) or :class:`BatchFailure` (its error).

:data:`BatchItem` is their union, so a type checker narrows on ``ok``: under ``if item.ok is True:`` ``item.token`` is
a ``ChatToken`` (and ``item.error`` None), under ``else`` ``item.error`` is a ``SignalWireError``. mypy narrows a plain
``if item.ok:`` too; pyright narrows a union on an attribute only by comparison (``is True``, ``== True``) or with
``isinstance(item, BatchSuccess)``, hence the documented ``is True``. It is generic in the token type, with the chat
token as its default: ``BatchItem[RoomToken]`` is a room token batch's item. At run time it is the union of the two
classes, so ``isinstance(x, BatchItem)`` works too, and ``BatchItem[RoomToken]`` is the union with that token.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeAlias

import attrs

from ._errors import SignalWireError

if TYPE_CHECKING:
    import typing_extensions

    # A type-only import (nothing at run time): the default a bare ``BatchSuccess`` means, for type checkers.
    from .resources._channel_models import ChatToken

    # The token type of the family that minted it. A bare ``BatchSuccess`` is a chat token's (a PEP 696 default, which
    # only type checkers read: at run time no TypeVar needs it, and typing_extensions is not a dependency).
    TokenT = typing_extensions.TypeVar("TokenT", covariant=True, default=ChatToken)
else:
    TokenT = typing.TypeVar("TokenT", covariant=True)

__all__ = ["BatchFailure", "BatchItem", "BatchSuccess"]


@attrs.frozen
class BatchSuccess(Generic[TokenT]):
    """A request of a batch that was minted: ``token`` is the result, ``error`` is None, ``ok`` is True."""

    index: int
    #: The request as the batch made it (a :class:`ChatTokenRequest` for chat tokens).
    request: Any
    token: TokenT
    ok: ClassVar[Literal[True]] = True
    error: ClassVar[None] = None


@attrs.frozen
class BatchFailure:
    """A request of a batch that failed: ``error`` says why, ``token`` is None, ``ok`` is False."""

    index: int
    #: The request, or, when the input item could not become one, the item as given.
    request: Any
    error: SignalWireError
    ok: ClassVar[Literal[False]] = False
    token: ClassVar[None] = None


if TYPE_CHECKING:
    BatchItem: TypeAlias = "BatchSuccess[TokenT] | BatchFailure"
    """One outcome of a batch, ``BatchSuccess[TokenT] | BatchFailure``: ``BatchItem`` bare is a chat token batch's,
    ``BatchItem[RoomToken]`` a room token batch's; ``item.ok is True`` narrows it to the success."""
else:

    class _GenericUnion:
        """What ``BatchItem`` is at run time: a union of classes that ``isinstance`` takes (as a plain union) and that
        a subscript makes specific (which a plain union of classes refuses). Python 3.10 has no generic alias of a
        union with a default; type checkers read the alias above instead."""

        def __init__(self, union: Any) -> None:
            self._union = union

        def __getitem__(self, token: Any) -> Any:
            return BatchSuccess[token] | BatchFailure

        def __instancecheck__(self, instance: Any) -> bool:
            return isinstance(instance, self._union)

        def __subclasscheck__(self, cls: type) -> bool:
            return issubclass(cls, self._union)

        def __or__(self, other: Any) -> Any:
            return self._union | other

        def __ror__(self, other: Any) -> Any:
            return other | self._union

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # Callable, as typing wants of what an annotation names (typing.get_type_hints of a bare BatchItem).
            raise TypeError("BatchItem is a union: make a BatchSuccess or a BatchFailure")

        def __repr__(self) -> str:
            return "BatchItem"

    BatchItem = _GenericUnion(BatchSuccess | BatchFailure)
