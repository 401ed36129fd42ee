# mypy: disable-error-code="empty-body"
# (The @blocking method is a declaration: blocking() gives it the async method as its body.)
"""What every minting family offers blocking callers, written once as the async side's :class:`MintingFamily` is:
``mint(request, extensions)``, the async method run on the client's loop, and ``create_many``, whose batch runs on
the loop while its input is pulled in the iterating thread (``_batch``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any, Generic, TypeVar

from .._batch import BatchStream, Progress
from .._http import NO_EXTENSIONS, Extensions
from ..resources._minting import MintingFamily
from ._batch import Requests, SyncBatchStream
from ._blocking import Blocking, blocking

__all__ = ["SyncMintingFamily"]

FamilyT = TypeVar("FamilyT", bound="MintingFamily[Any, Any]")
RequestT = TypeVar("RequestT")
TokenT = TypeVar("TokenT")


class SyncMintingFamily(Blocking[FamilyT], Generic[FamilyT, RequestT, TokenT]):
    """A :class:`MintingFamily` (``FamilyT``, minting ``RequestT`` s into ``TokenT`` s) for blocking callers."""

    @blocking(MintingFamily[RequestT, TokenT].mint)
    def mint(self, request: RequestT, extensions: Extensions = NO_EXTENSIONS) -> TokenT:
        """Mint the token a prepared request describes (``extensions``: per-call facts for the chain)."""

    def create_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> SyncBatchStream[TokenT]:
        """Mint many tokens, at most ``concurrency`` at once, yielding a :class:`BatchItem` as each completes (see
        ``SignalWireClient``'s ``create_many``). The input is pulled lazily, in the iterating thread; ``progress``
        is called on the client's loop thread, so it must not call the client."""

        def start(source: Requests) -> BatchStream[TokenT]:
            return self._target.create_many(
                source, concurrency=concurrency, max_rate=max_rate, progress=progress, ordered=ordered
            )

        return SyncBatchStream(self._portal, start, requests)
