"""The five routes: what each reads from its body and what it mints, asking the app's policy where there is one.
Each returns the token and its expiry, or None when the policy refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..resources import ChatTokenRequest, RoomTokenRequest
from ._bodies import fabric_token_body, no_fields, room_body
from ._minting import Minted, Minter
from ._subscriber import Subscriber

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["ROUTES", "ChannelsPolicy", "GuestPolicy", "Route", "RoomsPolicy", "mounted_routes"]

#: ``rooms``: ``async (subscriber, room_name) -> RoomTokenRequest | None``.
RoomsPolicy = Callable[[Subscriber, str], Awaitable["RoomTokenRequest | None"]]
#: ``channels``: ``async (subscriber, body) -> ChatTokenRequest | None``, the body the page sent as a dict.
ChannelsPolicy = Callable[[Subscriber, dict[str, Any]], Awaitable["ChatTokenRequest | None"]]
#: ``guest_addresses``: ``async (request) -> Sequence[str] | None``, the Fabric address ids a guest may reach.
GuestPolicy = Callable[[Any], Awaitable["Sequence[str] | None"]]

#: Every route a mount may have, in the order of the contract's table.
ROUTES = ("fabric/token", "fabric/refresh", "fabric/guest", "video/token", "chat/token")


@attrs.frozen
class Route:
    """One mounted route: ``parse`` checks its body (a :class:`~._answer.BodyError` when it does not fit) and
    returns what ``mint`` needs; ``signed_in`` says whether it needs a subscriber (all but ``fabric/guest``)."""

    name: str
    parse: Callable[[Mapping[str, Any]], Any]
    mint: Callable[[Subscriber | None, Any, Any], Awaitable[Minted | None]]
    signed_in: bool = True


def _expect(kind: type, value: Any, policy: str) -> Any:
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"the {policy} policy must return a {kind.__name__} or None, got {type(value).__name__}")
    return value


def mounted_routes(
    client: SignalWireClient,
    minter: Minter,
    *,
    rooms: RoomsPolicy | None,
    channels: ChannelsPolicy | None,
    guest_addresses: GuestPolicy | None,
) -> dict[str, Route]:
    """The routes of a mount: the two subscriber routes always, each other one when its policy is given."""

    async def fabric_token(subscriber: Subscriber | None, fingerprint: str | None, _request: Any) -> Minted:
        assert subscriber is not None
        if fingerprint is not None:
            return await minter.bound(subscriber, fingerprint)
        return await minter.session(subscriber)

    async def fabric_refresh(subscriber: Subscriber | None, _body: None, _request: Any) -> Minted:
        assert subscriber is not None
        return await minter.refresh(subscriber)

    routes = {
        "fabric/token": Route("fabric/token", fabric_token_body, fabric_token),
        "fabric/refresh": Route("fabric/refresh", no_fields, fabric_refresh),
    }
    if guest_addresses is not None:
        guest_policy = guest_addresses

        async def fabric_guest(_subscriber: Subscriber | None, _body: None, request: Any) -> Minted | None:
            addresses = await guest_policy(request)
            return None if addresses is None else await minter.guest(addresses)

        routes["fabric/guest"] = Route("fabric/guest", no_fields, fabric_guest, signed_in=False)
    if rooms is not None:
        rooms_policy = rooms

        async def video_token(subscriber: Subscriber | None, room: str, _request: Any) -> Minted | None:
            assert subscriber is not None
            asked = _expect(RoomTokenRequest, await rooms_policy(subscriber, room), "rooms")
            return None if asked is None else ((await client.video.room_tokens.mint(asked)).token, None)

        routes["video/token"] = Route("video/token", room_body, video_token)
    if channels is not None:
        channels_policy = channels

        async def chat_token(subscriber: Subscriber | None, body: dict[str, Any], _request: Any) -> Minted | None:
            assert subscriber is not None
            asked = _expect(ChatTokenRequest, await channels_policy(subscriber, body), "channels")
            if asked is None:
                return None
            chat = await client.chat_tokens.mint(asked)
            return chat.token, chat.expires_at

        routes["chat/token"] = Route("chat/token", dict, chat_token)
    return routes
