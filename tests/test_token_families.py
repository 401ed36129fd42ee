"""The platform API's project tokens and PubSub tokens: the same client, models and guarantees as their twins, every
request and answer held against SignalWire's OpenAPI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from signalwire_tokens import (
    ApiToken,
    ChatTokenRequest,
    InvalidRequestError,
    NotFoundError,
    PubSubToken,
    PubSubTokenRequest,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    UnexpectedResponseError,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import TOKEN_ID, assert_request_matches_spec, assert_response_matches_spec
from .support import Answers

READ = {"read": True}


async def test_project_tokens_create_update_delete_as_documented(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        token = await client.project_tokens.create(name="ci-bot", permissions=["chat"], subproject_id=TOKEN_ID)
        assert isinstance(token, ApiToken) and token.token.startswith("PT")
        renamed = await client.project_tokens.update(token.id, name="renamed")
        assert (renamed.id, renamed.name, renamed.permissions) == (token.id, "renamed", ("chat",))
        assert await client.project_tokens.delete(token.id) is None
        with pytest.raises(NotFoundError) as gone:
            await client.project_tokens.update(token.id, permissions=["video"])
    assert (gone.value.message, gone.value.status) == ("Not Found", 404)
    create = fake.requests[0]
    assert (create.path, create.content_type, create.json()) == (
        "/api/project/tokens",
        "application/json",
        {"name": "ci-bot", "permissions": ["chat"], "subproject_id": TOKEN_ID},
    )
    assert [r.operation for r in fake.requests] == [
        "project_tokens.create",
        "project_tokens.update",
        "project_tokens.delete",
        "project_tokens.update",
    ]
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_one_set_of_api_tokens_through_either_api(client: SignalWireClient, fake: FakeSignalWire) -> None:
    token = await client.api_tokens.create("made-here", ["fax"])
    await client.project_tokens.delete(token.id)
    assert fake.api_tokens == {}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"name": "", "permissions": ["chat"]}, "name"),
        ({"name": "n", "permissions": ["chat", "teleport"]}, "permissions"),
        ({"name": "n", "permissions": []}, "permissions"),
        ({"name": "n", "permissions": ["chat"], "subproject_id": "../etc"}, "subproject_id"),
    ],
)
async def test_project_tokens_check_what_api_tokens_check(
    client: SignalWireClient, fake: FakeSignalWire, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.project_tokens.create(**arguments)  # type: ignore[arg-type]
    assert info.value.field == field
    with pytest.raises(InvalidRequestError):
        await client.project_tokens.delete("not-a-uuid")
    assert fake.requests == []


async def test_platform_errors_decode_into_their_fields(fake: FakeSignalWire) -> None:
    entry = {"type": "validation_error", "code": "invalid", "message": "Bad name", "attribute": "name"}
    fake.fail(422, operation="project_tokens.create", body={"errors": [{**entry, "url": "https://example.com/e"}]})
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.project_tokens.create("n", ["chat"])
    assert (info.value.attribute, info.value.code, info.value.message) == ("name", "invalid", "Bad name")
    assert_response_matches_spec(fake.requests[-1], 422, answers.responses[-1].body)


async def test_a_project_token_create_is_not_repeated_when_the_api_may_have_acted(fake: FakeSignalWire) -> None:
    fake.fail(500, operation="project_tokens.create")
    async with fake.client() as client:
        with pytest.raises(ServerError) as info:
            await client.project_tokens.create("n", ["chat"])
    assert info.value.outcome_unknown and "the API token may have been created" in str(info.value)
    assert len(fake.requests) == 1


async def test_a_project_token_delete_whose_answer_was_lost_counts_as_done(fake: FakeSignalWire) -> None:
    async with fake.client() as client:
        token = await client.project_tokens.create("n", ["chat"])
        fake.reset(operation="project_tokens.delete", after_processing=True)
        await client.project_tokens.delete(token.id)
    assert fake.api_tokens == {}


async def test_pubsub_tokens_mint_like_chat_tokens_on_their_own_endpoint(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        before = datetime.now(timezone.utc)
        token = await client.pubsub_tokens.create(ttl=60, channels={"news": READ}, member_id="alice", state={"k": 1})
    assert isinstance(token, PubSubToken) and token.member_id == "alice"
    assert before + timedelta(minutes=60) <= token.expires_at
    claims = fake.decode_chat_token(token.token)
    assert (claims["ch"], claims["s"]) == ({"news": {"read": True, "write": False}}, {"k": 1})
    assert (fake.pubsub_tokens_minted, fake.chat_tokens_minted) == (1, 0)
    recorded = fake.requests[0]
    assert (recorded.path, recorded.operation) == ("/api/pubsub/tokens", "pubsub_tokens.create")
    assert_request_matches_spec(recorded)
    assert_response_matches_spec(recorded, answers.responses[0].status, answers.responses[0].body)
    assert "token='" in repr(token) and token.token not in repr(token)


async def test_pubsub_batches_take_requests_or_dicts_and_yield_pubsub_tokens(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    requests = [
        PubSubTokenRequest(ttl=5, channels={"c": READ}, member_id="a"),
        {"ttl": 5, "channels": {"c": READ}, "member_id": "b"},
        ChatTokenRequest(ttl=5, channels={"c": READ}, member_id="c"),  # the same schema: accepted as it is
        {"ttl": 0, "channels": {"c": READ}},
    ]
    items = [item async for item in client.pubsub_tokens.create_many(requests, ordered=True)]
    assert [item.ok for item in items] == [True, True, True, False]
    assert all(isinstance(item.token, PubSubToken) for item in items if item.ok)
    assert isinstance(items[1].request, PubSubTokenRequest)
    assert isinstance(items[3].error, InvalidRequestError) and items[3].error.field == "ttl"
    assert fake.pubsub_tokens_minted == 3


async def test_a_pubsub_fault_body_is_the_platform_apis(fake: FakeSignalWire) -> None:
    fake.fail(422, operation="pubsub_tokens.create")
    async with fake.client(retry=RetryPolicy.disabled()) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.pubsub_tokens.create(ttl=5, channels={"c": READ})
    assert info.value.errors and info.value.errors[0].type == "validation_error"


async def test_pubsub_tokens_have_the_same_cache(client: SignalWireClient, fake: FakeSignalWire) -> None:
    cache = client.pubsub_tokens.cache()
    first = await cache.get(ttl=60, channels={"news": READ}, member_id="alice")
    again = await cache.get(ttl=60, channels={"news": READ}, member_id="alice")
    assert isinstance(first, PubSubToken) and again is first
    assert (fake.pubsub_tokens_minted, fake.chat_tokens_minted) == (1, 0)


class _Answering:
    """A transport that answers every request 200 with one fixed body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, self.body, request, request.attempt)

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("family", ["chat_tokens", "pubsub_tokens"])
@pytest.mark.parametrize(
    "body",
    [b"<html>ok</html>", b"[]", b'"eyJ"', b"{}", b'{"token": 5}', b'{"token": null}', b"\xff"],
)
async def test_a_success_body_that_is_not_a_token_is_an_unexpected_response(family: str, body: bytes) -> None:
    async with SignalWireClient("example", TOKEN_ID, "PTsecret", transport=_Answering(body)) as client:
        with pytest.raises(UnexpectedResponseError) as info:
            await getattr(client, family).create(ttl=1, channels={"a": READ})
        with pytest.raises(UnexpectedResponseError):
            await getattr(client, family).mint(ChatTokenRequest(1, {"a": READ}))
    assert str(info.value).startswith(f"the API answered 200 to {family}.create with a body that is not")


async def test_extra_fields_beside_the_token_are_ignored() -> None:
    body = b'{"token": "eyJ.a.b", "expires_in": 3600}'
    async with SignalWireClient("example", TOKEN_ID, "PTsecret", transport=_Answering(body)) as client:
        assert (await client.chat_tokens.create(ttl=1, channels={"a": READ})).token == "eyJ.a.b"
