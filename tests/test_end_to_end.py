"""The whole library against the fake space over loopback; requests and answers held against SignalWire's OpenAPI."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from signalwire_tokens import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ChannelPermissions,
    ConnectionLostError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    Request,
    RequestTimeoutError,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import (
    API_TOKEN,
    PROJECT_ID,
    TOKEN_ID,
    RecordingSleep,
    assert_request_matches_spec,
    assert_response_matches_spec,
)
from .support import Answers

READ = {"read": True}


async def test_the_api_md_walkthrough(client: SignalWireClient, fake: FakeSignalWire) -> None:
    token = await client.api_tokens.create(name="ci-bot", permissions=["messaging", "calling"], subproject_id=None)
    assert (token.name, token.permissions) == ("ci-bot", ("messaging", "calling"))
    assert token.token.startswith("PT")
    assert fake.api_tokens[token.id]["token"] == token.token

    renamed = await client.api_tokens.update(token.id, name="renamed")
    assert (renamed.id, renamed.name, renamed.permissions) == (token.id, "renamed", ("messaging", "calling"))
    regranted = await client.api_tokens.update(token.id, permissions=["chat"])
    assert regranted.permissions == ("chat",)

    assert await client.api_tokens.delete(token.id) is None
    assert token.id not in fake.api_tokens

    before = datetime.now(timezone.utc)
    chat = await client.chat_tokens.create(
        ttl=60,
        channels={"room-1": ChannelPermissions(read=True, write=True), "lobby": {"read": True}},
        member_id="alice",
        state={"display_name": "Alice"},
    )
    after = datetime.now(timezone.utc)
    assert chat.member_id == "alice"
    assert before + timedelta(minutes=60) <= chat.expires_at <= after + timedelta(minutes=60)
    assert chat.expires_at.tzinfo is not None
    assert chat.expires_at.utcoffset() == timedelta(0)
    claims = fake.decode_chat_token(chat.token)
    assert claims["ch"] == {"room-1": {"read": True, "write": True}, "lobby": {"read": True, "write": False}}
    assert claims["member_id"] == "alice"
    assert claims["s"] == {"display_name": "Alice"}
    assert claims["exp"] - claims["iat"] == 3600


async def test_every_request_and_answer_matches_the_openapi(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        token = await client.api_tokens.create("John Doe's Token", ["calling", "fax", "messaging"], TOKEN_ID)
        await client.api_tokens.update(token.id, name="renamed", permissions=["video"])
        await client.api_tokens.update(token.id, permissions=[])
        await client.chat_tokens.create(ttl=60, channels={"c1": {"read": True, "write": True}, "c2": {"write": True}})
        await client.chat_tokens.create(ttl=1, channels={"c": READ}, member_id="m", state={"k": [1, {"x": None}]})
        await client.api_tokens.delete(token.id)
        with pytest.raises(NotFoundError):
            await client.api_tokens.delete(token.id)
        with pytest.raises(NotFoundError):
            await client.api_tokens.update(token.id, name="gone")
    async with SignalWireClient(None, PROJECT_ID, "PTwrong", base_url=fake.url, attempt_middlewares=[answers]) as bad:
        with pytest.raises(AuthenticationError):
            await bad.chat_tokens.create(ttl=1, channels={"c": READ})
        with pytest.raises(AuthenticationError):
            await bad.api_tokens.create("n", ["chat"])
    assert len(fake.requests) == len(answers.responses) == 10
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_wire_details(client: SignalWireClient, fake: FakeSignalWire) -> None:
    await client.api_tokens.create("ci-bot", ["calling", "fax"])
    await client.chat_tokens.create(ttl=5, channels={"c": READ})
    create, chat = fake.requests
    assert create.form() == [("name", "ci-bot"), ("permissions", "calling"), ("permissions", "fax")]
    assert create.content_type == "application/x-www-form-urlencoded"
    assert create.path == f"/api/laml/2010-04-01/Accounts/{PROJECT_ID}/tokens"
    expected_auth = "Basic " + base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()
    assert create.headers["Authorization"] == expected_auth
    assert chat.json() == {"ttl": 5, "channels": {"c": {"read": True, "write": False}}}
    assert chat.content_type == "application/json"


async def test_wrong_credentials_give_each_api_its_documented_401(fake: FakeSignalWire) -> None:
    async with SignalWireClient(None, PROJECT_ID, "PTwrong", base_url=fake.url) as client:
        with pytest.raises(AuthenticationError) as chat:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
        with pytest.raises(AuthenticationError) as compat:
            await client.api_tokens.delete(TOKEN_ID)
    assert chat.value.message == "Unauthorized"
    assert compat.value.code == 20003
    assert compat.value.more_info is not None
    assert "PTwrong" not in str(chat.value) + str(compat.value)


async def test_another_project_is_refused(fake: FakeSignalWire) -> None:
    other = "00000000-0000-4000-8000-000000000000"
    async with SignalWireClient(None, other, API_TOKEN, base_url=fake.url) as client:
        with pytest.raises(AuthenticationError):
            await client.api_tokens.create("n", ["chat"])


async def test_bad_input_never_reaches_the_wire(client: SignalWireClient, fake: FakeSignalWire) -> None:
    attempts = [
        client.api_tokens.create("", ["chat"]),
        client.api_tokens.create("n", ["voice"]),
        client.api_tokens.create("n", ["chat"], subproject_id="../../x"),
        client.api_tokens.update("../../other", name="x"),
        client.api_tokens.update(TOKEN_ID),
        client.api_tokens.delete(f"{TOKEN_ID}?x=1"),
        client.chat_tokens.create(ttl=0, channels={"c": READ}),
        client.chat_tokens.create(ttl=1, channels={"sw_x": READ}),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidRequestError):
            await attempt
    assert fake.requests == []


async def test_the_fakes_own_validation_answers_with_documented_bodies(fake: FakeSignalWire) -> None:
    """Bypass the client's checks with raw bodies to see the fake's 400 and 422 answers."""
    from signalwire_tokens import JsonBody

    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        chat = client.url("/api/chat/tokens")
        cases: list[tuple[Any, type[ApiError], str | None]] = [
            (b"not json", BadRequestError, None),
            (JsonBody({"channels": {"c": READ}}), UnprocessableEntityError, "ttl"),
            (JsonBody({"ttl": 99999, "channels": {"c": READ}}), UnprocessableEntityError, "ttl"),
            (JsonBody({"ttl": 1}), UnprocessableEntityError, "channels"),
            (JsonBody({"ttl": 1, "channels": {"sw_c": READ}}), UnprocessableEntityError, "channels"),
            (JsonBody({"ttl": 1, "channels": {"c": {}}}), UnprocessableEntityError, "channels"),
            (
                JsonBody({"ttl": 1, "channels": {"c": READ}, "member_id": "m" * 251}),
                UnprocessableEntityError,
                "member_id",
            ),
            (JsonBody({"ttl": 1, "channels": {"c": READ}, "state": []}), UnprocessableEntityError, "state"),
            (
                JsonBody({"ttl": 1, "channels": {"c": READ}, "state": {"k": "v" * 2000}}),
                UnprocessableEntityError,
                "state",
            ),
            (JsonBody({"ttl": 1, "channels": {"c": READ}, "extra": 1}), UnprocessableEntityError, "extra"),
        ]
        for body, cls, attribute in cases:
            with pytest.raises(cls) as info:
                await client.send("POST", chat, "chat_tokens.create", body=body)
            assert info.value.attribute == attribute
        assert [r.status for r in answers.responses] == [400] + [422] * 9
        for recorded, response in zip(fake.requests[1:], answers.responses[1:], strict=True):
            assert_response_matches_spec(recorded, response.status, response.body)


async def test_update_of_a_missing_token_is_not_found(client: SignalWireClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.api_tokens.update(TOKEN_ID, name="x")
    assert info.value.code == 20404
    assert info.value.method == "PATCH"
    assert TOKEN_ID in (info.value.url or "")


# -- faults ------------------------------------------------------------------------------------------------------


async def test_5xx_burst_is_retried_with_backoff(fake: FakeSignalWire, sleep: RecordingSleep) -> None:
    fake.fail(500, times=1)
    fake.fail(502, times=1)
    fake.fail(504, body="<html>gateway timeout</html>", headers={"Content-Type": "text/html"}, times=1)
    async with fake.client(retry=RetryPolicy(sleep=sleep)) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert len(fake.requests) == 4
    assert len(sleep.waits) == 3
    assert fake.chat_tokens_minted == 1


async def test_429_with_retry_after_is_honoured(fake: FakeSignalWire, sleep: RecordingSleep) -> None:
    fake.fail(429, headers={"Retry-After": "3"}, times=2)
    async with fake.client(retry=RetryPolicy(sleep=sleep)) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert sleep.waits == [3.0, 3.0]


async def test_429_beyond_max_retry_after_raises_at_once(fake: FakeSignalWire, sleep: RecordingSleep) -> None:
    fake.fail(
        429,
        headers={"Retry-After": "3600"},
        body={"errors": [{"type": "rate_limit", "code": "too_many", "message": "Slow down", "url": "u"}]},
    )
    async with fake.client(retry=RetryPolicy(sleep=sleep)) as client:
        with pytest.raises(RateLimitError) as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert info.value.retry_after == 3600
    assert info.value.message == "Slow down"
    assert sleep.waits == []
    assert len(fake.requests) == 1


async def test_persistent_failure_surfaces_after_max_attempts(client: SignalWireClient, fake: FakeSignalWire) -> None:
    fake.fail(503, times=10)
    with pytest.raises(ServerError) as info:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert info.value.status == 503
    assert len(fake.requests) == 4


async def test_create_is_not_retried_after_a_500_and_says_the_token_may_exist(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    fake.fail(500, operation="api_tokens.create")
    with pytest.raises(ServerError) as info:
        await client.api_tokens.create("n", ["chat"])
    assert info.value.outcome_unknown
    assert "API token may have been created" in str(info.value)
    assert len(fake.requests) == 1


async def test_create_reset_after_processing_is_not_retried(client: SignalWireClient, fake: FakeSignalWire) -> None:
    fake.reset(operation="api_tokens.create", after_processing=True)
    with pytest.raises(ConnectionLostError) as info:
        await client.api_tokens.create("n", ["chat"])
    assert "API token may have been created" in str(info.value)
    assert len(fake.api_tokens) == 1, "the fake did create it: that is why create must not be repeated"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_create_is_retried_where_the_api_cannot_have_acted(
    client: SignalWireClient, fake: FakeSignalWire, status: int
) -> None:
    fake.fail(status, operation="api_tokens.create", times=2)
    token = await client.api_tokens.create("n", ["chat"])
    assert list(fake.api_tokens) == [token.id]
    assert len(fake.requests) == 3


async def test_create_is_retried_when_the_connection_was_never_opened(fake: FakeSignalWire) -> None:
    """A closed port refuses the connection: the request never left, so create may retry it."""
    await fake.close()
    async with SignalWireClient(
        None, PROJECT_ID, API_TOKEN, base_url=fake.url, retry=RetryPolicy(sleep=RecordingSleep())
    ) as client:
        from signalwire_tokens import ConnectError

        with pytest.raises(ConnectError) as info:
            await client.api_tokens.create("n", ["chat"])
    assert not info.value.outcome_unknown
    assert "may have been created" not in str(info.value)


async def test_delete_counts_a_404_after_an_unknown_outcome_as_deleted(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    token = await client.api_tokens.create("n", ["chat"])
    fake.reset(operation="api_tokens.delete", after_processing=True)
    assert await client.api_tokens.delete(token.id) is None
    assert [r.operation for r in fake.requests].count("api_tokens.delete") == 2
    assert fake.api_tokens == {}


async def test_delete_of_a_missing_token_still_raises(client: SignalWireClient) -> None:
    with pytest.raises(NotFoundError):
        await client.api_tokens.delete(TOKEN_ID)


async def test_connection_reset_is_retried_for_chat(client: SignalWireClient, fake: FakeSignalWire) -> None:
    fake.reset(times=2, operation="chat_tokens.create")
    await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert len(fake.requests) == 3


async def test_a_slow_answer_times_out_and_is_typed(fake: FakeSignalWire) -> None:
    fake.delay(1.0, times=1)
    async with fake.client(timeout=0.05, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(RequestTimeoutError, match=r"0\.05 s"):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})


async def test_a_slow_first_answer_is_retried(fake: FakeSignalWire) -> None:
    fake.delay(30.0, times=1)
    async with fake.client(timeout=0.3) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert fake.chat_tokens_minted == 1


async def test_middlewares_see_calls_and_attempt_middlewares_see_attempts(fake: FakeSignalWire) -> None:
    calls: list[str] = []
    attempts: list[tuple[int, int]] = []

    async def per_call(request: Request, call_next: Any) -> Response:
        calls.append(request.operation)
        assert request.body is not None and not isinstance(request.body, bytes), "above encoding: a model body"
        response: Response = await call_next(request)
        return response

    async def per_attempt(request: Request, call_next: Any) -> Response:
        assert "Authorization" not in request.headers, "credentials are added below every middleware"
        assert isinstance(request.body, bytes), "below encoding: the bytes that are sent"
        response: Response = await call_next(request)
        attempts.append((response.attempt, response.status))
        return response

    fake.fail(503, times=2)
    async with fake.client(middlewares=[per_call], attempt_middlewares=[per_attempt]) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert calls == ["chat_tokens.create"]
    assert attempts == [(1, 503), (2, 503), (3, 200)]


async def test_many_concurrent_tasks_share_the_client(client: SignalWireClient, fake: FakeSignalWire) -> None:
    tokens = await asyncio.gather(
        *(client.chat_tokens.create(ttl=1, channels={"c": READ}, member_id=f"m{i}") for i in range(200))
    )
    assert sorted(t.member_id or "" for t in tokens) == sorted(f"m{i}" for i in range(200))
    assert fake.chat_tokens_minted == 200


async def test_cancelling_a_call_leaves_the_client_usable(client: SignalWireClient, fake: FakeSignalWire) -> None:
    fake.delay(5.0, times=1)
    task = asyncio.ensure_future(client.chat_tokens.create(ttl=1, channels={"c": READ}))
    await fake.wait_for_requests(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.chat_tokens.create(ttl=1, channels={"c": READ})


async def test_fake_client_needs_a_started_fake() -> None:
    with pytest.raises(RuntimeError, match="start"):
        FakeSignalWire().client()


async def test_fake_repr_masks_its_token(fake: FakeSignalWire) -> None:
    assert API_TOKEN not in repr(fake)
    assert fake.url in repr(fake)


async def test_fake_rejects_foreign_chat_tokens(fake: FakeSignalWire) -> None:
    for token in ("a.b.c", "garbage", "eyJ.eyJ"):
        with pytest.raises(ValueError, match="not a chat token"):
            fake.decode_chat_token(token)
    fake.clear_faults()


async def test_a_long_running_fake_keeps_only_the_latest_requests() -> None:
    async with FakeSignalWire(keep_requests=5) as fake, fake.client() as client:
        for n in range(23):
            await client.chat_tokens.create(ttl=1, channels={"c": READ}, member_id=f"m{n}")
    assert 5 <= len(fake.requests) <= 10
    assert fake.requests[-1].json()["member_id"] == "m22"
    assert len(fake.arrivals) == len(fake.requests)
