"""Two replicas of the browser endpoints over one fake space and one real redis-server (RedisTokenStore): a
subscriber's refresh spent once fleet-wide, nothing in Redis in the clear, per_subscriber counted by the fleet, a
replica that died mid-refresh blocking nobody for long, and Redis gone as 503s until it is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("redis", reason="the web extra is not installed")
pytest.importorskip("cryptography", reason="the web extra is not installed")

from cryptography.fernet import Fernet

from signalwire_tokens.testing import FakeSignalWire
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore, RedisTokenStore

from .conftest import RedisServer
from .test_web_redis_store import everything_in
from .test_web_refresh import Clock
from .web_support import ALICE, Browser, identify, serve

K1, K2, K3 = (Fernet.generate_key() for _ in range(3))
pytestmark = pytest.mark.parametrize("adapter", ["aiohttp", "asgi"])


@contextlib.asynccontextmanager
async def replica(
    fake: FakeSignalWire, store: RedisTokenStore, clock: Clock, adapter: str, per_subscriber: tuple[int, float]
) -> AsyncIterator[Browser]:
    """One replica: its own client and mount, sharing only the fake space and Redis with the others."""
    async with fake.client() as client:
        tokens = BrowserTokens(client, identify=identify, store=store, clock=clock, per_subscriber=per_subscriber)
        async with serve(tokens, adapter) as browser:
            yield browser
    await store.aclose()


@contextlib.asynccontextmanager
async def fleet(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str, *keys: list[Any], per_subscriber: Any = (100, 60.0)
) -> AsyncIterator[tuple[Clock, list[Browser], list[RedisTokenStore]]]:
    clock = Clock()
    stores = [RedisTokenStore(redis_server.url, keys=each, lock_life=0.5) for each in keys or ([K1], [K1])]
    async with contextlib.AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(replica(fake, s, clock, adapter, per_subscriber)) for s in stores]
        yield clock, browsers, stores


def operations(fake: FakeSignalWire) -> list[str]:
    return [request.operation.removeprefix("fabric.subscriber_tokens.") for request in fake.requests]


async def test_two_replicas_refreshing_one_subscriber_at_once_make_one_refresh_call(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter) as (clock, (one, other), _):
        signed_in = await one.post("fabric/token")
        clock.now += 1.7 * 3600
        fake.delay(0.05, operation="fabric.subscriber_tokens.refresh")  # both ask while the refresh is in flight
        replies = await asyncio.gather(*(browser.post("fabric/refresh") for browser in (one, other, one, other)))
        assert [reply.status for reply in replies] == [200] * 4
        assert operations(fake) == ["create", "refresh"]
        assert len({reply.body for reply in replies}) == 1, "all answer with its SAT"
        # Nothing in Redis in the clear: not the reference, nor any SAT or refresh token minted.
        secrets = [ALICE, "alice", signed_in.json()["token"], replies[0].json()["token"], *fake.fabric.refresh_tokens]
        for name, value in everything_in(redis_server).items():
            for secret in secrets:
                assert secret.encode() not in name and secret.encode() not in value


async def test_a_session_begun_on_one_replica_is_refreshed_on_another(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter, [K1], [K2, K1]) as (clock, (old, rotated), _):
        await old.post("fabric/token")
        clock.now += 1.7 * 3600
        assert (await rotated.post("fabric/refresh")).status == 200
        assert operations(fake) == ["create", "refresh"], "a new key in front of the old: the session still opens"


async def test_a_session_no_key_opens_is_absent_and_the_refresh_mints_a_new_sat(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter, [K2, K1], [K3, K1]) as (clock, (sealed, other), _):
        first = await sealed.post("fabric/token")
        clock.now += 1.7 * 3600
        reply = await other.post("fabric/refresh")
        assert reply.status == 200 and reply.json()["token"] != first.json()["token"]
        assert operations(fake) == ["create", "create"]


async def test_a_replica_that_died_mid_refresh_blocks_the_next_no_longer_than_the_lock_life(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter) as (clock, (one, other), (dead, _)):
        await one.post("fabric/token")
        clock.now += 1.7 * 3600
        abandoned = dead.single_flight(ALICE)  # taken, and never given back: its replica died
        await abandoned.__aenter__()
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await other.post("fabric/refresh")
        assert reply.status == 200 and loop.time() - started < 0.5 + 0.3
        assert operations(fake) == ["create", "refresh"]
        # Left on this loop before the stores close, not by the collector after (see the store's own test).
        await abandoned.__aexit__(None, None, None)


async def test_per_subscriber_is_counted_by_the_fleet(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter, per_subscriber=(3, 60.0)) as (_, (one, other), _):
        assert [(await b.post("fabric/token")).status for b in (one, other, one)] == [200] * 3
        refused = await other.post("fabric/token")
        assert refused.status == 429 and 50 <= int(refused.headers["Retry-After"]) <= 60


async def test_redis_gone_is_a_503_with_retry_after_until_it_is_back(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str
) -> None:
    async with fleet(fake, redis_server, adapter) as (clock, (one, other), _):
        await one.post("fabric/token")
        redis_server.kill()
        for route in ("fabric/token", "fabric/refresh"):
            reply = await other.post(route)
            assert reply.status == 503, reply.body
            assert int(reply.headers["Retry-After"]) >= 1 and set(reply.json()) == {"error"}
        redis_server.start()  # empty: no persistence, as after a crash
        clock.now += 1.7 * 3600
        assert (await one.post("fabric/refresh")).status == 200, "back without a restart of the app"
        assert (await other.post("fabric/refresh")).status == 200
        assert operations(fake) == ["create", "create", "refresh"], "the lost session fell back to a new SAT"


class CountedHere(RedisTokenStore):
    """Sessions and locks in Redis, counts in this process: so a request gets past ``per_subscriber`` with Redis
    gone, and what the mint does with the store is what answers."""

    def __init__(self, url: str) -> None:
        super().__init__(url, keys=[K1])
        self._counts = MemoryTokenStore()

    async def admit(self, key: str, limit: int, period: float) -> float | None:
        return await self._counts.admit(key, limit, period)


@pytest.mark.parametrize("route", ["fabric/token", "fabric/refresh"])
async def test_a_store_gone_while_minting_is_a_503_never_a_500(
    fake: FakeSignalWire, redis_server: RedisServer, adapter: str, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with fake.client() as client:
        tokens = BrowserTokens(client, identify=identify, store=CountedHere(redis_server.url))
        async with serve(tokens, adapter) as browser:
            await browser.post("fabric/token")
            redis_server.kill()
            with caplog.at_level(logging.WARNING, "signalwire_tokens.web"):
                reply = await browser.post(route)
            assert reply.status == 503 and "Retry-After" in reply.headers, reply.body
            assert reply.json() == {"error": "the token store is unavailable: try again later"}
            assert "the token store unavailable (TokenStoreError" in caplog.text
