"""SyncSignalWireClient: the async client's constructor, resources, results and errors, blocking, over one event loop
in a background thread; against a fake space on a thread of its own, as a script or a Flask view would use it."""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from signalwire_tokens import (
    ApiError,
    ApiToken,
    AuthenticationError,
    ChatToken,
    InvalidRequestError,
    JsonBody,
    NotFoundError,
    PubSubToken,
    PubSubTokenRequest,
    RateLimitError,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    SignalWireError,
    SyncSignalWireClient,
)

from .conftest import TOKEN_ID
from .support import Hold, RecordingTransport, ThreadedFake, no_wait, sync_client

LOBBY = {"lobby": {"read": True}}
LOOP_THREAD = "SyncSignalWireClient-loop"


@pytest.fixture
def client(space: ThreadedFake) -> Iterator[SyncSignalWireClient]:
    with sync_client(space) as sync:
        yield sync


def loop_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == LOOP_THREAD]


def with_async_client(space: ThreadedFake, use: Callable[[SignalWireClient], Any], **options: Any) -> Any:
    """``await use(client)`` with an async client of the same fake (over loopback, on a loop of its own)."""

    async def run() -> Any:
        options.setdefault("retry", RetryPolicy(sleep=no_wait))
        client = SignalWireClient(None, space.fake.project_id, space.fake.api_token, base_url=space.fake.url, **options)
        async with client:
            return await use(client)

    return asyncio.run(run())


# -- the resources ---------------------------------------------------------------------------------------------------


def test_api_tokens_are_created_updated_and_deleted(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    token = client.api_tokens.create(name="ci-bot", permissions=["chat", "messaging"])
    assert isinstance(token, ApiToken) and token.permissions == ("chat", "messaging")
    renamed = client.api_tokens.update(token.id, name="renamed")
    assert renamed.name == "renamed" and space.fake.api_tokens[token.id]["name"] == "renamed"
    assert client.api_tokens.delete(token.id) is None
    assert token.id not in space.fake.api_tokens
    assert [r.operation for r in space.fake.requests] == ["api_tokens.create", "api_tokens.update", "api_tokens.delete"]


def test_project_tokens_go_through_the_platform_api(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    token = client.project_tokens.create(name="ci-bot", permissions=["chat"])
    assert client.project_tokens.update(token.id, permissions=["video"]).permissions == ("video",)
    client.project_tokens.delete(token.id)
    assert [r.path for r in space.fake.requests] == ["/api/project/tokens"] + [f"/api/project/tokens/{token.id}"] * 2


def test_chat_and_pubsub_tokens_are_minted(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    chat = client.chat_tokens.create(ttl=60, channels=LOBBY, member_id="alice", state={"k": 1})
    assert isinstance(chat, ChatToken) and chat.member_id == "alice"
    assert space.fake.decode_chat_token(chat.token)["ch"] == {"lobby": {"read": True, "write": False}}
    pubsub = client.pubsub_tokens.create(ttl=5, channels={"news": {"read": True}})
    assert isinstance(pubsub, PubSubToken) and pubsub.expires_at.tzinfo is not None
    prepared = client.pubsub_tokens.mint(PubSubTokenRequest(ttl=5, channels=LOBBY))
    assert isinstance(prepared, PubSubToken)
    assert (space.fake.chat_tokens_minted, space.fake.pubsub_tokens_minted) == (1, 2)


def test_send_runs_one_call_through_the_chain(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    response = client.send("POST", client.url("/api/chat/tokens"), "mine", body=JsonBody({"ttl": 5, "channels": LOBBY}))
    assert isinstance(response, Response) and response.status == 200
    assert space.fake.requests[0].operation == "chat_tokens.create"


# -- mirrors of the async client -------------------------------------------------------------------------------------


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def mirrored(sync_cls: type, async_cls: type) -> list[tuple[str, Any, Any]]:
    return [(name, getattr(sync_cls, name), getattr(async_cls, name)) for name in sorted(public(async_cls))]


SYNC, ASYNC = SyncSignalWireClient, SignalWireClient
RESOURCES = [
    (SYNC.__init__, ASYNC.__init__),  # the constructor: every keyword
    (SYNC.from_env, ASYNC.from_env),
    (SYNC.send, ASYNC.send),
    (SYNC.url, ASYNC.url),
]


@pytest.mark.parametrize(("sync", "async_"), RESOURCES, ids=lambda f: getattr(f, "__qualname__", ""))
def test_the_client_takes_the_same_parameters(sync: Any, async_: Any) -> None:
    assert inspect.signature(sync).parameters == inspect.signature(async_).parameters


def test_every_resource_method_has_the_same_parameters_and_a_blocking_result(space: ThreadedFake) -> None:
    sync, async_ = sync_client(space), SignalWireClient(None, space.fake.project_id, "PTx", base_url=space.fake.url)
    resources = ("api_tokens", "project_tokens", "chat_tokens", "pubsub_tokens", "video.room_tokens")
    fabric = ("fabric.subscriber_tokens", "fabric.guest_tokens", "fabric.embed_tokens", "fabric.invite_tokens")
    for resource in (*resources, "video.conference_tokens", *fabric):
        sync_resource, async_resource = sync, async_
        for part in resource.split("."):
            sync_resource, async_resource = getattr(sync_resource, part), getattr(async_resource, part)
        assert public(type(sync_resource)) == public(type(async_resource)), resource
        for name in public(type(async_resource)):
            ours, theirs = (
                inspect.signature(getattr(sync_resource, name)),
                inspect.signature(getattr(async_resource, name)),
            )
            assert ours.parameters == theirs.parameters, (resource, name)
            # The same result, made non-awaitable: the same type, or its Sync twin (a stream, a cache).
            # A listing's async iterator is a plain iterator.
            blocking = (theirs.return_annotation, f"Sync{theirs.return_annotation}")
            assert ours.return_annotation in (*blocking, theirs.return_annotation.replace("AsyncIterator", "Iterator"))
    asyncio.run(async_.aclose())
    sync.close()


def test_the_client_shows_what_the_async_client_shows(space: ThreadedFake) -> None:
    options = {"timeout": 7.0, "retry": RetryPolicy(max_attempts=2)}
    sync = sync_client(space, **options)
    theirs = SignalWireClient(None, space.fake.project_id, "PTx", base_url=space.fake.url, **options)
    assert public(ASYNC) - public(SYNC) == {"aclose"} and "close" in public(SYNC)
    for name in ("base_url", "project_id", "timeout", "retry", "rate_limit"):
        assert getattr(sync, name) == getattr(theirs, name), name
    assert sync.retry_budget is not None and sync.retry_budget.available == theirs.retry_budget.available  # type: ignore[union-attr]
    assert sync.url("/api/chat/tokens") == URL(space.fake.url + "/api/chat/tokens")
    asyncio.run(theirs.aclose())
    sync.close()


# -- configuration ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("ex ample", TOKEN_ID, "PTx"), {}),
        (("example.evil.com", TOKEN_ID, "PTx"), {}),
        (("example", "not-a-uuid", "PTx"), {}),
        (("example", TOKEN_ID, ""), {}),
        (("example", TOKEN_ID, "PTx"), {"base_url": "http://example.com"}),
        (("example", TOKEN_ID, "PTx"), {"timeout": 0}),
        (("example", TOKEN_ID, "PTx"), {"middlewares": "nope"}),
    ],
)
def test_bad_configuration_is_refused_as_the_async_client_refuses_it(args: tuple[Any, ...], options: Any) -> None:
    with pytest.raises(InvalidRequestError) as theirs:
        SignalWireClient(*args, **options)
    with pytest.raises(InvalidRequestError) as ours:
        SyncSignalWireClient(*args, **options)
    assert (ours.value.field, ours.value.message) == (theirs.value.field, theirs.value.message)
    assert loop_threads() == [], "no thread is started for a client that could not be made"


def test_from_env_reads_the_environment_by_the_async_clients_rules(space: ThreadedFake) -> None:
    environ = {
        "SIGNALWIRE_PROJECT_ID": space.fake.project_id,
        "SIGNALWIRE_API_TOKEN": space.fake.api_token,
        "SIGNALWIRE_BASE_URL": space.fake.url,
    }
    with SyncSignalWireClient.from_env(environ=environ, timeout=3.0) as client:
        assert isinstance(client, SyncSignalWireClient) and client.timeout == 3.0
        assert client.chat_tokens.create(ttl=5, channels=LOBBY).token
    with pytest.raises(InvalidRequestError, match="SIGNALWIRE_SPACE, SIGNALWIRE_API_TOKEN") as missing:
        SyncSignalWireClient.from_env(environ={"SIGNALWIRE_PROJECT_ID": space.fake.project_id})
    assert missing.value.field == "space"


def test_a_session_is_refused_it_belongs_to_another_loop(space: ThreadedFake) -> None:
    async def make_session() -> Any:
        import aiohttp

        session = aiohttp.ClientSession()
        await session.close()
        return session

    session = asyncio.run(make_session())
    with pytest.raises(InvalidRequestError, match="runs its own loop") as refused:
        sync_client(space, session=session)
    assert refused.value.field == "session"
    with pytest.raises(InvalidRequestError, match="takes no session"):
        SyncSignalWireClient.from_env(environ={}, base_url=space.fake.url, session=session)


# -- errors ----------------------------------------------------------------------------------------------------------


def test_errors_are_the_async_clients_own_with_every_field(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    def failure(call: Callable[[], object]) -> SignalWireError:
        try:
            call()
        except SignalWireError as error:
            return error
        raise AssertionError("no error")

    async def async_failure(c: SignalWireClient) -> SignalWireError:
        try:
            await c.api_tokens.delete(TOKEN_ID)
        except SignalWireError as error:
            return error
        raise AssertionError("no error")

    ours = failure(lambda: client.api_tokens.delete(TOKEN_ID))
    theirs = with_async_client(space, async_failure)
    assert type(ours) is type(theirs) is NotFoundError
    fields = ("status", "code", "message", "attribute", "more_info", "errors", "method", "url", "attempts", "notes")
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(theirs, f) for f in fields}


def test_bad_input_is_refused_before_anything_is_sent(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        client.chat_tokens.create(ttl=0, channels=LOBBY)
    assert refused.value.field == "ttl"
    with pytest.raises(InvalidRequestError) as refused:
        client.api_tokens.update("../etc", name="x")
    assert refused.value.field == "token_id"
    assert space.fake.requests == []


def test_api_errors_keep_their_types_and_fields(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    space.call(space.fake.fail, 429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as limited:
        client.chat_tokens.create(ttl=5, channels=LOBBY)
    assert limited.value.retry_after == 120 and limited.value.headers["retry-after"] == "120"
    space.call(space.fake.fail, 500, times=4)
    with pytest.raises(ServerError) as failed:
        client.api_tokens.create(name="ci", permissions=["chat"])
    assert failed.value.outcome_unknown and "may have been created" in str(failed.value)
    with sync_client(space, api_token="PTwrong") as stranger, pytest.raises(AuthenticationError) as refused:
        stranger.chat_tokens.create(ttl=5, channels=LOBBY)
    assert isinstance(refused.value, ApiError) and refused.value.status == 401


def test_the_api_token_never_shows(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    space.call(space.fake.fail, 403)
    with pytest.raises(SignalWireError) as refused:
        client.chat_tokens.create(ttl=5, channels=LOBBY)
    cache = client.chat_tokens.cache()
    shown = [
        repr(client),
        str(refused.value),
        repr(refused.value),
        repr(cache),
        *(t.name for t in threading.enumerate()),
    ]
    assert not any(space.fake.api_token in text for text in shown)
    assert repr(client) == f"SyncSignalWireClient(base_url={space.fake.url!r}, project_id={space.fake.project_id!r})"


# -- threads and the loop --------------------------------------------------------------------------------------------


class Barrier:
    """A middleware that holds every call until ``n`` calls are inside it at once: calls that ran one after another
    would never all get there (each would fail after 5 s). It notes the loop and the thread each call runs on."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.inside = 0
        self.loops: set[int] = set()
        self.threads: set[int] = set()
        self._everyone: asyncio.Event | None = None

    async def __call__(self, request: Request, call_next: Any) -> Response:
        if self._everyone is None:
            self._everyone = asyncio.Event()
        self.loops.add(id(asyncio.get_running_loop()))
        self.threads.add(threading.get_ident())
        self.inside += 1
        if self.inside == self.n:
            self._everyone.set()
        await asyncio.wait_for(self._everyone.wait(), 5)
        response: Response = await call_next(request)
        return response


def test_calls_from_several_threads_run_at_once_on_the_one_loop(space: ThreadedFake) -> None:
    n = 6
    barrier = Barrier(n)
    results: dict[int, ChatToken | BaseException] = {}

    def view(i: int) -> None:
        try:
            results[i] = client.chat_tokens.create(ttl=5, channels=LOBBY, member_id=f"user-{i}")
        except BaseException as error:
            results[i] = error

    with sync_client(space, middlewares=[barrier]) as client:
        threads = [threading.Thread(target=view, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert all(isinstance(results[i], ChatToken) and results[i].member_id == f"user-{i}" for i in range(n)), results  # type: ignore[union-attr]
    assert barrier.inside == n and len(barrier.loops) == 1, "all in flight at once, on one loop"
    assert len(barrier.threads) == 1 and not barrier.threads & {t.ident for t in threads}, "the loop's thread"
    assert sorted(r.operation for r in space.fake.requests) == ["chat_tokens.create"] * n


def test_the_loop_thread_starts_with_the_first_call_and_is_a_daemon_joined_on_close(space: ThreadedFake) -> None:
    client = sync_client(space)
    assert loop_threads() == [], "made lazily: a client made at import time (or before a fork) costs no thread"
    client.chat_tokens.create(ttl=5, channels=LOBBY)
    client.chat_tokens.create(ttl=5, channels=LOBBY)
    (thread,) = loop_threads()
    assert thread.daemon and thread.is_alive()
    client.close()
    assert not thread.is_alive() and loop_threads() == []


async def test_inside_a_running_event_loop_every_call_says_to_use_the_async_client(space: ThreadedFake) -> None:
    client = sync_client(space)
    calls: list[Callable[[], object]] = [
        lambda: client.chat_tokens.create(ttl=5, channels=LOBBY),
        lambda: client.api_tokens.delete(TOKEN_ID),
        lambda: next(client.pubsub_tokens.create_many([{"ttl": 5, "channels": LOBBY}])),
        lambda: client.chat_tokens.cache(),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match=r"inside a running event loop .* use SignalWireClient there"):
            call()
    gc.collect()  # the refused stream is gone too: it had nothing to cancel
    assert loop_threads() == [], "a refused call starts no thread"
    client.close()  # closing is allowed anywhere
    assert client.closed and space.fake.requests == []


# -- closing ---------------------------------------------------------------------------------------------------------


def test_a_closed_client_refuses_calls_and_closing_twice_is_fine(space: ThreadedFake) -> None:
    client = sync_client(space)
    client.chat_tokens.create(ttl=5, channels=LOBBY)
    assert not client.closed
    client.close()
    client.close()
    assert client.closed
    for call in (
        lambda: client.chat_tokens.create(ttl=5, channels=LOBBY),
        lambda: client.project_tokens.create(name="x", permissions=["chat"]),
        lambda: list(client.chat_tokens.create_many([{"ttl": 5, "channels": LOBBY}])),
        lambda: client.send("DELETE", client.url("/x"), "x"),
    ):
        with pytest.raises(RuntimeError, match="the SyncSignalWireClient is closed"):
            call()
    assert len(space.fake.requests) == 1


def test_closing_while_another_thread_waits_tells_that_thread(space: ThreadedFake) -> None:
    hold = Hold()
    client = sync_client(space, middlewares=[hold])
    outcome: list[BaseException] = []

    def view() -> None:
        try:
            client.chat_tokens.create(ttl=5, channels=LOBBY)
        except RuntimeError as error:
            outcome.append(error)

    waiting = threading.Thread(target=view)
    waiting.start()
    assert hold.wait_until(inside=1)
    client.close()
    waiting.join(10)
    assert "the SyncSignalWireClient was closed while this call was in flight" in str(outcome[0])
    assert hold.cancelled == 1 and space.fake.requests == []


def test_with_closes_after_an_exception_and_lets_it_through(space: ThreadedFake) -> None:
    with pytest.raises(NotFoundError), sync_client(space) as client:  # noqa: PT012 - the body is what raises
        client.chat_tokens.create(ttl=5, channels=LOBBY)
        client.api_tokens.delete(TOKEN_ID)
    assert client.closed and loop_threads() == []


def test_closing_closes_the_transport_it_was_given_even_unused() -> None:
    used, unused = RecordingTransport(), RecordingTransport()
    with SyncSignalWireClient("example", TOKEN_ID, "PTx", transport=used) as client:
        assert client.chat_tokens.create(ttl=5, channels=LOBBY).token == "jwt"
    SyncSignalWireClient("example", TOKEN_ID, "PTx", transport=unused).close()
    assert (used.closes, unused.closes) == (1, 1)
    assert loop_threads() == []


def test_an_error_from_closing_reaches_the_closer() -> None:
    class Failing(RecordingTransport):
        async def aclose(self) -> None:
            raise OSError("could not close")

    client = SyncSignalWireClient("example", TOKEN_ID, "PTx", transport=Failing())
    with pytest.raises(OSError, match="could not close"):
        client.close()
    assert client.closed and loop_threads() == []
    client.close()


def test_a_client_dropped_without_closing_stops_its_thread(space: ThreadedFake) -> None:
    transport = RecordingTransport()
    client = SyncSignalWireClient("example", TOKEN_ID, "PTx", transport=transport)
    client.chat_tokens.create(ttl=5, channels=LOBBY)
    (thread,) = loop_threads()
    del client
    gc.collect()
    thread.join(10)
    assert not thread.is_alive() and transport.closes == 1
    SyncSignalWireClient("example", TOKEN_ID, "PTx", transport=transport)  # never used, dropped: nothing to stop
    gc.collect()
    assert loop_threads() == []


def test_closing_from_the_clients_own_thread_does_not_deadlock(space: ThreadedFake) -> None:
    client = sync_client(space)
    stream = client.chat_tokens.create_many(
        ({"ttl": 5, "channels": LOBBY} for _ in range(50)), concurrency=2, progress=lambda _: client.close()
    )
    with pytest.raises(RuntimeError, match="closed"):
        for _ in stream:
            pass
    (thread,) = loop_threads() or [None]
    if thread is not None:
        thread.join(10)
    assert client.closed and loop_threads() == []


def test_the_documented_example_is_type_checked_as_written() -> None:
    """tests/typing/api_usage.py holds the sync client example of docs/sync-client.md (the same code, as the
    formatter lays it out in a function), so mypy --strict checks what the page shows."""
    root = Path(__file__).parents[1]
    section = (root / "docs" / "sync-client.md").read_text()
    example = section[section.index("```python\n") + len("```python\n") : section.index("```\n")]
    usage = ast.parse((root / "tests" / "typing" / "api_usage.py").read_text())
    checked = next(n for n in usage.body if isinstance(n, ast.FunctionDef) and n.name == "readme_sync_client")
    assert [ast.dump(n) for n in checked.body[1:]] == [ast.dump(n) for n in ast.parse(example).body]
