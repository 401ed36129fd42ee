"""Metrics: the conventions' ``http.client.request.duration`` per attempt, and the library's counters of retries,
429s and tokens minted, by operation (read from the SDK's in-memory metric reader)."""

from __future__ import annotations

import uuid

import pytest

from signalwire_tokens import ChatTokenRequest, PubSubTokenRequest, RateLimitError, RetryPolicy
from signalwire_tokens.testing import FakeSignalWire

from .support import READ

pytest.importorskip("opentelemetry.sdk", reason="the telemetry tests need opentelemetry-sdk (the test group)")

from .otel_support import SCOPE, Exported

# What the HTTP conventions recommend for this histogram, in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


async def test_every_attempt_is_timed_in_seconds_with_the_conventions_attributes(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.fail(503)
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [(scope, metric)] = [(s, m) for s, m in otel.metrics() if m.name == "http.client.request.duration"]
    assert scope == SCOPE and metric.unit == "s"
    common = {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": client.base_url.port,
        "url.template": "/api/chat/tokens",
    }
    points = sorted(metric.data.data_points, key=lambda point: point.attributes["http.response.status_code"])
    assert [dict(point.attributes) for point in points] == [
        {**common, "http.response.status_code": 200},
        {**common, "http.response.status_code": 503, "error.type": "503"},
    ]
    for point in points:
        assert point.count == 1 and 0 < point.sum < 5
        assert tuple(point.explicit_bounds) == BUCKETS


async def test_a_transport_failure_is_timed_with_its_error_type(fake: FakeSignalWire, otel: Exported) -> None:
    fake.reset()
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    failed = [p for p in otel.points("http.client.request.duration") if "error.type" in p.attributes]
    assert [dict(p.attributes)["error.type"] for p in failed] == ["ConnectionLostError"]
    assert "http.response.status_code" not in failed[0].attributes


async def test_retries_are_counted_by_operation(fake: FakeSignalWire, otel: Exported) -> None:
    fake.fail(503, times=2)
    fake.fail(503, operation="api_tokens.create")
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})  # two retries
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})  # none
        await client.api_tokens.create(name="bot", permissions=["chat"])  # one: a 503 is safe to repeat
    assert otel.total("signalwire_tokens.retries", operation="chat_tokens.create") == 2
    assert otel.total("signalwire_tokens.retries", operation="api_tokens.create") == 1
    assert otel.total("signalwire_tokens.retries") == 3


async def test_429s_are_counted_by_operation(fake: FakeSignalWire, otel: Exported) -> None:
    fake.fail(429, headers={"Retry-After": "0"}, times=2)
    async with fake.client(telemetry=otel.telemetry, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(RateLimitError):
            await client.pubsub_tokens.create(ttl=5, channels={"lobby": READ})
    assert otel.total("signalwire_tokens.throttled", operation="pubsub_tokens.create") == 2
    assert otel.total("signalwire_tokens.tokens_minted") == 0, "a call that failed minted nothing"


async def test_tokens_minted_are_counted_for_single_calls_and_batches(fake: FakeSignalWire, otel: Exported) -> None:
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
        await client.pubsub_tokens.create(ttl=5, channels={"lobby": READ})
        chats = [ChatTokenRequest(ttl=5, channels={"lobby": READ}, member_id=f"m{n}") for n in range(5)]
        assert all([item.ok async for item in client.chat_tokens.create_many(chats, concurrency=2)])
        pubsubs = [PubSubTokenRequest(ttl=5, channels={"lobby": READ}) for _ in range(3)]
        assert all([item.ok async for item in client.pubsub_tokens.create_many(pubsubs)])
        token = await client.project_tokens.create(name="bot", permissions=["chat"])
        await client.project_tokens.delete(token.id)
        await client.api_tokens.create(name="bot", permissions=["chat"])
    assert otel.total("signalwire_tokens.tokens_minted", operation="chat_tokens.create") == 6
    assert otel.total("signalwire_tokens.tokens_minted", operation="pubsub_tokens.create") == 4
    assert otel.total("signalwire_tokens.tokens_minted", operation="project_tokens.create") == 1
    assert otel.total("signalwire_tokens.tokens_minted", operation="api_tokens.create") == 1
    assert otel.total("signalwire_tokens.tokens_minted") == 12, "a delete mints nothing"
    assert (fake.chat_tokens_minted, fake.pubsub_tokens_minted) == (6, 4)


async def test_the_counters_are_named_in_the_librarys_namespace_with_units(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.fail(429, headers={"Retry-After": "0"})
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    units = {metric.name: metric.unit for scope, metric in otel.metrics() if scope == SCOPE}
    assert units == {
        "http.client.request.duration": "s",
        "signalwire_tokens.retries": "{retry}",
        "signalwire_tokens.throttled": "{response}",
        "signalwire_tokens.tokens_minted": "{token}",
    }


async def test_a_users_own_calls_to_many_urls_under_many_names_are_each_counted(otel: Exported) -> None:
    fake = FakeSignalWire(in_memory=True)
    async with fake, fake.client(telemetry=otel.telemetry, retry=RetryPolicy.disabled()) as client:
        fake.fail(429, times=300)
        for n in range(300):
            with pytest.raises(RateLimitError):
                await client.send("PATCH", client.url(f"/api/project/tokens/{uuid.uuid4()}"), f"custom.{n}")
    assert otel.total("signalwire_tokens.throttled") == 300
    assert otel.total("signalwire_tokens.throttled", operation="custom.299") == 1
    assert {span.name for span in otel.attempts()} == {"PATCH /api/project/tokens/{token_id}"}
