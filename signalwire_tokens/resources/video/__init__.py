"""``client.video``: room tokens (single and batch) and conference tokens (``/api/video/...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._conference_models import ConferenceToken
from ._conference_tokens import ConferenceTokens
from ._room_models import ROOM_TOKEN_PERMISSIONS, JoinAs, MediaAllowed, RoomToken, RoomTokenRequest
from ._room_tokens import RoomTokens

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = [
    "ROOM_TOKEN_PERMISSIONS",
    "ConferenceToken",
    "ConferenceTokens",
    "JoinAs",
    "MediaAllowed",
    "RoomToken",
    "RoomTokenRequest",
    "RoomTokens",
    "Video",
]


class Video:
    """The video API's token operations: ``room_tokens`` and ``conference_tokens``."""

    room_tokens: RoomTokens
    conference_tokens: ConferenceTokens

    def __init__(self, client: SignalWireClient) -> None:
        self.room_tokens = RoomTokens(client)
        self.conference_tokens = ConferenceTokens(client)
