"""The blocking face of an async resource: each of its calls is the async method itself, run on the client's loop.

A blocking method is declared with the async method's parameters, for ``help()`` and type checkers (whose
completeness checks want a declared type), and :func:`blocking` puts the async method behind it: the arguments go
to it untouched, so its checks, defaults and results are the blocking call's, with no copy to drift apart. The
declaration has no body of its own; mypy holds its parameters to the async method's (the ``ParamSpec``), and the
test suite compares them too.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from ._portal import Portal

__all__ = ["Blocking", "blocking"]

P = ParamSpec("P")
T = TypeVar("T")
TargetT = TypeVar("TargetT")
BlockingT = TypeVar("BlockingT", bound="Blocking[Any]")

Declared = Callable[Concatenate[BlockingT, P], T]


class Blocking(Generic[TargetT]):
    """Runs the calls of one async object (``TargetT``: a resource, a cache) on a :class:`Portal`."""

    def __init__(self, portal: Portal, target: TargetT) -> None:
        self._portal = portal
        self._target = target


def blocking(
    method: Callable[Concatenate[Any, P], Awaitable[T]],
) -> Callable[[Declared[BlockingT, P, T]], Declared[BlockingT, P, T]]:
    """Make the declared method await ``method`` of its :class:`Blocking`'s target on the loop, with the arguments
    it was given, as they are."""
    name = method.__name__

    def install(declared: Declared[BlockingT, P, T]) -> Declared[BlockingT, P, T]:
        @functools.wraps(declared)
        def run(self: BlockingT, /, *args: P.args, **kwargs: P.kwargs) -> T:
            # Looked up on the target, so a family that overrides the method is run as it is.
            bound: Callable[P, Awaitable[T]] = getattr(self._target, name)
            return self._portal.run(bound, *args, **kwargs)

        return run

    return install
