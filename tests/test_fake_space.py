"""The fake space answers as SignalWire documents, over loopback and in memory alike: every error body it gives is
the documented one for its endpoint and status, and it refuses what the spec forbids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from signalwire_tokens import FormBody, JsonBody
from signalwire_tokens.testing import FakeSignalWire

from .conftest import (
    PROJECT_ID,
    SPEC,
    TOKEN_ID,
    assert_request_matches_spec,
    assert_response_matches_spec,
    send_raw,
    spec_request,
)

READ = {"read": True}
API_TOKENS = f"/api/laml/2010-04-01/Accounts/{PROJECT_ID}/tokens"
API_TOKEN = f"{API_TOKENS}/{TOKEN_ID}"
CHAT_TOKENS = "/api/chat/tokens"
PROJECT_TOKENS = "/api/project/tokens"
ROOM_TOKENS = "/api/video/room_tokens"
SERVED = {
    "create_token": "api_tokens.create",
    "update_token": "api_tokens.update",
    "delete_token": "api_tokens.delete",
    "project_create_token": "project_tokens.create",
    "project_update_token": "project_tokens.update",
    "project_delete_token": "project_tokens.delete",
    "create_chat_token": "chat_tokens.create",
    "pubsub_create_token": "pubsub_tokens.create",
    "video_create_room_token": "video.room_tokens.create",
    "video_list_conference_tokens": "video.conference_tokens.list",
    "video_get_conference_token": "video.conference_tokens.get",
    "video_reset_conference_token": "video.conference_tokens.reset",
    "fabric_create_subscriber_token": "fabric.subscriber_tokens.create",
    "fabric_refresh_subscriber_token": "fabric.subscriber_tokens.refresh",
    "fabric_create_subscriber_guest_token": "fabric.guest_tokens.create",
    "fabric_create_guest_embed_token": "fabric.embed_tokens.create",
    "fabric_create_subscriber_invite_token": "fabric.invite_tokens.create",
}
# A request of each operation that the space would accept.
VALID: dict[str, tuple[str, str, FormBody | JsonBody | None]] = {
    "api_tokens.create": ("POST", API_TOKENS, FormBody((("name", "n"), ("permissions", "chat")))),
    "api_tokens.update": ("PATCH", API_TOKEN, JsonBody({"name": "renamed"})),
    "api_tokens.delete": ("DELETE", API_TOKEN, None),
    "project_tokens.create": ("POST", PROJECT_TOKENS, JsonBody({"name": "n", "permissions": ["chat"]})),
    "project_tokens.update": ("PATCH", f"{PROJECT_TOKENS}/{TOKEN_ID}", JsonBody({"name": "renamed"})),
    "project_tokens.delete": ("DELETE", f"{PROJECT_TOKENS}/{TOKEN_ID}", None),
    "chat_tokens.create": ("POST", CHAT_TOKENS, JsonBody({"ttl": 1, "channels": {"c": READ}})),
    "pubsub_tokens.create": ("POST", "/api/pubsub/tokens", JsonBody({"ttl": 1, "channels": {"c": READ}})),
    "video.room_tokens.create": ("POST", ROOM_TOKENS, JsonBody({"room_name": "r"})),
    "video.conference_tokens.list": ("GET", f"/api/video/conferences/{TOKEN_ID}/conference_tokens", None),
    "video.conference_tokens.get": ("GET", f"/api/video/conference_tokens/{TOKEN_ID}", None),
    "video.conference_tokens.reset": ("POST", f"/api/video/conference_tokens/{TOKEN_ID}/reset", None),
    "fabric.subscriber_tokens.create": ("POST", "/api/fabric/subscribers/tokens", JsonBody({"reference": "r"})),
    "fabric.subscriber_tokens.refresh": (
        "POST",
        "/api/fabric/subscribers/tokens/refresh",
        JsonBody({"refresh_token": "eyJ.x"}),
    ),
    "fabric.guest_tokens.create": ("POST", "/api/fabric/guests/tokens", JsonBody({"allowed_addresses": [TOKEN_ID]})),
    "fabric.embed_tokens.create": ("POST", "/api/fabric/embeds/tokens", JsonBody({"token": "c2c_x"})),
    "fabric.invite_tokens.create": ("POST", "/api/fabric/subscriber/invites", JsonBody({"address_id": TOKEN_ID})),
}


def documented_errors() -> Iterator[tuple[str, int]]:
    """Every (operation, error status) the spec documents for the operations the space serves."""
    for _, path_item in (SPEC.spec / "paths").items():
        for _, operation in path_item.items():
            name = SERVED.get((operation / "operationId").read_str())
            for status in (operation / "responses").str_keys():
                if name is not None and int(status) >= 400:
                    yield name, int(status)


def attribute_of(body: dict[str, Any]) -> str | None:
    """The attribute a 422 names, in either API's shape."""
    entry = body["errors"][0] if "errors" in body else body
    attribute: str | None = entry.get("attribute")
    return attribute


def test_every_operation_the_space_serves_is_in_the_spec() -> None:
    assert {name for name, _ in documented_errors()} == set(VALID)


@pytest.mark.parametrize(("operation", "status"), list(documented_errors()))
async def test_a_faults_default_body_is_the_documented_one(
    each_fake: FakeSignalWire, operation: str, status: int
) -> None:
    each_fake.fail(status, operation=operation)  # type: ignore[arg-type]
    response = await send_raw(each_fake, *VALID[operation])
    assert response.status == status
    assert response.headers["Content-Type"] == "application/json"
    assert_response_matches_spec(each_fake.requests[-1], status, response.body)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "Forbidden"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
        (599, "Error"),  # no reason phrase
    ],
)
async def test_a_status_the_spec_leaves_out_keeps_its_apis_shape(
    each_fake: FakeSignalWire, status: int, reason: str
) -> None:
    each_fake.fail(status, times=2)
    compatibility = await send_raw(each_fake, *VALID["api_tokens.create"])
    platform = await send_raw(each_fake, *VALID["chat_tokens.create"])
    # The compatibility body validates as the CompatibilityErrorResponse its documented 401 is.
    assert_response_matches_spec(each_fake.requests[0], 401, compatibility.body)
    assert compatibility.json()["status"] == status
    assert platform.json() == {"error": reason}
    assert compatibility.status == platform.status == status
    assert compatibility.headers["Content-Type"] == platform.headers["Content-Type"] == "application/json"


# The space's own refusals: (method, path, body, content type sent, status, attribute named).
REFUSALS: list[tuple[str, str, FormBody | JsonBody | bytes | None, str | None, int, str | None]] = [
    ("POST", API_TOKENS, JsonBody({"name": "n", "permissions": ["chat"]}), None, 400, None),
    ("POST", API_TOKENS, b"name=n&permissions=chat", "text/plain", 400, None),
    ("PATCH", API_TOKEN, b'{"name": "x"}', "text/plain", 400, None),
    ("PATCH", API_TOKEN, b"name=x", "application/x-www-form-urlencoded", 400, None),
    ("PATCH", API_TOKEN, b"[]", "application/json", 400, None),
    ("POST", CHAT_TOKENS, b'{"ttl": 1, "channels": {"c": {"read": true}}}', "text/plain", 400, None),
    ("POST", CHAT_TOKENS, b"[1]", "application/json", 400, None),
    ("POST", CHAT_TOKENS, b"not json", "application/json", 400, None),
    ("POST", API_TOKENS, FormBody((("name", "n"), ("permissions", "chat"), ("colour", "red"))), None, 422, "colour"),
    ("POST", API_TOKENS, FormBody((("permissions", "chat"),)), None, 422, "name"),
    ("POST", API_TOKENS, FormBody((("name", "n"),)), None, 422, "permissions"),
    ("POST", API_TOKENS, FormBody((("name", "n"), ("permissions", "voice"))), None, 422, "permissions"),
    (
        "POST",
        API_TOKENS,
        FormBody((("name", "n"), ("permissions", "chat"), ("subproject_id", "../x"))),
        None,
        422,
        "subproject_id",
    ),
    ("PATCH", API_TOKEN, JsonBody({"name": "x", "colour": "red"}), None, 422, "colour"),
    ("PATCH", API_TOKEN, JsonBody({"name": "x"}), None, 404, None),
    ("DELETE", API_TOKEN, None, None, 404, None),
    ("POST", CHAT_TOKENS, JsonBody({"ttl": 60.5, "channels": {"c": READ}}), None, 422, "ttl"),
    ("POST", CHAT_TOKENS, JsonBody({"ttl": True, "channels": {"c": READ}}), None, 422, "ttl"),
    ("POST", CHAT_TOKENS, JsonBody({"ttl": 1, "channels": []}), None, 422, "channels"),
    ("POST", CHAT_TOKENS, JsonBody({"ttl": 1, "channels": {"c": {"read": True, "own": True}}}), None, 422, "channels"),
    # The platform API's project tokens document no 400: a body that is not an object of parameters is a 422.
    ("POST", PROJECT_TOKENS, b"[null, null]", "application/json", 422, None),
    ("PATCH", f"{PROJECT_TOKENS}/{TOKEN_ID}", b"[null, null]", "application/json", 422, None),
    ("POST", PROJECT_TOKENS, b"not json", "application/json", 422, None),
    ("POST", PROJECT_TOKENS, b'{"name": "n", "permissions": ["chat"]}', "text/plain", 422, None),
    # subproject_id is a uuid when given: the spec has no null for it.
    (
        "POST",
        PROJECT_TOKENS,
        JsonBody({"name": "n", "permissions": ["chat"], "subproject_id": None}),
        None,
        422,
        "subproject_id",
    ),
    ("POST", ROOM_TOKENS, b"[]", "application/json", 400, None),
    ("POST", ROOM_TOKENS, b'{"room_name": "r"}', "text/plain", 400, None),
    (
        "POST",
        ROOM_TOKENS,
        JsonBody({"room_name": "r", "remove_after_seconds_elapsed": 200_001}),
        None,
        422,
        "remove_after_seconds_elapsed",
    ),
    ("GET", f"/api/video/conferences/{TOKEN_ID}/conference_tokens", None, None, 404, None),
    ("GET", f"/api/video/conference_tokens/{TOKEN_ID}", None, None, 404, None),
    ("POST", f"/api/video/conference_tokens/{TOKEN_ID}/reset", None, None, 404, None),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "status", "attribute"), REFUSALS)
async def test_what_the_spec_forbids_is_refused_with_a_documented_body(
    each_fake: FakeSignalWire,
    method: str,
    path: str,
    body: FormBody | JsonBody | bytes | None,
    content_type: str | None,
    status: int,
    attribute: str | None,
) -> None:
    response = await send_raw(each_fake, method, path, body, content_type=content_type)
    assert response.status == status
    assert attribute_of(response.json()) == attribute
    assert_response_matches_spec(each_fake.requests[-1], status, response.body)
    assert each_fake.api_tokens == {}
    assert each_fake.chat_tokens_minted == each_fake.room_tokens_minted == 0


async def test_an_update_is_checked_against_the_token_it_changes(each_fake: FakeSignalWire) -> None:
    async with each_fake.client() as client:
        token = await client.api_tokens.create("n", ["chat"])
    for body, attribute in [({"name": ""}, "name"), ({"permissions": "chat"}, "permissions")]:
        response = await send_raw(each_fake, "PATCH", f"{API_TOKENS}/{token.id}", JsonBody(body))
        assert (response.status, attribute_of(response.json())) == (422, attribute)
        assert_response_matches_spec(each_fake.requests[-1], 422, response.body)
    assert each_fake.api_tokens[token.id]["permissions"] == ["chat"]


@pytest.mark.parametrize("ttl", [60.0, 1e2])
async def test_an_integral_float_ttl_is_an_integer_as_in_json_schema(each_fake: FakeSignalWire, ttl: float) -> None:
    response = await send_raw(each_fake, "POST", CHAT_TOKENS, JsonBody({"ttl": ttl, "channels": {"c": READ}}))
    assert response.status == 200
    claims = each_fake.decode_chat_token(response.json()["token"])
    assert claims["exp"] - claims["iat"] == int(ttl) * 60
    assert_request_matches_spec(each_fake.requests[-1])  # the spec agrees


async def test_an_integral_float_room_removal_delay_is_an_integer_too(each_fake: FakeSignalWire) -> None:
    # Found by schemathesis: {"remove_after_seconds_elapsed": 266.0} is valid against the spec, and was refused.
    body = JsonBody({"room_name": "r", "remove_after_seconds_elapsed": 266.0})
    response = await send_raw(each_fake, "POST", ROOM_TOKENS, body)
    assert response.status == 200
    assert_request_matches_spec(each_fake.requests[-1])
    assert each_fake.room_tokens_minted == 1


async def test_a_fractional_ttl_is_refused_as_the_spec_refuses_it(each_fake: FakeSignalWire) -> None:
    response = await send_raw(each_fake, "POST", CHAT_TOKENS, JsonBody({"ttl": 60.5, "channels": {"c": READ}}))
    assert (response.status, attribute_of(response.json())) == (422, "ttl")
    assert SPEC.unmarshal_request(spec_request(each_fake.requests[-1])).errors


async def test_a_path_the_api_does_not_have_is_not_found_and_not_recorded(each_fake: FakeSignalWire) -> None:
    response = await send_raw(each_fake, "GET", CHAT_TOKENS)
    assert (response.status, response.json()) == (404, {"error": "Not Found"})
    assert each_fake.requests == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [({"errors": ["slow down"]}, "application/json"), ("<html>busy</html>", "application/octet-stream")],
)
async def test_a_fault_body_given_is_sent_as_it_is(
    each_fake: FakeSignalWire, body: dict[str, Any] | str, content_type: str
) -> None:
    each_fake.fail(503, body=body)
    response = await send_raw(each_fake, *VALID["chat_tokens.create"])
    assert response.headers["Content-Type"] == content_type
    assert response.body == (body.encode() if isinstance(body, str) else b'{"errors": ["slow down"]}')
