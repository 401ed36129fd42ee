"""Call Fabric subscriber tokens: ``client.fabric.subscriber_tokens.create``, ``refresh`` and ``create_many``, every
field of ``SubscriberTokenRequest``, every documented limit checked before sending, every request and answer held
against SignalWire's OpenAPI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from signalwire_tokens import (
    ConnectionLostError,
    InvalidRequestError,
    SignalWireClient,
    SubscriberToken,
    SubscriberTokenRequest,
    UnprocessableEntityError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import assert_request_matches_spec, assert_response_matches_spec
from .support import Answers

APPLICATION = "123e4567-e89b-12d3-a456-426614174000"
FINGERPRINT = "Vg1h7IDV3AR6kTpCkZPHOVs32B81DX1naHiHbYoKXgY"
EXPIRE_AT = datetime(2031, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
EVERY_FIELD: dict[str, Any] = {
    "reference": "john.doe@example.com",
    "expire_at": EXPIRE_AT,
    "application_id": APPLICATION,
    "password": "password123",
    "fingerprint": FINGERPRINT,
    "scope": "sat:refresh",
    "first_name": "John",
    "last_name": "Doe",
    "display_name": "John Doe",
    "job_title": "Software Engineer",
    "time_zone": "America/New_York",
    "country": "US",
    "region": "us-central",
    "company_name": "SignalWire",
}


def in_two_hours(before: datetime, token: SubscriberToken) -> bool:
    return before + timedelta(hours=2) <= token.expires_at <= datetime.now(timezone.utc) + timedelta(hours=2)


async def test_a_subscriber_token_with_every_field_is_sent_as_documented(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        sat = await client.fabric.subscriber_tokens.create(**EVERY_FIELD)
    (sent,) = fake.requests
    assert (sent.method, sent.path, sent.content_type) == ("POST", "/api/fabric/subscribers/tokens", "application/json")
    assert sent.json() == {**EVERY_FIELD, "expire_at": int(EXPIRE_AT.timestamp())}, "expire_at as an integer unixtime"
    assert sent.headers["Authorization"].startswith("Basic "), "the project's credentials"
    subscriber = fake.fabric.subscribers["john.doe@example.com"]
    assert (subscriber["id"], subscriber["first_name"], subscriber["password"]) == (
        sat.subscriber_id,
        "John",
        "password123",
    )
    assert sat.expires_at == EXPIRE_AT, "the expire_at asked"
    assert fake.fabric.token(sat.token)["expires"] == EXPIRE_AT.timestamp()
    assert_request_matches_spec(sent)
    assert_response_matches_spec(sent, answers.responses[0].status, answers.responses[0].body)


async def test_only_the_fields_given_are_sent_and_the_token_lives_two_hours(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    before = datetime.now(timezone.utc)
    sat = await client.fabric.subscriber_tokens.create("alice@example.com")
    assert fake.requests[0].json() == {"reference": "alice@example.com"}
    assert in_two_hours(before, sat), "the documented default: two hours from now"
    header, encrypted_key, iv, ciphertext, tag = sat.token.split(".")
    assert header.startswith("eyJ") and encrypted_key == "" and iv and ciphertext and tag, (
        "a compact JWE, as documented"
    )
    assert_request_matches_spec(fake.requests[0])


@pytest.mark.parametrize(
    ("expire_at", "sent"),
    [(1924999200, 1924999200), (1924999200.9, 1924999200), (datetime(2031, 1, 1, tzinfo=timezone.utc), 1924992000)],
)
async def test_expire_at_is_an_aware_datetime_or_posix_seconds_sent_as_an_integer(
    client: SignalWireClient, fake: FakeSignalWire, expire_at: Any, sent: int
) -> None:
    sat = await client.fabric.subscriber_tokens.create("bob", expire_at=expire_at)
    assert fake.requests[0].json()["expire_at"] == sent
    assert sat.expires_at == datetime.fromtimestamp(sent, timezone.utc)


async def test_a_refresh_scope_without_fingerprint_lives_sixty_seconds_as_documented(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    before = datetime.now(timezone.utc)
    sat = await client.fabric.subscriber_tokens.create("carol", scope="sat:refresh")
    assert before + timedelta(seconds=60) <= sat.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=60)
    assert fake.fabric.token(sat.token)["expires"] <= sat.expires_at.timestamp() + 1


async def test_create_makes_a_subscriber_once_and_updates_it_after(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    first = await client.fabric.subscriber_tokens.create("dave", first_name="Dave", password="s3cret")
    second = await client.fabric.subscriber_tokens.create("dave", last_name="Smith", password="")
    assert first.subscriber_id == second.subscriber_id and first.token != second.token
    assert fake.fabric.subscribers["dave"] | {"id": "-"} == {
        "id": "-",
        "reference": "dave",
        "first_name": "Dave",
        "last_name": "Smith",
        "password": "s3cret",
    }, "an empty password keeps the old one"


async def test_create_is_retried_after_an_unknown_outcome_and_makes_one_subscriber(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    fake.reset(operation="fabric.subscriber_tokens.create", after_processing=True)
    sat = await client.fabric.subscriber_tokens.create("erin", display_name="Erin")
    assert len(fake.requests) == 2, "retried: setting the same fields twice leaves the subscriber as once"
    assert list(fake.fabric.subscribers) == ["erin"]
    assert fake.fabric.subscribers["erin"]["id"] == sat.subscriber_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"reference": "   "}, "reference"),
        ({"reference": "\t\n\u3000"}, "reference"),
        ({"reference": 7}, "reference"),
        ({"expire_at": datetime(2031, 1, 1)}, "expire_at"),
        ({"expire_at": "2031-01-01T00:00:00Z"}, "expire_at"),
        ({"expire_at": True}, "expire_at"),
        ({"expire_at": -5}, "expire_at"),
        ({"expire_at": float("nan")}, "expire_at"),
        ({"application_id": "not-a-uuid"}, "application_id"),
        ({"password": 123}, "password"),
        ({"fingerprint": FINGERPRINT[:-1]}, "fingerprint"),
        ({"fingerprint": FINGERPRINT[:-1] + "="}, "fingerprint"),
        ({"scope": "sat:admin"}, "scope"),
        ({"region": "eu-west"}, "region"),
        ({"first_name": 1}, "first_name"),
        ({"company_name": "\ud800"}, "company_name"),
    ],
)
async def test_every_documented_limit_is_checked_before_sending(
    client: SignalWireClient, fake: FakeSignalWire, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.fabric.subscriber_tokens.create(**{**EVERY_FIELD, **changes})
    assert info.value.field == field
    assert fake.requests == []


async def test_the_password_and_the_tokens_are_secrets_no_repr_or_error_shows(client: SignalWireClient) -> None:
    request = SubscriberTokenRequest("frank", password="hunter2-very-long-password")
    assert "hunter2-very-long-password" not in repr(request)
    sat = await client.fabric.subscriber_tokens.create("frank", password="hunter2-very-long-password")
    assert sat.token not in repr(sat) and sat.refresh_token not in repr(sat)
    with pytest.raises(InvalidRequestError) as info:
        SubscriberTokenRequest("frank", password=b"hunter2")
    assert "hunter2" not in str(info.value)


async def test_refresh_exchanges_a_refresh_token_once_for_a_new_pair(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    answers = Answers()
    sat = await client.fabric.subscriber_tokens.create("gina")
    before = datetime.now(timezone.utc)
    async with fake.client(attempt_middlewares=[answers]) as watched:
        renewed = await watched.fabric.subscriber_tokens.refresh(sat.refresh_token)
    sent = fake.requests[-1]
    assert (sent.path, sent.json()) == ("/api/fabric/subscribers/tokens/refresh", {"refresh_token": sat.refresh_token})
    assert renewed.token != sat.token and renewed.refresh_token != sat.refresh_token
    assert renewed.subscriber_id is None, "the refresh answer does not say whose token it is"
    assert in_two_hours(before, renewed)
    assert fake.fabric.minted == {"subscriber": 1, "refresh": 1, "guest": 0, "embed": 0, "invite": 0}
    assert_request_matches_spec(sent)
    assert_response_matches_spec(sent, answers.responses[0].status, answers.responses[0].body)
    with pytest.raises(UnprocessableEntityError) as used:
        await client.fabric.subscriber_tokens.refresh(sat.refresh_token)
    assert used.value.attribute == "refresh_token", "a refresh token works once"
    again = await client.fabric.subscriber_tokens.refresh(renewed)
    assert again.subscriber_id is None and fake.fabric.token(again.token)["kind"] == "subscriber"
    assert (
        await client.fabric.subscriber_tokens.refresh(await client.fabric.subscriber_tokens.create("gina"))
    ).subscriber_id


async def test_a_refresh_token_expires_two_hours_and_five_minutes_after_it_was_issued(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        sat = await client.fabric.subscriber_tokens.create("hank")
        now = fake.fabric.clock()
        fake.fabric.clock = lambda: now + 2 * 3600 + 5 * 60 + 1
        with pytest.raises(UnprocessableEntityError) as info:
            await client.fabric.subscriber_tokens.refresh(sat)
    assert (info.value.code, info.value.attribute) == ("token_expired", "refresh_token")
    assert_response_matches_spec(fake.requests[-1], 422, answers.responses[-1].body)


async def test_a_refresh_is_not_retried_after_an_unknown_outcome_and_says_why(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    sat = await client.fabric.subscriber_tokens.create("ivy")
    fake.reset(operation="fabric.subscriber_tokens.refresh", after_processing=True)
    with pytest.raises(ConnectionLostError) as info:
        await client.fabric.subscriber_tokens.refresh(sat)
    assert len(fake.requests) == 2, "one attempt: a second would present a used refresh token"
    assert info.value.outcome_unknown
    assert any("refresh token may have been used" in note for note in info.value.notes)
    assert sat.refresh_token not in str(info.value)
    fake.fail(503, operation="fabric.subscriber_tokens.refresh")
    fresh = await client.fabric.subscriber_tokens.create("ivy")
    assert (await client.fabric.subscriber_tokens.refresh(fresh)).token, "a 503 is retried: the API did not act"


async def test_a_refresh_token_is_checked_before_sending(client: SignalWireClient, fake: FakeSignalWire) -> None:
    for bad in ("", None, 5):
        with pytest.raises(InvalidRequestError) as info:
            await client.fabric.subscriber_tokens.refresh(bad)  # type: ignore[arg-type]
        assert info.value.field == "refresh_token"
    assert fake.requests == []


async def test_create_many_mints_a_token_per_subscriber_on_the_batch_engine(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    rows: list[Any] = [{"reference": f"user{i}@example.com", "first_name": f"U{i}"} for i in range(40)]
    rows.append(SubscriberTokenRequest("last@example.com"))
    rows.append({"reference": "bad", "fingerprint": "short"})
    items = [item async for item in client.fabric.subscriber_tokens.create_many(rows, concurrency=8, ordered=True)]
    assert [item.index for item in items] == list(range(42))
    assert all(item.ok and isinstance(item.token, SubscriberToken) for item in items[:41])
    failed = items[41]
    assert not failed.ok and isinstance(failed.error, InvalidRequestError) and failed.error.field == "fingerprint"
    assert len(fake.fabric.subscribers) == 41 and fake.fabric.minted["subscriber"] == 41
    for bad, field in (({"first_name": "x"}, "reference"), ({"reference": "r", "color": "red"}, "color")):
        (item,) = [item async for item in client.fabric.subscriber_tokens.create_many([bad])]
        assert isinstance(item.error, InvalidRequestError) and item.error.field == field
    (item,) = [item async for item in client.fabric.subscriber_tokens.create_many(["alice"])]
    assert isinstance(item.error, InvalidRequestError)


async def test_a_malformed_answer_is_an_unexpected_response_that_shows_no_value(
    client: SignalWireClient, fake: FakeSignalWire
) -> None:
    from signalwire_tokens import UnexpectedResponseError

    fake.fail(200, body={"subscriber_id": "x", "token": "leaked-token-value", "refresh_token": 7})
    with pytest.raises(UnexpectedResponseError) as info:
        await client.fabric.subscriber_tokens.create("jack")
    assert "leaked-token-value" not in str(info.value) and '"refresh_token": "<a string>"' in str(info.value)


MILLISECONDS = 1767225600000  # JavaScript's Date.now() for 2026-01-01T00:00:00Z
EXPIRIES: list[tuple[str, str]] = [
    ("subscriber_tokens.create", "expire_at"),
    ("subscriber_tokens.cache", "expire_at"),
    ("guest_tokens.create", "expire_at"),
    ("invite_tokens.create", "expires_at"),
]


async def call_with_expiry(client: SignalWireClient, fake: FakeSignalWire, operation: str, expiry: Any) -> Any:
    fabric = client.fabric
    address = fake.fabric.add_address()
    if operation == "subscriber_tokens.create":
        return await fabric.subscriber_tokens.create("kim", expire_at=expiry)
    if operation == "subscriber_tokens.cache":
        return await fabric.subscriber_tokens.cache().get("kim", expire_at=expiry)
    if operation == "guest_tokens.create":
        return await fabric.guest_tokens.create([address], expire_at=expiry)
    sat = await fabric.subscriber_tokens.create("inviter")
    return await fabric.invite_tokens.create(address_id=address, subscriber_token=sat.token, expires_at=expiry)


@pytest.mark.parametrize(("operation", "field"), EXPIRIES)
async def test_an_expiry_in_milliseconds_is_refused_before_anything_is_sent(
    client: SignalWireClient, fake: FakeSignalWire, operation: str, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await call_with_expiry(client, fake, operation, MILLISECONDS)
    assert info.value.field == field and "milliseconds" in str(info.value)
    assert [r.operation for r in fake.requests] in ([], ["fabric.subscriber_tokens.create"]), "only the inviter's"


@pytest.mark.parametrize(("operation", "field"), EXPIRIES)
async def test_the_last_second_of_the_year_9999_is_an_expiry_whose_token_is_kept(
    client: SignalWireClient, fake: FakeSignalWire, operation: str, field: str
) -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    for expiry in (last, last.timestamp()):
        token = await call_with_expiry(client, fake, operation, expiry)
        assert token.token and token.expires_at == last
        assert fake.requests[-1].json()[field] == 253_402_300_799
