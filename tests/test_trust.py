"""What the client promises never to do, held where the data's path goes: credentials stay with their origin, a
given transport is the client's to close, a client outlives an event loop, errors are complete when made."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from signalwire_tokens import (
    ConnectionLostError,
    DeadlineExceededError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
)
from signalwire_tokens._retry import GiveUp, RetryAfter, decide
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, make_request
from .support import RecordingTransport, error_response

READ = {"read": True}
ELSEWHERE = URL("https://evil.example.com/steal")


def client_with(transport: RecordingTransport, **options: Any) -> SignalWireClient:
    return SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=transport, **options)


# -- credentials at the last hop ------------------------------------------------------------------------------------


async def reroute(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(attrs.evolve(request, url=ELSEWHERE))
    return response


@pytest.mark.parametrize("kind", ["middlewares", "attempt_middlewares"])
async def test_a_middleware_of_either_kind_cannot_move_credentials_to_another_origin(kind: str) -> None:
    transport = RecordingTransport()
    async with client_with(transport, **{kind: [reroute]}) as client:
        with pytest.raises(InvalidRequestError, match="refusing to send credentials") as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert info.value.field == "url"
    assert transport.requests == [], "nothing was sent"


async def test_a_retried_attempt_moved_elsewhere_is_refused_too() -> None:
    moved: list[int] = []

    async def move_the_second_attempt(request: Request, call_next: Any) -> Response:
        if request.attempt == 2:
            moved.append(request.attempt)
            request = attrs.evolve(request, url=ELSEWHERE)
        response: Response = await call_next(request)
        return response

    transport = RecordingTransport(status=503, body=b'{"error": "Service Unavailable"}')
    policy = RetryPolicy(sleep=lambda _s: asyncio.sleep(0))
    async with client_with(transport, attempt_middlewares=[move_the_second_attempt], retry=policy) as client:
        with pytest.raises(InvalidRequestError, match="refusing to send credentials"):
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert moved == [2]
    assert [str(r.url.origin()) for r in transport.requests] == ["https://example.signalwire.com"]


@pytest.mark.parametrize(
    "url", [ELSEWHERE, URL("http://example.signalwire.com/api/chat/tokens"), URL("/api/chat/tokens")]
)
async def test_client_send_refuses_another_origin_scheme_or_a_relative_url(url: URL) -> None:
    transport = RecordingTransport()
    async with client_with(transport) as client:
        with pytest.raises(InvalidRequestError, match="refusing to send credentials"):
            await client.send("GET", url, "custom.get")
    assert transport.requests == []


async def test_the_transport_gets_the_credentials_and_no_middleware_sees_them() -> None:
    seen: list[bool] = []

    async def look(request: Request, call_next: Any) -> Response:
        seen.append("Authorization" in request.headers)
        response: Response = await call_next(request)
        return response

    transport = RecordingTransport()
    async with client_with(transport, middlewares=[look], attempt_middlewares=[look]) as client:
        await client.send("GET", client.url("/api/anything"), "custom.get")
    assert seen == [False, False]
    assert transport.requests[0].headers["Authorization"].startswith("Basic ")


# -- the transport seam ---------------------------------------------------------------------------------------------


async def test_a_given_transport_is_closed_with_the_client_once() -> None:
    transport = RecordingTransport()
    client = client_with(transport)
    assert not client.closed
    await client.chat_tokens.create(ttl=1, channels={"c": READ})
    await client.aclose()
    await client.aclose()
    assert client.closed and transport.closes == 1


async def test_a_closed_client_sends_nothing() -> None:
    transport = RecordingTransport()
    async with client_with(transport) as client:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert transport.requests == []


async def test_a_transport_must_be_a_transport() -> None:
    async def no_aclose(request: Request) -> Response:
        raise AssertionError("never called")

    with pytest.raises(InvalidRequestError, match="aclose") as info:
        SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=no_aclose)  # type: ignore[arg-type]
    assert info.value.field == "transport"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidRequestError, match="not both") as info:
            client_with(RecordingTransport(), session=session)
    assert info.value.field == "transport"


# -- a client outlives an event loop --------------------------------------------------------------------------------


@contextlib.contextmanager
def fake_space_in_a_thread() -> Iterator[FakeSignalWire]:
    """A loopback fake space on an event loop of its own, so the test's loops can come and go."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeSignalWire()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(5)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_a_client_works_on_a_later_event_loop_and_leaves_nothing_unclosed() -> None:
    with fake_space_in_a_thread() as fake:
        client = SignalWireClient(None, fake.project_id, fake.api_token, base_url=fake.url)

        async def mint() -> str:
            return (await client.chat_tokens.create(ttl=1, channels={"c": READ})).member_id or ""

        asyncio.run(mint())
        gc.collect()  # an unclosed session or connector would warn here (warnings are errors)
        asyncio.run(mint())
        asyncio.run(client.aclose())
        gc.collect()
    assert len(fake.requests) == 2 and client.closed


# -- errors complete when made --------------------------------------------------------------------------------------


def test_api_error_headers_are_case_insensitive() -> None:
    error = error_response(429, headers={"Retry-After": "7", "X-Request-Id": "abc"})
    assert isinstance(error, RateLimitError)
    assert (error.headers["retry-after"], error.headers.get("RETRY-AFTER"), error.retry_after) == ("7", "7", 7.0)


def test_errors_survive_pickling_with_every_field() -> None:
    error = attrs.evolve(error_response(404), attempts=3, notes=("after 3 attempts",), after_unknown_outcome=True)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError
    assert (copy.status, copy.attempts, copy.notes, copy.after_unknown_outcome) == (404, 3, error.notes, True)
    assert str(copy) == str(error)


async def test_the_error_a_call_ends_with_says_how_many_attempts_and_why() -> None:
    transport = RecordingTransport(status=503, body=b'{"error": "Service Unavailable"}')
    policy = RetryPolicy(max_attempts=3, sleep=lambda _s: asyncio.sleep(0))
    async with client_with(transport, retry=policy) as client:
        with pytest.raises(ServerError) as info:
            await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert (info.value.attempts, info.value.notes) == (3, ("after 3 attempts",))
    assert str(info.value).endswith("; after 3 attempts")


# -- the retry decision, a pure function ----------------------------------------------------------------------------

POLICY = RetryPolicy(initial_backoff=1.0, max_backoff=1.0, max_retry_after=30.0)


def judge(error: Any, *, attempt: int = 1, now: float = 100.0, **request: Any) -> RetryAfter | GiveUp:
    return decide(error, make_request(**request), attempt, POLICY, now, max_attempts=4)


def test_decide_retries_a_503_after_its_backoff_and_honours_retry_after() -> None:
    assert 0.5 <= judge(error_response(503)).wait <= 1.0  # type: ignore[union-attr]
    assert judge(error_response(429, headers={"Retry-After": "3"})) == RetryAfter(3.0)


@pytest.mark.parametrize(
    ("error", "options", "why"),
    [
        (error_response(404), {}, None),
        (error_response(503), {"attempt": 4}, "after 4 attempts"),
        (error_response(429, headers={"Retry-After": "31"}), {}, "not retried: the API asked to wait more than 30 s"),
        (error_response(429, headers={"Retry-After": "5"}), {"deadline": 104.0}, "would pass the call's deadline"),
        (ConnectionLostError("reset"), {"idempotent": False}, None),
    ],
)
def test_decide_gives_up_and_says_why(error: Any, options: dict[str, Any], why: str | None) -> None:
    decision = judge(error, **options)
    assert isinstance(decision, GiveUp)
    assert (decision.why or "").endswith(why or "")
    assert (decision.why is None) == (why is None)


def test_a_deadline_passed_before_an_attempt_is_known_not_sent() -> None:
    from signalwire_tokens._timeouts import attempt_limit

    with pytest.raises(DeadlineExceededError) as info:
        attempt_limit(make_request(deadline=10.0), now=10.5)
    assert not info.value.request_sent and info.value.limit == "deadline"


def test_a_request_carries_wire_facts_and_per_call_facts_only() -> None:
    """No UI text rides on the wire types (an "unknown outcome note" used to): what an outcome means for the caller
    is said by the resource that knows it."""
    assert list(attrs.fields_dict(Request)) == [
        "method",
        "url",
        "operation",
        "idempotent",
        "headers",
        "body",
        "attempt",
        "deadline",
        "timeout",
        "extensions",
        "security",
    ]
