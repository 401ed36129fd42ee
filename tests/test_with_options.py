"""``client.with_options(timeout=..., retry=...)``: a view with its own timeout and retry policy that shares the
client's pool, rate limiter and telemetry. The client keeps owning them: closing a view only stops the view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from signalwire_tokens import (
    InvalidRequestError,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    SyncSignalWireClient,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID
from .support import RecordingTransport, ThreadedFake, sync_client

READ = {"read": True}


class CountingLimiter:
    """A RateLimiter that lets everything through and counts what it was asked."""

    def __init__(self) -> None:
        self.acquired = 0
        self.closes = 0

    async def acquire(self, request: Request) -> None:
        self.acquired += 1

    async def aclose(self) -> None:
        self.closes += 1


def recording_client(transport: RecordingTransport, **options: Any) -> SignalWireClient:
    seen: list[Request] = options.pop("seen", [])

    async def remember(request: Request, call_next: Any) -> Response:
        seen.append(request)
        response: Response = await call_next(request)
        return response

    return SignalWireClient(
        "example", PROJECT_ID, API_TOKEN, transport=transport, attempt_middlewares=[remember], **options
    )


async def test_a_view_sends_with_its_own_timeout_through_the_same_transport_and_limiter() -> None:
    transport, limiter, seen = RecordingTransport(), CountingLimiter(), list[Request]()
    client = recording_client(transport, rate_limit=limiter, timeout=30.0, seen=seen)
    view = client.with_options(timeout=5.0)
    await view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    await client.chat_tokens.create(ttl=60, channels={"lobby": READ})
    assert [request.timeout for request in seen] == [5.0, 30.0]
    assert len(transport.requests) == 2 and limiter.acquired == 2
    assert (view.timeout, client.timeout) == (5.0, 30.0)
    assert view.rate_limit is client.rate_limit and view.telemetry is client.telemetry
    assert (view.base_url, view.project_id) == (client.base_url, client.project_id)
    await client.aclose()


async def test_a_view_retries_by_its_own_policy() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        fake.fail(503, times=1)
        with pytest.raises(ServerError):
            await client.with_options(retry=RetryPolicy.disabled()).chat_tokens.create(ttl=60, channels={"x": READ})
        assert len(fake.requests) == 1
        fake.fail(503, times=1)
        await client.chat_tokens.create(ttl=60, channels={"x": READ})  # the client's own policy retries
        assert len(fake.requests) == 3


async def test_a_views_video_resources_use_its_options() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        view = client.with_options(retry=RetryPolicy.disabled())
        conference = fake.add_conference(tokens=1)
        fake.fail(503, times=2)
        with pytest.raises(ServerError):
            await view.video.room_tokens.create(room_name="standup")
        with pytest.raises(ServerError):
            [token async for token in view.video.conference_tokens.list(conference)]
        assert len(fake.requests) == 2
        fake.fail(503, times=1)
        await client.video.room_tokens.create(room_name="standup")  # the client's own policy retries
        assert len(fake.requests) == 4 and fake.room_tokens_minted == 1


async def test_a_view_shares_the_retry_budget_unless_given_a_policy_of_its_own() -> None:
    client = SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=RecordingTransport())
    assert client.with_options(timeout=1.0).retry_budget is client.retry_budget
    view = client.with_options(retry=RetryPolicy(max_attempts=2))
    assert view.retry == RetryPolicy(max_attempts=2) and client.retry == RetryPolicy()
    assert view.retry_budget is not None and view.retry_budget is not client.retry_budget
    await client.aclose()


async def test_closing_a_view_stops_only_the_view() -> None:
    transport, limiter = RecordingTransport(), CountingLimiter()
    client = SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=transport, rate_limit=limiter)
    async with client.with_options(timeout=5.0) as view:
        await view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    assert view.closed and not client.closed
    with pytest.raises(RuntimeError, match="closed"):
        await view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    assert (transport.closes, limiter.closes) == (0, 0)
    await client.chat_tokens.create(ttl=60, channels={"lobby": READ})
    assert len(transport.requests) == 2
    await client.aclose()


async def test_closing_the_client_closes_what_it_shares_once_and_stops_every_view() -> None:
    transport, limiter = RecordingTransport(), CountingLimiter()
    client = SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=transport, rate_limit=limiter)
    view = client.with_options(timeout=5.0).with_options(retry=RetryPolicy.disabled())
    cache = view.chat_tokens.cache()
    await client.aclose()
    assert view.closed and (transport.closes, limiter.closes) == (1, 1)
    with pytest.raises(RuntimeError, match="closed"):
        await view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    with pytest.raises(RuntimeError, match="closed"):
        await cache.get(ttl=60, channels={"lobby": READ}, member_id="alice")


@pytest.mark.parametrize(
    ("options", "field"), [({"timeout": 0}, "timeout"), ({"timeout": "5"}, "timeout"), ({"retry": 3}, "retry")]
)
async def test_a_view_checks_its_options_as_the_constructor_does(options: dict[str, Any], field: str) -> None:
    client = SignalWireClient("example", PROJECT_ID, API_TOKEN, transport=RecordingTransport())
    with pytest.raises(InvalidRequestError) as raised:
        client.with_options(**options)
    assert raised.value.field == field
    await client.aclose()


@pytest.fixture
def space() -> Iterator[ThreadedFake]:
    threaded = ThreadedFake()
    yield threaded
    threaded.close()


def test_the_sync_client_has_views_too(space: ThreadedFake) -> None:
    client: SyncSignalWireClient = sync_client(space)
    with client.with_options(timeout=5.0, retry=RetryPolicy.disabled()) as view:
        assert (view.timeout, view.retry, view.base_url) == (5.0, RetryPolicy.disabled(), client.base_url)
        space.call(space.fake.fail, 503, times=1)
        with pytest.raises(ServerError):
            view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    assert view.closed and not client.closed
    with pytest.raises(RuntimeError, match="closed"):
        view.chat_tokens.create(ttl=60, channels={"lobby": READ})
    client.chat_tokens.create(ttl=60, channels={"lobby": READ})
    other = client.with_options(timeout=2.0)
    client.close()
    assert other.closed
    other.close()  # nothing left to close: safe
