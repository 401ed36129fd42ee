"""Recipe: a meeting scheduler that hands every invitee a video room token, and rotates a conference's tokens.

The invitees' tokens are minted in one batch, each valid from five minutes before the meeting until its end (aware
datetimes: a naive one is refused), the host with moderator permissions and the rest as audience. Then every token
of a conference is listed, a page at a time, and reset, so the old values stop working. Run it:
``python examples/video_meeting.py`` does all of this against a fake space; in production, make the client with
``SignalWireClient.from_env()``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from signalwire_tokens import RoomTokenRequest, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire

HOST_PERMISSIONS = ["room.self.audio_mute", "room.self.audio_unmute", "room.member.remove", "room.set_layout"]


def invitations(room: str, start: datetime, end: datetime, host: str, guests: list[str]) -> list[RoomTokenRequest]:
    window: dict[str, Any] = {"room_name": room, "join_from": start - timedelta(minutes=5), "join_until": end}
    return [
        RoomTokenRequest(user_name=host, permissions=HOST_PERMISSIONS, end_room_session_on_leave=True, **window),
        *(RoomTokenRequest(user_name=guest, join_as="audience", **window) for guest in guests),
    ]


async def invite(client: SignalWireClient, requests: list[RoomTokenRequest]) -> dict[str, str]:
    """Each invitee's room token, by name; a failed row is reported and left out."""
    tokens: dict[str, str] = {}
    async for item in client.video.room_tokens.create_many(requests, concurrency=16, ordered=True):
        if item.ok is True:
            tokens[item.token.user_name or ""] = item.token.token
        else:
            print(f"could not invite {item.request.user_name}: {item.error}")
    return tokens


async def rotate(client: SignalWireClient, conference_id: str) -> int:
    """Reset every token of a conference; returns how many."""
    ids = [token.id async for token in client.video.conference_tokens.list(conference_id, page_size=100)]
    for token_id in ids:
        await client.video.conference_tokens.reset(token_id)
    return len(ids)


async def main() -> None:
    # A meeting a week from now at 09:00 UTC: a join_until already past would be refused (no one could use it).
    start = (datetime.now(timezone.utc) + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        requests = invitations("weekly-sync", start, start + timedelta(hours=1), "ada", ["bob", "carol", "dan"])
        tokens = await invite(client, requests)
        claims = fake.decode_room_token(tokens["ada"])
        opens, closes = (datetime.fromtimestamp(claims[c], timezone.utc) for c in ("jf", "ju"))
        window = f"{opens:%H:%M}..{closes:%H:%M} UTC"
        print(f"{len(requests)} invitees -> {len(tokens)} room tokens for {claims['r']!r} (join {window})")
        rotated = await rotate(client, fake.add_conference(tokens=2))
        print(f"{rotated} conference tokens rotated ({fake.conference_token_resets} resets)")


if __name__ == "__main__":
    asyncio.run(main())
