"""One rule for every secret field of every family's requests and results: a password shows nothing ('***'), a token
at most a few characters at each end and never the whole value; and a batch row refused before sending (a dict of
a request's fields) is shown with the same masks, by the async and the sync client alike."""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest

import signalwire_tokens
from signalwire_tokens import (
    ApiToken,
    BatchFailure,
    ChatToken,
    ChatTokenRequest,
    ConferenceToken,
    EmbedToken,
    GuestToken,
    InvalidRequestError,
    InviteToken,
    PubSubToken,
    PubSubTokenRequest,
    RoomToken,
    RoomTokenRequest,
    SignalWireClient,
    SubscriberToken,
    SubscriberTokenRequest,
    SyncSignalWireClient,
)
from signalwire_tokens.resources._api_token_models import CreateApiTokenRequest, UpdateApiTokenRequest

from .conftest import TOKEN_ID
from .support import ThreadedFake, sync_client

NOW = datetime.now(timezone.utc)
LONG = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..tag-and-ciphertext-of-a-long-token-QUJDREVGR0g"
SHORT = "tok-1234"
PASSWORD = "correct-horse-battery-staple"

# Every request and result class of every family: how to make one with its secrets set, and each secret field's
# kind. A class with no secret field is here too, so that a field added later is a decision, not an oversight.
SECRETS: list[tuple[type[Any], dict[str, Any], dict[str, str]]] = [
    (CreateApiTokenRequest, {"name": "n", "permissions": ["chat"]}, {}),
    (UpdateApiTokenRequest, {"name": "n"}, {}),
    (ApiToken, {"id": TOKEN_ID, "name": "n", "permissions": ("chat",)}, {"token": "token"}),
    (ChatTokenRequest, {"ttl": 1, "channels": {"c": {"read": True}}}, {}),
    (PubSubTokenRequest, {"ttl": 1, "channels": {"c": {"read": True}}}, {}),
    (ChatToken, {"member_id": "m", "expires_at": NOW}, {"token": "token"}),
    (PubSubToken, {"member_id": "m", "expires_at": NOW}, {"token": "token"}),
    (RoomTokenRequest, {"room_name": "r"}, {}),
    (RoomToken, {"room_name": "r", "user_name": "u"}, {"token": "token"}),
    (ConferenceToken, {"id": TOKEN_ID, "name": "n"}, {"token": "token"}),
    (SubscriberTokenRequest, {"reference": "alice"}, {"password": "password"}),
    (SubscriberToken, {"subscriber_id": TOKEN_ID, "expires_at": NOW}, {"token": "token", "refresh_token": "token"}),
    (GuestToken, {"expires_at": NOW}, {"token": "token", "refresh_token": "token"}),
    (EmbedToken, {}, {"token": "token"}),
    (InviteToken, {"expires_at": NOW}, {"token": "token"}),
]


def made(cls: type[Any], fields: dict[str, Any], secrets: dict[str, str], value: str) -> Any:
    return cls(**fields, **dict.fromkeys(secrets, value))


def shown(text: str, field: str) -> str:
    """What a repr shows of one field: ``token='eyJh…R0g'`` gives ``eyJh…R0g``."""
    found = re.search(rf"\b{field}='([^']*)'", text)
    assert found is not None, f"{field} is not in {text}"
    return found.group(1)


def test_the_table_holds_every_public_request_and_result_class() -> None:
    public = {
        obj
        for name in signalwire_tokens.__all__
        if attrs.has(obj := getattr(signalwire_tokens, name)) and re.search(r"Token(Request)?$", name)
    }
    assert public - {cls for cls, _, _ in SECRETS} <= {
        signalwire_tokens.ChannelToken,
        signalwire_tokens.ChannelTokenRequest,
    }


@pytest.mark.parametrize(("cls", "fields", "secrets"), SECRETS, ids=[cls.__name__ for cls, _, _ in SECRETS])
@pytest.mark.parametrize("value", [LONG, SHORT, PASSWORD])
def test_a_password_shows_nothing_and_a_token_only_a_few_characters_at_its_ends(
    cls: type[Any], fields: dict[str, Any], secrets: dict[str, str], value: str
) -> None:
    text = repr(made(cls, fields, secrets, value))
    assert str(made(cls, fields, secrets, value)) == text
    for field, kind in secrets.items():
        part = shown(text, field)
        assert value not in text
        if kind == "password":
            assert part == "***"
        else:
            assert part == "***" or re.fullmatch(r"(.{1,4})…(.{1,4})", part), part
            assert part == "***" or (value.startswith(part[:4]) and value.endswith(part[-4:]))


def test_an_unset_password_says_so() -> None:
    assert "password=None" in repr(SubscriberTokenRequest("alice"))
    assert "password='***'" in repr(SubscriberTokenRequest("alice", password=""))


ROWS: list[dict[str, Any]] = [
    {"reference": "alice", "password": PASSWORD, "fingerprint": "short"},
    {"reference": "bob", "password": PASSWORD, "colour": "red"},
    {"password": PASSWORD},
    {"reference": "carol", "password": 1234567890123},
    {"reference": "dave", "password": PASSWORD, "expire_at": 1767225600000},
]


def every_view(failure: BatchFailure) -> Iterator[str]:
    yield from (repr(failure), str(failure), repr(failure.request), str(failure.request), repr(failure.error))
    yield from (str(failure.error), repr(vars(failure.error)), "".join(traceback.format_exception(failure.error)))


def assert_refused_rows_show_no_password(items: list[Any]) -> None:
    assert [item.ok for item in items] == [False] * len(ROWS)
    for item, row in zip(items, ROWS, strict=True):
        assert isinstance(item, BatchFailure) and isinstance(item.error, InvalidRequestError)
        for text in every_view(item):
            assert PASSWORD not in text and "1234567890123" not in text
        assert "password" in repr(item.request) and "'***'" in repr(item.request)
        assert dict(item.request) == row and len(item.request) == len(row), "the row as given, to fix and send again"
        with pytest.raises(TypeError):
            item.request["password"] = "x"


async def test_a_dict_row_refused_before_sending_shows_no_password(client: SignalWireClient) -> None:
    items = [item async for item in client.fabric.subscriber_tokens.create_many(ROWS, ordered=True)]
    assert_refused_rows_show_no_password(items)


def test_a_dict_row_refused_by_the_sync_client_shows_no_password(space: ThreadedFake) -> None:
    sync: SyncSignalWireClient
    with sync_client(space) as sync:
        items = list(sync.fabric.subscriber_tokens.create_many(ROWS, ordered=True))
    assert_refused_rows_show_no_password(items)
    assert space.fake.requests == []


async def test_a_refused_row_of_a_family_without_secrets_is_the_row_as_given(client: SignalWireClient) -> None:
    row = {"room_name": "has space", "user_name": "Alice"}
    (item,) = [item async for item in client.video.room_tokens.create_many([row])]
    assert isinstance(item, BatchFailure) and item.request == row
    assert repr(item.request) == repr(row)


def test_no_refusal_of_a_password_echoes_it() -> None:
    for bad in (PASSWORD.encode(), ["x" + PASSWORD], "\ud800" + PASSWORD):
        with pytest.raises(InvalidRequestError) as info:
            SubscriberTokenRequest("frank", password=bad)
        assert info.value.field == "password" and PASSWORD not in str(info.value) + repr(info.value)
