"""Request and result models: every documented limit is checked before anything is sent. No event loop."""

from __future__ import annotations

import ast
import json
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalwire_tokens import (
    ApiToken,
    BatchFailure,
    BatchItem,
    BatchSuccess,
    ChannelPermissions,
    ChatToken,
    ChatTokenRequest,
    InvalidRequestError,
    Permission,
    RoomToken,
    SignalWireClient,
    SubscriberToken,
)
from signalwire_tokens.resources._api_token_models import CreateApiTokenRequest, UpdateApiTokenRequest
from signalwire_tokens.resources._channel_models import state_size
from signalwire_tokens.resources._convert import converter, form_fields

from .conftest import API_TOKEN, PROJECT_ID, TOKEN_ID
from .support import RecordingTransport

ALL_PERMISSIONS = [
    "calling",
    "chat",
    "datasphere",
    "fax",
    "management",
    "messaging",
    "numbers",
    "pubsub",
    "storage",
    "tasking",
    "video",
]
READ = {"read": True}


def test_permission_members_are_the_eleven_documented_scopes() -> None:
    assert sorted(p.value for p in Permission) == ALL_PERMISSIONS
    assert str(Permission.FAX) == "fax"
    assert Permission.FAX == "fax"


def test_create_accepts_strings_and_members_in_order() -> None:
    request = CreateApiTokenRequest("ci-bot", ["messaging", Permission.CALLING])
    assert request.permissions == ("messaging", "calling")


@pytest.mark.parametrize("permissions", [["voice"], ["calling", "Calling"], [1], ["calling", None]])
def test_an_unknown_permission_names_the_valid_set(permissions: list[Any]) -> None:
    with pytest.raises(InvalidRequestError) as info:
        CreateApiTokenRequest("n", permissions)
    for name in ALL_PERMISSIONS:
        assert name in str(info.value)


@pytest.mark.parametrize("permissions", ["calling", b"calling", 5, None])
def test_permissions_must_be_a_collection_not_a_string(permissions: Any) -> None:
    with pytest.raises(InvalidRequestError, match="list of permission names"):
        CreateApiTokenRequest("n", permissions)


def test_create_needs_a_permission() -> None:
    with pytest.raises(InvalidRequestError, match="at least one"):
        CreateApiTokenRequest("n", [])


@pytest.mark.parametrize("name", ["", None, 5])
def test_name_is_at_least_one_character(name: Any) -> None:
    with pytest.raises(InvalidRequestError, match="name"):
        CreateApiTokenRequest(name, ["chat"])
    with pytest.raises(InvalidRequestError, match="name"):
        UpdateApiTokenRequest(name=name if name is not None else "")


@pytest.mark.parametrize("subproject_id", ["x", "../../etc", TOKEN_ID + "/", TOKEN_ID.replace("-", ""), 7])
def test_subproject_id_is_a_uuid(subproject_id: Any) -> None:
    with pytest.raises(InvalidRequestError, match="subproject_id"):
        CreateApiTokenRequest("n", ["chat"], subproject_id)


def test_update_needs_a_field() -> None:
    with pytest.raises(InvalidRequestError, match="at least one of name and permissions"):
        UpdateApiTokenRequest()


def test_update_may_clear_permissions() -> None:
    assert converter.unstructure(UpdateApiTokenRequest(permissions=[])) == {"permissions": []}


def test_create_form_repeats_the_permissions_key_and_omits_a_missing_subproject() -> None:
    request = CreateApiTokenRequest("John Doe's Token", ["calling", "fax", "messaging"])
    assert form_fields(request) == (
        ("name", "John Doe's Token"),
        ("permissions", "calling"),
        ("permissions", "fax"),
        ("permissions", "messaging"),
    )
    with_sub = CreateApiTokenRequest("n", ["chat"], TOKEN_ID)
    assert form_fields(with_sub)[-1] == ("subproject_id", TOKEN_ID)


def test_update_body_holds_only_the_fields_given() -> None:
    assert converter.unstructure(UpdateApiTokenRequest(name="renamed")) == {"name": "renamed"}
    both = UpdateApiTokenRequest(name="n", permissions=[Permission.VIDEO])
    assert converter.unstructure(both) == {"name": "n", "permissions": ["video"]}


def test_api_token_repr_masks_the_token() -> None:
    token = ApiToken(TOKEN_ID, "n", ("chat",), API_TOKEN)
    assert API_TOKEN not in repr(token)
    assert "PT03…7191" in repr(token)
    assert "***" in repr(ApiToken(TOKEN_ID, "n", ("chat",), "PTshort"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        token.name = "x"  # type: ignore[misc]


def test_chat_token_repr_masks_the_jwt() -> None:
    jwt = "eyJ0eXAiOiJWUlQiLCJhbGciOiJIUzUxMiJ9.eyJpYXQiOjE2MjIxMjAxMjN9.signature-part-here"
    token = ChatToken(jwt, "alice", datetime.now(timezone.utc))
    assert jwt not in repr(token)
    assert "signature" not in repr(token)


# -- chat token requests -----------------------------------------------------------------------------------------


def test_a_full_chat_request_encodes_as_the_documented_json() -> None:
    request = ChatTokenRequest(
        ttl=60,
        channels={"room-1": ChannelPermissions(read=True, write=True), "lobby": {"read": True}},
        member_id="alice",
        state={"display_name": "Alice"},
    )
    assert converter.unstructure(request) == {
        "ttl": 60,
        "channels": {"room-1": {"read": True, "write": True}, "lobby": {"read": True, "write": False}},
        "member_id": "alice",
        "state": {"display_name": "Alice"},
    }


def test_optional_chat_fields_are_left_out() -> None:
    assert converter.unstructure(ChatTokenRequest(1, {"c": READ})) == {
        "ttl": 1,
        "channels": {"c": {"read": True, "write": False}},
    }


@pytest.mark.parametrize("ttl", [0, -1, 43201, True, False, 1.0, "60", None])
def test_ttl_is_an_int_of_minutes_in_range(ttl: Any) -> None:
    with pytest.raises(InvalidRequestError, match="ttl"):
        ChatTokenRequest(ttl, {"c": READ})


@pytest.mark.parametrize("ttl", [1, 43200])
def test_ttl_bounds_are_inclusive(ttl: int) -> None:
    assert ChatTokenRequest(ttl, {"c": READ}).ttl == ttl


def test_channel_count_is_1_to_500() -> None:
    assert len(ChatTokenRequest(1, {f"c{i}": READ for i in range(500)}).channels) == 500
    with pytest.raises(InvalidRequestError, match=r"1\.\.500"):
        ChatTokenRequest(1, {f"c{i}": READ for i in range(501)})
    with pytest.raises(InvalidRequestError, match=r"1\.\.500"):
        ChatTokenRequest(1, {})


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({"": READ}, "1..250"),
        ({"x" * 251: READ}, "1..250"),
        ({"sw_system": READ}, "reserved"),
        ({5: READ}, "string"),
        ({"c": {}}, "read and/or write"),
        ({"c": {"read": False, "write": False}}, "read and/or write"),
        ({"c": {"read": 1}}, "True or False"),
        ({"c": {"read": []}}, "True or False"),
        ({"c": {"read": True, "admin": True}}, "unknown keys"),
        ({"c": True}, "ChannelPermissions or a dict"),
        ([("c", READ)], "dict of channel name"),
        ("lobby", "dict of channel name"),
    ],
)
def test_channel_entries_are_checked(channels: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        ChatTokenRequest(1, channels)


def test_channel_names_up_to_250_characters_and_sw_inside_are_fine() -> None:
    request = ChatTokenRequest(1, {"x" * 250: READ, "my_sw_channel": {"write": True}})
    assert request.channels["my_sw_channel"] == ChannelPermissions(write=True)


def test_channel_permissions_need_read_or_write() -> None:
    with pytest.raises(InvalidRequestError):
        ChannelPermissions()
    with pytest.raises(InvalidRequestError, match="True or False"):
        ChannelPermissions(read="yes")  # type: ignore[arg-type]


def test_member_id_is_at_most_250_characters() -> None:
    assert ChatTokenRequest(1, {"c": READ}, member_id="m" * 250).member_id == "m" * 250
    with pytest.raises(InvalidRequestError, match="member_id"):
        ChatTokenRequest(1, {"c": READ}, member_id="m" * 251)
    with pytest.raises(InvalidRequestError, match="member_id"):
        ChatTokenRequest(1, {"c": READ}, member_id=42)  # type: ignore[arg-type]


def compact(state: dict[str, Any]) -> str:
    """The JSON the API receives, as API.md defines the state limit on it."""
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("size", [1999, 2000, 2001])
@pytest.mark.parametrize("letter", ["x", "é", "文", "😀"])
def test_state_is_at_most_2000_characters_of_the_json_sent_non_ascii_counting_one(letter: str, size: int) -> None:
    state = {"k": letter * (size - len('{"k":""}'))}
    assert len(compact(state)) == size
    if size <= 2000:
        assert ChatTokenRequest(1, {"c": READ}, state=state).state == state
    else:
        with pytest.raises(InvalidRequestError, match="at most 2000 characters as JSON, got 2001") as info:
            ChatTokenRequest(1, {"c": READ}, state=state)
        assert info.value.field == "state"


def test_state_with_a_lone_surrogate_is_refused_before_sending() -> None:
    with pytest.raises(InvalidRequestError, match="lone surrogate") as info:
        ChatTokenRequest(1, {"c": READ}, state={"k": "\ud800"})
    assert info.value.field == "state"


async def test_the_state_sent_is_the_compact_json_the_limit_measured() -> None:
    transport = RecordingTransport()
    state = {"name": "Zoë 文 😀", "nested": {"list": [1, 2.5, None, True]}}
    async with SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=transport) as client:
        await client.chat_tokens.create(ttl=1, channels={"c": READ}, state=state)
    sent = transport.requests[0].body
    assert isinstance(sent, bytes) and ('"state":' + compact(state)).encode() in sent
    assert state_size(state) == len(compact(state)) == 54


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([1, 2], "JSON object"),
        ("{}", "JSON object"),
        ({"k": {1, 2}}, "valid JSON"),
        ({"k": float("nan")}, "valid JSON"),
        ({1: "v"}, "keys must be strings"),
    ],
)
def test_state_must_be_valid_json(state: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        ChatTokenRequest(1, {"c": READ}, state=state)


def test_requests_are_immutable_copies_of_their_input() -> None:
    channels = {"c": {"read": True}}
    state = {"nested": {"n": 1}}
    request = ChatTokenRequest(1, channels, state=state)
    channels["d"] = {"read": True}
    state["nested"]["n"] = 2
    assert list(request.channels) == ["c"]
    assert request.state == {"nested": {"n": 1}}
    with pytest.raises(TypeError):
        request.channels["x"] = ChannelPermissions(read=True)  # type: ignore[index]
    assert hash(request) == hash(ChatTokenRequest(1, {"c": READ}, state={"other": 1}))


def test_a_batch_item_is_a_success_with_its_token_or_a_failure_with_its_error() -> None:
    request = ChatTokenRequest(1, {"c": READ})
    token = ChatToken("eyJ0.e30.signature-part-here", None, datetime.now(timezone.utc))
    success = BatchSuccess(0, request, token)
    failure = BatchFailure(1, request, InvalidRequestError("bad"))
    assert (success.ok, success.token, success.error) == (True, token, None)
    assert (failure.ok, failure.token, failure.error) == (False, None, failure.error)
    assert isinstance(success, BatchItem)
    assert isinstance(failure, BatchItem)
    assert not isinstance(request, BatchItem)
    assert issubclass(BatchFailure, BatchItem) and not issubclass(ChatTokenRequest, BatchItem)
    assert "signature" not in repr(success), "the token stays masked"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        success.index = 5  # type: ignore[misc]


@pytest.mark.parametrize("token_type", [ChatToken, RoomToken, SubscriberToken])
def test_a_batch_item_is_generic_in_its_token_at_run_time(token_type: type) -> None:
    # As annotations name it (BatchItem[RoomToken]), evaluated: typing.get_type_hints, pydantic, a cast.
    specific = BatchItem[token_type]
    assert typing.get_args(specific) == (BatchSuccess[token_type], BatchFailure)

    def annotated(item: BatchItem[RoomToken], bare: BatchItem) -> BatchItem | None: ...

    hints = typing.get_type_hints(annotated)
    assert hints["item"] == BatchSuccess[RoomToken] | BatchFailure
    assert hints["bare"] is BatchItem and repr(BatchItem) == "BatchItem"
    assert hints["return"] == BatchSuccess | BatchFailure | None
    assert None | BatchItem == BatchSuccess | BatchFailure | None
    with pytest.raises(TypeError, match="BatchSuccess or a BatchFailure"):
        BatchItem()


def test_the_documented_batch_example_is_type_checked_as_written() -> None:
    """tests/typing/api_usage.py holds the batch example of docs/batches.md (the same code, as the formatter lays it
    out in a function), so mypy --strict checks what the page shows."""
    root = Path(__file__).parents[1]
    page = (root / "docs" / "batches.md").read_text()
    section = page[page.index("## Batches") :]
    example = section[section.index("```python\n") + len("```python\n") : section.index("```\n")]
    shown = compile(example, "docs/batches.md", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    usage = ast.parse((root / "tests" / "typing" / "api_usage.py").read_text())
    checked = next(n for n in usage.body if isinstance(n, ast.AsyncFunctionDef) and n.name == "readme_batch")
    assert [ast.dump(n) for n in checked.body[1:]] == [ast.dump(n) for n in shown.body]  # [1:]: the docstring


# -- the field each error names ----------------------------------------------------------------------------------

FIELD_CASES: list[tuple[str, Callable[[], object], str | None]] = [
    ("name missing", lambda: CreateApiTokenRequest("", ["chat"]), "name"),
    ("name not a string", lambda: CreateApiTokenRequest(5, ["chat"]), "name"),
    ("update name empty", lambda: UpdateApiTokenRequest(name=""), "name"),
    ("permissions a string", lambda: CreateApiTokenRequest("n", "chat"), "permissions"),
    ("permission unknown", lambda: CreateApiTokenRequest("n", ["voice"]), "permissions"),
    ("permissions empty", lambda: CreateApiTokenRequest("n", []), "permissions"),
    ("update permission unknown", lambda: UpdateApiTokenRequest(permissions=["voice"]), "permissions"),
    ("subproject_id not a UUID", lambda: CreateApiTokenRequest("n", ["chat"], "../x"), "subproject_id"),
    ("update with nothing to change", lambda: UpdateApiTokenRequest(), None),
    ("ttl zero", lambda: ChatTokenRequest(0, {"c": READ}), "ttl"),
    ("ttl a string", lambda: ChatTokenRequest("60", {"c": READ}), "ttl"),
    ("channels not a dict", lambda: ChatTokenRequest(1, "lobby"), "channels"),
    ("channels empty", lambda: ChatTokenRequest(1, {}), "channels"),
    ("channel name reserved", lambda: ChatTokenRequest(1, {"sw_ttl": READ}), "channels"),
    ("channel name too long", lambda: ChatTokenRequest(1, {"x" * 251: READ}), "channels"),
    ("channel name not a string", lambda: ChatTokenRequest(1, {5: READ}), "channels"),
    ("channel flag not a bool", lambda: ChatTokenRequest(1, {"c": {"read": 1}}), "channels"),
    ("channel with no flag set", lambda: ChatTokenRequest(1, {"c": {}}), "channels"),
    ("channel unknown key", lambda: ChatTokenRequest(1, {"c": {"admin": True}}), "channels"),
    ("channel entry not a dict", lambda: ChatTokenRequest(1, {"c": True}), "channels"),
    ("member_id too long", lambda: ChatTokenRequest(1, {"c": READ}, member_id="m" * 251), "member_id"),
    ("member_id not a string", lambda: ChatTokenRequest(1, {"c": READ}, member_id=42), "member_id"),
    ("state a list", lambda: ChatTokenRequest(1, {"c": READ}, state=[1]), "state"),
    ("state key not a string", lambda: ChatTokenRequest(1, {"c": READ}, state={1: "v"}), "state"),
    ("state not JSON", lambda: ChatTokenRequest(1, {"c": READ}, state={"k": {1}}), "state"),
    ("state too large", lambda: ChatTokenRequest(1, {"c": READ}, state={"k": "x" * 2000}), "state"),
    ("ChannelPermissions read not a bool", lambda: ChannelPermissions(read="yes"), "read"),
    ("ChannelPermissions write not a bool", lambda: ChannelPermissions(read=True, write=1), "write"),
    ("ChannelPermissions with no flag set", lambda: ChannelPermissions(), None),
]


@pytest.mark.parametrize(("make", "field"), [case[1:] for case in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_each_error_names_the_argument_to_fix(make: Callable[[], object], field: str | None) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make()
    assert info.value.field == field


# -- properties ---------------------------------------------------------------------------------------------------

channel_names = st.text(min_size=1, max_size=250).filter(lambda s: not s.startswith("sw_"))
permissions = st.sampled_from(
    [{"read": True}, {"write": True}, {"read": True, "write": True}, {"read": False, "write": True}]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
states = st.dictionaries(st.text(max_size=10), json_values, max_size=5).filter(lambda s: len(json.dumps(s)) <= 2000)
chat_requests = st.builds(
    ChatTokenRequest,
    ttl=st.integers(1, 43200),
    channels=st.dictionaries(channel_names, permissions, min_size=1, max_size=20),
    member_id=st.none() | st.text(max_size=250),
    state=st.none() | states,
)


@given(chat_requests)
def test_valid_chat_requests_encode_and_round_trip(request: ChatTokenRequest) -> None:
    wire = json.loads(json.dumps(converter.unstructure(request)))
    assert set(wire) <= {"ttl", "channels", "member_id", "state"}
    assert all(set(p) == {"read", "write"} and (p["read"] or p["write"]) for p in wire["channels"].values())
    assert converter.structure(wire, ChatTokenRequest) == request


any_states = st.dictionaries(st.text(max_size=10), json_values, max_size=5) | st.builds(
    lambda text, n: {"k": text * n}, st.text(min_size=1, max_size=3), st.integers(600, 1100)
)


@given(any_states)
def test_a_state_fits_exactly_when_its_compact_json_does(state: dict[str, Any]) -> None:
    try:
        text = compact(state)
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate: refused whatever the size (see above)
    fits = len(text) <= 2000
    assert state_size(state) == len(text)
    if fits:
        assert ChatTokenRequest(1, {"c": READ}, state=state).state == state
    else:
        with pytest.raises(InvalidRequestError):
            ChatTokenRequest(1, {"c": READ}, state=state)


@given(st.integers().filter(lambda n: not 1 <= n <= 43200) | st.floats() | st.text() | st.booleans())
def test_invalid_ttls_are_rejected(ttl: Any) -> None:
    with pytest.raises(InvalidRequestError):
        ChatTokenRequest(ttl, {"c": READ})


@given(st.text(max_size=300).filter(lambda s: not 1 <= len(s) <= 250 or s.startswith("sw_")) | st.just("sw_x"))
def test_invalid_channel_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        ChatTokenRequest(1, {name: READ})


@given(st.lists(st.sampled_from(ALL_PERMISSIONS), min_size=1), st.text(min_size=1))
def test_valid_create_requests_round_trip_through_the_form(perms: list[str], name: str) -> None:
    from urllib.parse import parse_qsl, urlencode

    fields = form_fields(CreateApiTokenRequest(name, perms))
    decoded = parse_qsl(urlencode(fields), keep_blank_values=True)
    assert decoded == [("name", name), *(("permissions", p) for p in perms)]


@given(st.lists(st.text(), min_size=1).filter(lambda ps: any(p not in ALL_PERMISSIONS for p in ps)))
def test_invalid_permissions_are_rejected(perms: list[str]) -> None:
    with pytest.raises(InvalidRequestError):
        CreateApiTokenRequest("n", perms)
