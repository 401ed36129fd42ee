"""A room token's times (``join_from``, ``join_until``, ``remove_at``): every form the spec documents is taken and
sent as RFC 3339 with an offset, and a token nobody could use (a window already closed, or closed before it opens)
is refused before anything is sent, naming the field."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from signalwire_tokens import BatchFailure, InvalidRequestError, JsonBody, RoomTokenRequest, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire

from .conftest import assert_request_matches_spec, assert_response_matches_spec
from .support import Answers

MOMENTS = ("join_from", "join_until", "remove_at")
IST = timezone(timedelta(hours=5, minutes=30))
# (given, sent): the spec's forms, "Expects RFC 3339 datetime: `2022-01-01T23:59:60Z`. Date only: `2022-01-01` will
# be converted to `2022-01-01T00:00:00Z`", in years to come (a join_until or remove_at already past is refused).
FORMS: list[tuple[Any, str]] = [
    (datetime(2099, 1, 1, 9, 30, tzinfo=IST), "2099-01-01T04:00:00+00:00"),
    ("2099-01-01T09:30:00+05:30", "2099-01-01T04:00:00+00:00"),
    ("2099-01-01t04:00:00z", "2099-01-01T04:00:00+00:00"),
    ("2099-01-01 04:00:00-00:00", "2099-01-01T04:00:00+00:00"),
    ("2099-01-01T04:00:00.25Z", "2099-01-01T04:00:00.250000+00:00"),
    ("2099-01-01T04:00:00.123456789Z", "2099-01-01T04:00:00.123456+00:00"),
    # A leap second is the second after 23:59:59, as POSIX time (which has none) and the API's parsers count it.
    ("2098-12-31T23:59:60Z", "2099-01-01T00:00:00+00:00"),
    ("2099-01-01T05:29:60+05:30", "2099-01-01T00:00:00+00:00"),
    ("2099-01-01", "2099-01-01T00:00:00+00:00"),
    (date(2099, 1, 1), "2099-01-01T00:00:00+00:00"),
]


@pytest.mark.parametrize("field", MOMENTS)
@pytest.mark.parametrize(("given", "sent"), FORMS)
def test_every_documented_form_is_taken_and_sent_as_rfc_3339_with_an_offset(field: str, given: Any, sent: str) -> None:
    request = RoomTokenRequest(room_name="r", **{field: given})
    assert request.to_json()[field] == sent
    assert getattr(request, field) == datetime.fromisoformat(sent)


async def test_the_spec_and_the_fake_take_what_is_sent(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        for given, sent in FORMS:
            room = await client.video.room_tokens.create("r", join_from=given, join_until=given, remove_at=given)
            claims = fake.decode_room_token(room.token)
            assert claims["jf"] == claims["ju"] == claims["rat"] == int(datetime.fromisoformat(sent).timestamp())
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_the_fake_reads_the_spec_s_own_examples_as_it_documents_them(fake: FakeSignalWire) -> None:
    async with fake.client() as client:
        url = client.url("/api/video/room_tokens")
        for given, moment in (("2098-12-31T23:59:60Z", "2099-01-01T00:00:00Z"), ("2099-01-01", "2099-01-01T00:00:00Z")):
            body = JsonBody({"room_name": "r", "join_until": given})
            response = await client.send("POST", url, "video.room_tokens.create", body=body)
            claims = fake.decode_room_token(response.json()["token"])
            assert claims["ju"] == int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


@pytest.mark.parametrize(
    "given",
    [
        "2099-01-01T09:00:00",  # no offset: which moment is meant is unknown
        "2099-01-01T09:00Z",
        "2099-02-30",
        "2099-01-01T24:00:00Z",
        "2099-01-01T09:00:61Z",
        "2099-01-01T09:00:00+24:00",
        "2099-01-01T09:00:00+05:75",
        "2099-01-01T09:00:00+0530",
        "٢٠٩٩-01-01",
        "9999-12-31T23:59:60Z",  # the second after it is not a datetime
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),  # nor is it in UTC
        datetime(2099, 1, 1, 9),
        "",
        1767225600,
    ],
)
@pytest.mark.parametrize("field", MOMENTS)
def test_what_is_no_documented_form_is_refused_naming_the_field(field: str, given: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        RoomTokenRequest(room_name="r", **{field: given})
    assert info.value.field == field
    assert "aware" in info.value.message or "UTC" in info.value.message


def unusable(now: datetime) -> list[tuple[dict[str, Any], str]]:
    """Tokens nobody can use, and the field each names: a window already closed, or closed before it opens."""
    past, soon, later = now - timedelta(minutes=1), now + timedelta(hours=1), now + timedelta(hours=2)
    return [
        ({"join_until": past}, "join_until"),
        ({"remove_at": past}, "remove_at"),
        ({"join_until": past.date()}, "join_until"),
        ({"join_from": later, "join_until": soon}, "join_from"),
        ({"join_from": later, "remove_at": soon}, "remove_at"),
    ]


async def test_a_token_nobody_can_use_is_refused_before_sending(client: SignalWireClient, fake: FakeSignalWire) -> None:
    for fields, field in unusable(datetime.now(timezone.utc)):
        with pytest.raises(InvalidRequestError) as info:
            await client.video.room_tokens.create("r", **fields)
        assert info.value.field == field
        (item,) = [item async for item in client.video.room_tokens.create_many([{"room_name": "r", **fields}])]
        assert isinstance(item, BatchFailure) and isinstance(item.error, InvalidRequestError)
        assert item.error.field == field
    assert fake.requests == []


def test_a_window_that_opened_in_the_past_and_is_still_open_is_fine() -> None:
    now = datetime.now(timezone.utc)
    request = RoomTokenRequest(
        room_name="r",
        join_from=now - timedelta(days=1),
        join_until=now + timedelta(hours=1),
        remove_at=now + timedelta(hours=1),
    )
    assert request.join_until == request.remove_at
    assert RoomTokenRequest(room_name="r", join_from="2000-01-01").join_from == datetime(
        2000, 1, 1, tzinfo=timezone.utc
    )
