"""The client's configuration: space forms, base_url, credentials, from_env, repr. No event loop needed."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest

from signalwire_tokens import InvalidRequestError, RetryBudget, RetryPolicy, SignalWireClient
from signalwire_tokens.testing import fast_retries

from .conftest import API_TOKEN, PROJECT_ID


def make(space: object = "example", **kwargs: object) -> SignalWireClient:
    return SignalWireClient(space, PROJECT_ID, API_TOKEN, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "space",
    [
        "example",
        "example.signalwire.com",
        "https://example.signalwire.com",
        "https://example.signalwire.com/",
        "EXAMPLE.SignalWire.com",
        " example ",
    ],
)
def test_every_space_form_means_the_https_space_url(space: str) -> None:
    assert str(make(space).base_url) == "https://example.signalwire.com"


def test_space_names_keep_hyphens_and_digits() -> None:
    assert str(make("my-space-2").base_url) == "https://my-space-2.signalwire.com"


@pytest.mark.parametrize(
    "space",
    [
        "",
        "exa mple",
        "example/path",
        "example.signalwire.com/api",
        "https://example.signalwire.com/api",
        "example.signalwire.com:8443",
        "https://example.signalwire.com:443",
        "user@example.signalwire.com",
        "https://user:pw@example.signalwire.com",
        "http://example.signalwire.com",
        "example.evil.com",
        "example.signalwire.com.evil.com",
        "evil.com/.signalwire.com",
        "example.signalwire.com?x=1",
        "-example",
        "example_space",
        "a" * 64,
        "ftp://example.signalwire.com",
        42,
    ],
)
def test_anything_but_a_space_name_is_refused(space: object) -> None:
    with pytest.raises(InvalidRequestError, match="space"):
        make(space)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:9000",
        "http://[::1]:8080",
        "https://proxy.example.com",
        "https://proxy.example.com/signalwire/",
    ],
)
def test_base_url_overrides_the_space(base_url: str) -> None:
    client = make(None, base_url=base_url)
    assert str(client.base_url) == base_url.rstrip("/")
    assert str(client.url("/api/chat/tokens")) == base_url.rstrip("/") + "/api/chat/tokens"


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://example.signalwire.com", "loopback"),
        ("http://10.0.0.1:8080", "loopback"),
        ("http://192.168.1.1", "loopback"),
        ("http://localhost.evil.com", "loopback"),
        ("https://user:pw@example.com", "user info"),
        ("https://example.com?debug=1", "query"),
        ("ftp://example.com", "http"),
        ("/relative/path", "http"),
        ("http://[zz", "valid URL"),
        (123, "string"),
    ],
)
def test_unsafe_base_urls_are_refused(base_url: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        make(None, base_url=base_url)


def test_space_or_base_url_is_required() -> None:
    with pytest.raises(InvalidRequestError, match="space is required"):
        make(None)


def test_a_bad_space_is_refused_even_with_base_url() -> None:
    with pytest.raises(InvalidRequestError, match="space"):
        make("not a space", base_url="http://127.0.0.1:1")


@pytest.mark.parametrize("project_id", ["", "not-a-uuid", f"{PROJECT_ID}/../x", PROJECT_ID + "0", None])
def test_project_id_must_be_a_uuid(project_id: object) -> None:
    with pytest.raises(InvalidRequestError, match="project_id"):
        SignalWireClient("example", project_id, API_TOKEN)  # type: ignore[arg-type]


@pytest.mark.parametrize("api_token", ["", None, "PT abc", "PT\nInjected: 1", 5])
def test_api_token_is_checked_and_never_echoed(api_token: object) -> None:
    with pytest.raises(InvalidRequestError, match="api_token") as info:
        SignalWireClient("example", PROJECT_ID, api_token)  # type: ignore[arg-type]
    if isinstance(api_token, str) and api_token:
        assert api_token not in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", -1),
        ("timeout", True),
        ("timeout", "30"),
        ("max_connections", 0),
        ("max_connections", 1.5),
        ("retry", 3),
        ("session", object()),
        ("middlewares", "not a list"),
        ("middlewares", [1]),
        ("attempt_middlewares", [None]),
    ],
)
def test_bad_options_are_refused(option: str, value: object) -> None:
    with pytest.raises(InvalidRequestError, match=option.split("_")[0]):
        make(**{option: value})


FIELD_CASES: list[tuple[str, Callable[[], object], str]] = [
    ("space not a name", lambda: make("example/path"), "space"),
    ("space not a string", lambda: make(42), "space"),
    ("no space and no base_url", lambda: make(None), "space"),
    ("base_url plain http elsewhere", lambda: make(None, base_url="http://example.com"), "base_url"),
    ("base_url with user info", lambda: make(None, base_url="https://u:p@example.com"), "base_url"),
    ("base_url not a string", lambda: make(None, base_url=123), "base_url"),
    ("project_id not a UUID", lambda: SignalWireClient("example", "nope", API_TOKEN), "project_id"),
    ("api_token empty", lambda: SignalWireClient("example", PROJECT_ID, ""), "api_token"),
    ("api_token with a newline", lambda: SignalWireClient("example", PROJECT_ID, "PT\nX: 1"), "api_token"),
    ("timeout zero", lambda: make(timeout=0), "timeout"),
    ("max_connections zero", lambda: make(max_connections=0), "max_connections"),
    ("RetryPolicy.max_attempts zero", lambda: RetryPolicy(max_attempts=0), "max_attempts"),
    ("RetryPolicy.initial_backoff negative", lambda: RetryPolicy(initial_backoff=-1), "initial_backoff"),
    ("RetryPolicy.deadline zero", lambda: RetryPolicy(deadline=0), "deadline"),
    ("RetryBudget.capacity negative", lambda: RetryBudget(capacity=-1), "capacity"),
    ("fast_retries max_attempts zero", lambda: fast_retries(max_attempts=0).__enter__(), "max_attempts"),
    ("create_many concurrency zero", lambda: make().chat_tokens.create_many([], concurrency=0), "concurrency"),
    ("create_many max_rate zero", lambda: make().chat_tokens.create_many([], max_rate=0), "max_rate"),
]


@pytest.mark.parametrize(("make_it", "field"), [case[1:] for case in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_each_error_names_the_argument_to_fix(make_it: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make_it()
    assert info.value.field == field


@pytest.mark.parametrize("token_id", ["nope", "../../x", None])
async def test_a_bad_token_id_is_refused_naming_token_id(token_id: object) -> None:
    client = make()
    with pytest.raises(InvalidRequestError) as deleting:
        await client.api_tokens.delete(token_id)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError) as updating:
        await client.api_tokens.update(token_id, name="n")  # type: ignore[arg-type]
    assert deleting.value.field == updating.value.field == "token_id"
    await client.aclose()


@pytest.mark.parametrize("max_rate", [0, -5, float("nan"), "10", True])
def test_max_rate_is_a_positive_number_of_requests_per_second(max_rate: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make().chat_tokens.create_many([], max_rate=max_rate)  # type: ignore[arg-type]
    assert info.value.message == f"max_rate must be a number of requests per second > 0, got {max_rate!r}"
    assert info.value.field == "max_rate"


def test_repr_shows_where_but_never_the_token() -> None:
    client = make()
    text = repr(client)
    assert "example.signalwire.com" in text
    assert PROJECT_ID in text
    assert API_TOKEN not in text
    assert "PT" not in text


def test_from_env_reads_the_three_variables() -> None:
    env = {"SIGNALWIRE_SPACE": "example", "SIGNALWIRE_PROJECT_ID": PROJECT_ID, "SIGNALWIRE_API_TOKEN": API_TOKEN}
    client = SignalWireClient.from_env(environ=env)
    assert str(client.base_url) == "https://example.signalwire.com"
    assert client.project_id == PROJECT_ID


def test_from_env_accepts_a_host_name_and_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALWIRE_SPACE", "example.signalwire.com")
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", API_TOKEN)
    assert str(SignalWireClient.from_env().base_url) == "https://example.signalwire.com"


def test_from_env_keyword_arguments_override() -> None:
    env = {"SIGNALWIRE_SPACE": "example", "SIGNALWIRE_PROJECT_ID": "bad", "SIGNALWIRE_API_TOKEN": "x"}
    client = SignalWireClient.from_env(environ=env, project_id=PROJECT_ID, space="other", timeout=5)
    assert str(client.base_url) == "https://other.signalwire.com"
    assert client.project_id == PROJECT_ID
    assert client.timeout == 5


def test_from_env_names_what_is_missing() -> None:
    with pytest.raises(InvalidRequestError) as info:
        SignalWireClient.from_env(environ={"SIGNALWIRE_PROJECT_ID": PROJECT_ID})
    assert "SIGNALWIRE_SPACE" in str(info.value)
    assert "SIGNALWIRE_API_TOKEN" in str(info.value)
    assert "SIGNALWIRE_PROJECT_ID" not in str(info.value)


def test_from_env_needs_no_space_with_base_url() -> None:
    env = {"SIGNALWIRE_PROJECT_ID": PROJECT_ID, "SIGNALWIRE_API_TOKEN": API_TOKEN}
    client = SignalWireClient.from_env(environ=env, base_url="http://127.0.0.1:1")
    assert str(client.base_url) == "http://127.0.0.1:1"


def test_from_env_reads_a_base_url_for_a_local_fake_space_with_its_rules() -> None:
    env = {"SIGNALWIRE_PROJECT_ID": PROJECT_ID, "SIGNALWIRE_API_TOKEN": API_TOKEN}
    client = SignalWireClient.from_env(environ={**env, "SIGNALWIRE_BASE_URL": "http://127.0.0.1:8080"})
    assert str(client.base_url) == "http://127.0.0.1:8080"
    overridden = SignalWireClient.from_env(environ={**env, "SIGNALWIRE_BASE_URL": "x"}, base_url="http://[::1]:9")
    assert overridden.base_url.port == 9
    with pytest.raises(InvalidRequestError, match="loopback") as info:
        SignalWireClient.from_env(environ={**env, "SIGNALWIRE_BASE_URL": "http://example.com"})
    assert info.value.field == "base_url"


def test_defaults() -> None:
    client = make()
    assert client.timeout == 30.0
    assert client.retry == RetryPolicy()
    assert client.closed is False


async def test_a_shared_session_is_used_and_never_closed() -> None:
    async with aiohttp.ClientSession() as session:
        client = make(session=session)
        await client.aclose()
        assert client.closed
        assert not session.closed


async def test_no_session_is_made_until_a_request_and_closing_twice_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    monkeypatch.setattr(aiohttp, "ClientSession", lambda **options: made.append(options))
    client = make()
    assert made == []
    await client.aclose()
    await client.aclose()
    assert client.closed


async def test_a_closed_client_refuses_new_calls() -> None:
    client = make()
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.chat_tokens.create(ttl=1, channels={"a": {"read": True}})
