"""The fake space's Call Fabric operations refuse what SignalWire documents as invalid, each with the documented body
(``{"errors": [...]}`` naming the attribute), and mint nothing; and the credentials each one takes are checked."""

from __future__ import annotations

from typing import Any

import pytest

from signalwire_tokens import AuthenticationError, JsonBody, Security, UnprocessableEntityError
from signalwire_tokens.testing import FakeSignalWire

from .conftest import TOKEN_ID, assert_response_matches_spec, send_raw

SUBSCRIBERS = "/api/fabric/subscribers/tokens"
REFRESH = "/api/fabric/subscribers/tokens/refresh"
GUESTS = "/api/fabric/guests/tokens"
EMBEDS = "/api/fabric/embeds/tokens"
INVITES = "/api/fabric/subscriber/invites"
FINGERPRINT = "Vg1h7IDV3AR6kTpCkZPHOVs32B81DX1naHiHbYoKXgY"

# (path, body, status, attribute named)
REFUSALS: list[tuple[str, Any, int, str | None]] = [
    (SUBSCRIBERS, b"not json", 422, None),
    (SUBSCRIBERS, {}, 422, "reference"),
    (SUBSCRIBERS, {"reference": "r", "colour": "red"}, 422, "colour"),
    (SUBSCRIBERS, {"reference": "r", "first_name": 7}, 422, "first_name"),
    (SUBSCRIBERS, {"reference": "r", "application_id": "nope"}, 422, "application_id"),
    (SUBSCRIBERS, {"reference": "r", "fingerprint": FINGERPRINT[:20]}, 422, "fingerprint"),
    (SUBSCRIBERS, {"reference": "r", "scope": "sat:all"}, 422, "scope"),
    (SUBSCRIBERS, {"reference": "r", "region": "mars"}, 422, "region"),
    (SUBSCRIBERS, {"reference": "r", "expire_at": 5}, 422, "expire_at"),
    (SUBSCRIBERS, {"reference": "r", "expire_at": 1.5}, 422, "expire_at"),
    (SUBSCRIBERS, {"reference": "r", "expire_at": "soon"}, 422, "expire_at"),
    (REFRESH, {}, 422, "refresh_token"),
    (REFRESH, {"refresh_token": "eyJ.never.minted"}, 422, "refresh_token"),
    (GUESTS, {}, 422, "allowed_addresses"),
    (GUESTS, {"allowed_addresses": ["nope"]}, 422, "allowed_addresses"),
    (GUESTS, {"allowed_addresses": [TOKEN_ID] * 11}, 422, "allowed_addresses"),
    (GUESTS, {"allowed_addresses": [TOKEN_ID], "ch": "eu"}, 422, "ch"),
    (EMBEDS, {}, 422, "token"),
    (EMBEDS, {"token": "c2c_unknown"}, 403, None),
]


@pytest.mark.parametrize(("path", "body", "status", "attribute"), REFUSALS)
async def test_what_the_spec_forbids_is_refused_with_a_documented_body(
    each_fake: FakeSignalWire, path: str, body: Any, status: int, attribute: str | None
) -> None:
    sent = body if isinstance(body, bytes) else JsonBody(body)
    response = await send_raw(each_fake, "POST", path, sent, content_type="application/json")
    assert response.status == status
    data = response.json()
    assert (data["errors"][0].get("attribute") if "errors" in data else None) == attribute
    assert_response_matches_spec(each_fake.requests[-1], status, response.body)
    assert sum(each_fake.fabric.minted.values()) == 0 and each_fake.fabric.subscribers == {}


async def test_an_invite_is_checked_after_its_bearer_token(fake: FakeSignalWire) -> None:
    address = fake.fabric.add_address()
    async with fake.client() as client:
        sat = await client.fabric.subscriber_tokens.create("alice")
        with pytest.raises(AuthenticationError):
            await client.fabric.invite_tokens.create(address_id=address, subscriber_token=sat.refresh_token)
        bearer = Security.bearer_token(sat.token)
        for body, attribute in (({}, "address_id"), ({"address_id": address, "expires_at": 1}, "expires_at")):
            with pytest.raises(UnprocessableEntityError) as info:
                await client.send("POST", client.url(INVITES), "raw", body=JsonBody(body), security=bearer)
            assert info.value.attribute == attribute
    assert fake.fabric.minted["invite"] == 0
