"""``client.video.room_tokens``: mint room tokens one at a time or in concurrent batches
(``POST /api/video/room_tokens``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..._batch import BatchStream, Progress
from ..._errors import UnexpectedResponseError
from ..._http import NO_EXTENSIONS, Extensions, JsonBody, Response
from ._room_models import JoinAs, MediaAllowed, RoomToken, RoomTokenRequest, as_room_request

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = ["RoomTokens"]

OPERATION = "video.room_tokens.create"


def _minted(response: Response) -> str:
    """The token of the documented success body, ``Video.RoomTokenResponse``: ``{"token": "<JWT>"}``."""
    try:
        token = json.loads(response.body)["token"]
    except (ValueError, TypeError, KeyError):
        token = None
    if not isinstance(token, str):
        raise UnexpectedResponseError(
            f'the API answered {response.status} to {OPERATION} with a body that is not {{"token": "<a string>"}}'
        )
    return token


class RoomTokens:
    """``POST /api/video/room_tokens``: a token that lets a client join a video room."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._url = client.url("/api/video/room_tokens")

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

    async def mint(self, request: RoomTokenRequest, extensions: Extensions = NO_EXTENSIONS) -> RoomToken:
        """Mint the token a prepared request describes (``extensions``: per-call facts for the chain, such as a
        batch's flow control). Like a chat token, a room token is retried: minting one changes nothing on the
        API's side that a second mint would repeat."""
        body = JsonBody(request.to_json())
        response = await self._client.send("POST", self._url, OPERATION, body=body, extensions=extensions)
        return RoomToken(_minted(response), request.room_name, request.user_name)

    def create_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> BatchStream[RoomToken]:
        """Mint many room tokens (:class:`RoomTokenRequest` s or dicts of their fields) with the batch engine of
        every family: at most ``concurrency`` at once, the input pulled lazily, a failed item carrying its error,
        429s waited out (bounded), ``max_rate``, ``progress`` and ``ordered`` as for chat tokens."""
        return BatchStream(
            self.mint,
            requests,
            as_request=as_room_request,
            concurrency=concurrency,
            max_rate=max_rate,
            progress=progress,
            ordered=ordered,
        )
