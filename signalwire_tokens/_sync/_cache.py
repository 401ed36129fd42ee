"""What every token cache offers blocking callers: closing, the counts, ``len`` and ``with``; each family's cache
adds its own ``get`` and ``invalidate``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..resources._token_cache import TokenCache
from ._blocking import Blocking

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SyncTokenCache"]

CacheT = TypeVar("CacheT", bound="TokenCache[Any, Any, Any]")


class SyncTokenCache(Blocking[CacheT], Generic[CacheT]):
    """A token cache run on the sync client's loop: single flight holds across threads too (a cache is shared by
    every thread that uses it), and its background refreshes run on the loop, between your calls."""

    def close(self) -> None:
        """Cancel the refreshes in flight, wait until they are gone, and drop every token. Safe to call twice, and
        after the client closed (which closes its caches)."""
        if not self._portal.closed:
            self._portal.run(self._target.aclose)

    @property
    def max_entries(self) -> int:
        """The most entries kept (an entry whose mint is in flight is never evicted)."""
        return self._target.max_entries

    @property
    def refresh_margin(self) -> float | None:
        """Seconds of life left at which a token is refreshed (None: the default for each token's life)."""
        return self._target.refresh_margin

    @property
    def hits(self) -> int:
        """Gets answered at once from the cache."""
        return self._target.hits

    @property
    def misses(self) -> int:
        """Gets that waited for a request (their own, or one in flight)."""
        return self._target.misses

    @property
    def refreshes(self) -> int:
        """Background refreshes started."""
        return self._target.refreshes

    def __len__(self) -> int:
        return len(self._target)

    def __repr__(self) -> str:
        return f"Sync{self._target!r}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
