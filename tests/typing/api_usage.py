"""Type-checked use of the public API (mypy --strict and pyright run over this file; pytest does not collect it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

from signalwire_tokens import (
    ApiError,
    ApiToken,
    BatchFailure,
    BatchItem,
    BatchProgress,
    BatchSuccess,
    ChannelPermissions,
    ChatToken,
    ChatTokenCache,
    ChatTokenRequest,
    ConferenceToken,
    EmbedToken,
    GuestToken,
    Handler,
    InviteToken,
    Permission,
    PubSubToken,
    PubSubTokenRequest,
    RateLimitError,
    Request,
    Response,
    RetryBudget,
    RetryPolicy,
    RoomToken,
    RoomTokenRequest,
    SignalWireClient,
    SignalWireError,
    SubscriberToken,
    SubscriberTokenCache,
    SubscriberTokenRequest,
    SyncBatchStream,
    SyncChatTokenCache,
    SyncSignalWireClient,
    SyncSubscriberTokenCache,
    TokenBucket,
)
from signalwire_tokens.testing import FakeSignalWire, fast_retries


async def timing(request: Request, call_next: Handler) -> Response:
    response = await call_next(request)
    elapsed: float = response.elapsed
    attempt: int = response.attempt
    assert elapsed >= 0 and attempt >= 1
    return response


async def requests() -> AsyncIterator[ChatTokenRequest]:
    yield ChatTokenRequest(ttl=60, channels={"lobby": ChannelPermissions(read=True)})


def save(index: int, token: str) -> None:
    assert index >= 0 and token


def log_failure(index: int, request: ChatTokenRequest, error: SignalWireError) -> None:
    assert index >= 0 and request.ttl and error.message


async def readme_batch(client: SignalWireClient) -> None:
    """The batch example of docs/batches.md, as written (tests/test_models.py holds its code to the page's)."""
    from signalwire_tokens import ChatTokenRequest

    requests = (
        ChatTokenRequest(ttl=60, channels={"lobby": {"read": True}}, member_id=f"user-{n}") for n in range(1000)
    )
    async for item in client.chat_tokens.create_many(requests, concurrency=32):
        if item.ok is True:
            save(item.index, item.token.token)
        else:
            log_failure(item.index, item.request, item.error)


def mypy_narrows_a_bare_ok(item: BatchItem) -> str:
    """The contract's promise for mypy: a bare ``if item.ok:`` narrows too. pyright narrows a union on an attribute
    only by comparison, so it is told to let these two lines be; the documented idiom above is ``is True``."""
    if item.ok:
        return item.token.token  # pyright: ignore[reportOptionalMemberAccess]
    return item.error.message  # pyright: ignore[reportOptionalMemberAccess]


async def cached(client: SignalWireClient) -> str:
    """The cache example of docs/caches.md, typed: one cache per client, a member per user."""
    cache: ChatTokenCache[ChatToken] = client.chat_tokens.cache(max_entries=1_000, refresh_margin=90.0)
    chat: ChatToken = await cache.get(ttl=60, channels={"room-1": {"read": True}}, member_id="alice", state=None)
    dropped: int = cache.invalidate(member_id="alice")
    counts: tuple[int, int, int] = (cache.hits, cache.misses, cache.refreshes)
    assert dropped >= 0 and len(cache) <= cache.max_entries and min(counts) >= 0
    await cache.aclose()
    return chat.token


def another_family(token: ApiToken) -> ApiToken:
    # The token type is a parameter (a bare BatchSuccess is a chat token's), for the families to come.
    success: BatchSuccess[ApiToken] = BatchSuccess(0, None, token)
    return success.token


async def usage() -> None:
    async with FakeSignalWire() as fake:
        client: SignalWireClient = fake.client(middlewares=[timing], retry=RetryPolicy(max_attempts=2))
        async with client:
            token: ApiToken = await client.api_tokens.create("ci", [Permission.CHAT, "fax"])
            token = await client.api_tokens.update(token.id, permissions=["video"])
            await client.api_tokens.delete(token.id)
            chat: ChatToken = await client.chat_tokens.create(ttl=5, channels={"a": {"read": True}}, state={"k": 1})
            expires: datetime = chat.expires_at
            assert expires.tzinfo is not None
            async with client.with_options(timeout=5.0, retry=RetryPolicy.disabled()) as view:
                quick: ChatToken = await view.chat_tokens.create(ttl=5, channels={"a": {"read": True}})
                assert quick.token and view.timeout == 5.0

            def report(progress: BatchProgress) -> None:
                assert progress.done >= progress.failed

            stream = client.chat_tokens.create_many(
                requests(), concurrency=4, max_rate=100.0, progress=report, ordered=True
            )
            limit: float = stream.flow.limit
            assert limit >= 1
            async for item in stream:
                batch_item: BatchItem = item
                if batch_item.ok is True:
                    jwt: str = batch_item.token.token
                    assert jwt and batch_item.error is None
                elif isinstance(batch_item.error, RateLimitError):
                    wait: float | None = batch_item.error.retry_after
                    assert wait is None or wait >= 0
                elif isinstance(batch_item.error, ApiError):
                    status: int = batch_item.error.status
                    assert status >= 300
                if isinstance(item, BatchFailure):
                    failed: SignalWireError = item.error
                    assert failed.message
    await families()
    from_env: SignalWireClient = SignalWireClient.from_env(environ={}, base_url="http://127.0.0.1:1")
    await from_env.aclose()
    policy = RetryPolicy(deadline=10.0, budget=RetryBudget(capacity=100), max_rate_limit_wait=120.0)
    with fast_retries(max_attempts=2):
        assert policy.budget is not None
    waits: float = RetryPolicy.disabled().max_rate_limit_wait
    assert waits == 0.0


async def families() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        project: ApiToken = await client.project_tokens.create("ci", ["chat"])
        await client.project_tokens.delete(project.id)
        pubsub: PubSubToken = await client.pubsub_tokens.create(ttl=5, channels={"news": {"read": True}})
        assert pubsub.expires_at.tzinfo is not None
        batch = [PubSubTokenRequest(ttl=5, channels={"news": {"read": True}}, member_id="m")]
        async for item in client.pubsub_tokens.create_many(batch):
            if item.ok is True:
                minted: PubSubToken = item.token
                assert minted.token


async def video() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        room: RoomToken = await client.video.room_tokens.create(
            room_name="standup",
            user_name="Alice",
            join_as="member",
            media_allowed="audio-only",
            permissions=["room.self.audio_mute"],
            join_until=datetime(2026, 1, 1, tzinfo=timezone.utc),
            meta={"team": 7},
        )
        assert room.token and room.room_name == "standup" and room.user_name == "Alice"
        rows = [RoomTokenRequest(room_name="a"), {"room_name": "b"}]
        async for item in client.video.room_tokens.create_many(rows, concurrency=32, ordered=True):
            if item.ok is True:
                minted: RoomToken = item.token
                assert minted.room_name
            else:
                failure: SignalWireError = item.error
                assert str(failure)
        conference = fake.add_conference(tokens=3)
        async for listed in client.video.conference_tokens.list(conference, page_size=2):
            token: ConferenceToken = await client.video.conference_tokens.get(listed.id)
            name: str | None = token.name
            scopes: tuple[str, ...] = token.scopes
            assert name and scopes
            fresh: ConferenceToken = await client.video.conference_tokens.reset(token.id)
            assert fresh.token != token.token


async def rate_limits(fake: FakeSignalWire) -> None:
    """The rate-limit recipes of docs/rate-limits.md."""
    from signalwire_tokens import LocalRateLimit, RateLimiter, RateLimiterError, RedisRateLimit

    one_process: RateLimiter = LocalRateLimit(13_800, period=10.1)
    fleet: RateLimiter = RedisRateLimit("redis://127.0.0.1:6379/0", 13_800, period=10.1)
    async with fake.client(rate_limit=one_process) as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})
    async with fake.client(rate_limit=fleet) as client:
        try:
            await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})
        except RateLimiterError as error:
            sent: bool = error.request_sent
            assert not sent


async def telemetry(fake: FakeSignalWire) -> None:
    """The tracing recipe of docs/telemetry.md: the global providers, or providers of the application's own."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from signalwire_tokens import Extensions
    from signalwire_tokens.telemetry import Telemetry

    on_globals = Telemetry()
    own = Telemetry(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    for each in (on_globals, own):
        async with fake.client(telemetry=each) as client:
            configured: Telemetry | None = client.telemetry
            assert configured is each
            await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})

    class Limiter:
        """A rate limiter of one's own reports its waits where the call's span can show them."""

        async def acquire(self, request: Request) -> None:
            extensions: Extensions = request.extensions
            if extensions.observer is not None:
                extensions.observer.waited(request, 0.25)

        async def aclose(self) -> None:
            pass

    async with fake.client(rate_limit=Limiter(), telemetry=own) as client:
        await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})


def readme_sync_client() -> None:
    """The example of docs/sync-client.md, as written (tests/test_sync_client.py holds its code to the page's)."""
    from signalwire_tokens import ChatTokenRequest, SyncSignalWireClient

    with SyncSignalWireClient.from_env() as client:
        chat = client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}}, member_id="alice")
        print(chat.member_id, chat.expires_at)
        token = client.api_tokens.create(name="ci-bot", permissions=["chat"])
        client.api_tokens.delete(token.id)
        room = client.video.room_tokens.create(room_name="standup", user_name="Alice")  # client.video, as async
        print(room.room_name, room.user_name)
        requests = (
            ChatTokenRequest(ttl=60, channels={"lobby": {"read": True}}, member_id=f"user-{n}") for n in range(3)
        )
        for item in client.chat_tokens.create_many(requests, concurrency=32):
            print(item.index, item.token.member_id if item.ok is True else item.error)
        cache = client.chat_tokens.cache()
        assert cache.get(ttl=60, channels={"lobby": {"read": True}}, member_id="bob").member_id == "bob"


async def fabric() -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
        sat: SubscriberToken = await client.fabric.subscriber_tokens.create(
            reference="alice@example.com",
            application_id=None,
            expire_at=datetime(2031, 1, 1, tzinfo=timezone.utc),
            scope="sat:refresh",
            region="us-central",
        )
        subscriber: str | None = sat.subscriber_id
        renewed: SubscriberToken = await client.fabric.subscriber_tokens.refresh(sat.refresh_token)
        again: SubscriberToken = await client.fabric.subscriber_tokens.refresh(renewed)
        address = fake.fabric.add_address()
        guest: GuestToken = await client.fabric.guest_tokens.create(allowed_addresses=[address], expire_at=None)
        embed: EmbedToken = await client.fabric.embed_tokens.create(fake.fabric.add_click_to_call())
        invite: InviteToken = await client.fabric.invite_tokens.create(
            address_id=address, subscriber_token=again.token, expires_at=1924992000
        )
        expires: datetime = invite.expires_at
        rows = [SubscriberTokenRequest("a"), {"reference": "b"}]
        async for item in client.fabric.subscriber_tokens.create_many(rows, concurrency=8):
            if item.ok is True:
                minted: SubscriberToken = item.token
                assert minted.refresh_token
        cache: SubscriberTokenCache = client.fabric.subscriber_tokens.cache(max_entries=100)
        cached: SubscriberToken = await cache.get(reference="alice@example.com")
        dropped: int = cache.invalidate(reference="alice@example.com")
        assert subscriber and guest.refresh_token and embed.token and expires.year and cached.token and dropped >= 0


def sync_client_types() -> None:
    """The sync client's results are the async client's, blocking: the same types, streams and caches typed by
    their family."""
    client: SyncSignalWireClient = SyncSignalWireClient.from_env(environ={}, base_url="http://127.0.0.1:1")
    with client:
        api: ApiToken = client.project_tokens.update("id", name="renamed")
        room: RoomToken = client.video.room_tokens.create("standup", media_allowed="video-only")
        rooms: SyncBatchStream[RoomToken] = client.video.room_tokens.create_many([{"room_name": "a"}])
        listed: list[ConferenceToken] = list(client.video.conference_tokens.list("id", page_size=10))
        assert room.token and listed
        rooms.close()
        pubsub: PubSubToken = client.pubsub_tokens.create(ttl=5, channels={"news": {"read": True}})
        stream: SyncBatchStream[PubSubToken] = client.pubsub_tokens.create_many(
            [PubSubTokenRequest(ttl=5, channels={"news": {"read": True}})], ordered=True
        )
        with stream:
            for item in stream:
                if item.ok is True:
                    minted: PubSubToken = item.token
                    assert minted.token
                else:
                    failed: SignalWireError = item.error
                    assert failed.message
        view: SyncSignalWireClient = client.with_options(timeout=5.0)
        with view:
            quick: PubSubToken = view.pubsub_tokens.create(ttl=5, channels={"news": {"read": True}})
            assert quick.token
        cache: SyncChatTokenCache[ChatToken] = client.chat_tokens.cache(refresh_margin=90.0)
        with cache:
            chat: ChatToken = cache.get(ttl=5, channels={"a": {"read": True}}, member_id="m")
            dropped: int = cache.invalidate(member_id="m")
            assert chat.token and dropped >= 0 and cache.hits >= 0
        sat: SubscriberToken = client.fabric.subscriber_tokens.create("alice", first_name="Alice")
        renewed: SubscriberToken = client.fabric.subscriber_tokens.refresh(sat)
        sats: SyncBatchStream[SubscriberToken] = client.fabric.subscriber_tokens.create_many([{"reference": "b"}])
        sats.close()
        with client.fabric.subscriber_tokens.cache() as sat_cache:
            held: SyncSubscriberTokenCache = sat_cache
            assert held.get("alice").token and renewed.token
        invite: InviteToken = client.fabric.invite_tokens.create(address_id="id", subscriber_token=sat.token)
        guest: GuestToken = client.fabric.guest_tokens.create(["id"])
        embed: EmbedToken = client.fabric.embed_tokens.create("c2c_x")
        assert invite.token and guest.token and embed.token
        budget: TokenBucket | None = client.retry_budget
        closed: bool = client.closed
        assert api.id and pubsub.token and (budget is None or budget.available >= 0) and not closed


def batch_items_of_every_family(room: BatchItem[RoomToken], subscriber: BatchItem[SubscriberToken]) -> list[str]:
    """``BatchItem`` is generic in its token (a bare one is a chat token's): a room or subscriber batch's items are
    annotated as such, and narrow to their own token."""
    tokens: list[str] = []
    if room.ok is True:
        room_token: RoomToken = room.token
        tokens.append(room_token.room_name)
    if subscriber.ok is True:
        subscriber_token: SubscriberToken = subscriber.token
        tokens.append(subscriber_token.refresh_token)
    chat: BatchItem = BatchSuccess(0, None, ChatToken("t", None, datetime.now(timezone.utc)))
    chat_too: BatchItem[ChatToken] = chat
    if chat_too.ok is True:
        tokens.append(chat_too.token.member_id or "")
    return tokens


async def a_room_batch(client: SignalWireClient) -> list[BatchItem[RoomToken]]:
    return [item async for item in client.video.room_tokens.create_many([{"room_name": "standup"}])]
