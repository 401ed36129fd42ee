"""``client.video.room_tokens``: mint room tokens one at a time or in concurrent batches
(``POST /api/video/room_tokens``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..._http import Response
from .._minting import MintingFamily, minted_jwt
from ._room_models import JoinAs, MediaAllowed, RoomToken, RoomTokenRequest, as_room_request

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = ["RoomTokens"]


class RoomTokens(MintingFamily[RoomTokenRequest, RoomToken]):
    """``POST /api/video/room_tokens``: a token that lets a client join a video room. Like a chat token, a room token
    is retried: minting one changes nothing on the API's side that a second mint would repeat."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, "/api/video/room_tokens", "video.room_tokens.create")

    async def create(
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
        """Mint one room token. Every argument is a field of ``Video.CreateRoomTokenRequest``, checked before
        anything is sent (see :class:`RoomTokenRequest`); one left None is not sent, and the API's default
        applies. Datetimes must be aware; they are sent as RFC 3339 in UTC."""
        request = RoomTokenRequest(
            room_name=room_name,
            user_name=user_name,
            permissions=permissions,
            join_from=join_from,
            join_until=join_until,
            remove_at=remove_at,
            remove_after_seconds_elapsed=remove_after_seconds_elapsed,
            join_audio_muted=join_audio_muted,
            join_video_muted=join_video_muted,
            auto_create_room=auto_create_room,
            enable_room_previews=enable_room_previews,
            room_display_name=room_display_name,
            end_room_session_on_leave=end_room_session_on_leave,
            join_as=join_as,
            media_allowed=media_allowed,
            room_meta=room_meta,
            meta=meta,
            sync_audio_video=sync_audio_video,
        )
        return await self.mint(request)

    def _body(self, request: RoomTokenRequest) -> dict[str, Any]:
        return request.to_json()

    def _reader(self, request: RoomTokenRequest, sent_at: datetime) -> Callable[[Response], RoomToken]:
        return lambda response: RoomToken(minted_jwt(response), request.room_name, request.user_name)

    def _as_request(self, item: Any) -> RoomTokenRequest:
        return as_room_request(item)
