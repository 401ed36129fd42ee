# mypy: disable-error-code="empty-body"
# (Each @blocking method is a declaration: blocking() gives it the async method as its body.)
"""``client.video`` of :class:`SyncSignalWireClient`: room tokens and conference tokens, blocking. Each call is
the async resource's own method (``_blocking``), run on the client's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ..resources.video import (
    ConferenceToken,
    ConferenceTokens,
    JoinAs,
    MediaAllowed,
    RoomToken,
    RoomTokenRequest,
    RoomTokens,
    Video,
)
from ._blocking import Blocking, blocking
from ._minting import SyncMintingFamily
from ._portal import Portal

__all__ = ["SyncConferenceTokens", "SyncRoomTokens", "SyncVideo"]


class SyncRoomTokens(SyncMintingFamily[RoomTokens, RoomTokenRequest, RoomToken]):
    """``client.video.room_tokens``, blocking."""

    @blocking(RoomTokens.create)
    def create(
        self,
        room_name: str,
        *,
        user_name: str | None = None,
        permissions: Iterable[str] | None = None,
        join_from: datetime | None = None,
        join_until: datetime | None = None,
        remove_at: datetime | None = None,
        remove_after_seconds_elapsed: int | None = None,
        join_audio_muted: bool | None = None,
        join_video_muted: bool | None = None,
        auto_create_room: bool | None = None,
        enable_room_previews: bool | None = None,
        room_display_name: str | None = None,
        end_room_session_on_leave: bool | None = None,
        join_as: JoinAs | None = None,
        media_allowed: MediaAllowed | None = None,
        room_meta: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        sync_audio_video: bool | None = None,
    ) -> RoomToken:
        """Mint one room token (see ``SignalWireClient``'s ``video.room_tokens.create``)."""


async def _next_token(pages: AsyncIterator[ConferenceToken]) -> ConferenceToken | None:
    try:
        return await pages.__anext__()
    except StopAsyncIteration:
        return None


class SyncConferenceTokens(Blocking[ConferenceTokens]):
    """``client.video.conference_tokens``, blocking."""

    def list(self, conference_id: str, *, page_size: int = 50) -> Iterator[ConferenceToken]:
        """Every token of a conference, a page at a time as the iteration reaches it (see ``SignalWireClient``'s
        ``video.conference_tokens.list``). The arguments are checked at the call; leaving the ``for`` early closes
        the listing on the client's loop."""
        return self._iterate(self._target.list(conference_id, page_size=page_size))

    def _iterate(self, pages: AsyncIterator[ConferenceToken]) -> Iterator[ConferenceToken]:
        try:
            while (token := self._portal.run(_next_token, pages)) is not None:
                yield token
        finally:
            aclose = getattr(pages, "aclose", None)
            if aclose is not None and not self._portal.closed:
                self._portal.run(aclose)

    @blocking(ConferenceTokens.get)
    def get(self, token_id: str) -> ConferenceToken:
        """One conference token, by its ID."""

    @blocking(ConferenceTokens.reset)
    def reset(self, token_id: str) -> ConferenceToken:
        """Give a conference token a new value, and return it; not repeated after an unknown outcome."""


class SyncVideo:
    """``client.video``, blocking: ``room_tokens`` and ``conference_tokens``."""

    room_tokens: SyncRoomTokens
    conference_tokens: SyncConferenceTokens

    def __init__(self, portal: Portal, video: Video) -> None:
        self.room_tokens = SyncRoomTokens(portal, video.room_tokens)
        self.conference_tokens = SyncConferenceTokens(portal, video.conference_tokens)
