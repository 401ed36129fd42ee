"""RedisTokenStore on a real redis-server: sessions sealed under the app's keys (rotation keeps them; a value no key
opens is absent), key names that are keyed hashes, entries that expire with their refresh tokens, a fleet-wide lock
whose dead holder blocks nobody past its life, a fleet-wide window, and Redis out of reach as a TokenStoreError."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

pytest.importorskip("redis", reason="the web extra is not installed")
pytest.importorskip("cryptography", reason="the web extra is not installed")

from cryptography.fernet import Fernet
from redis import Redis as SyncRedis

from signalwire_tokens import InvalidRequestError, TransportError
from signalwire_tokens.web import RedisTokenStore, StoredSession, TokenStore, TokenStoreError

from .conftest import RedisServer

K1, K2, K3 = (Fernet.generate_key() for _ in range(3))
REFERENCE = "alice@example.com"


#: When every session of these tests was minted: one moment, so that two calls of session() are equal.
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def session(refresh_life: float = 7500.0) -> StoredSession:
    return StoredSession(
        "sat-" + "x" * 40, NOW + timedelta(hours=2), "rt-" + "y" * 40, NOW + timedelta(seconds=refresh_life)
    )


def ask(server: RedisServer, command: Callable[[SyncRedis], Any]) -> Any:
    """``command(redis)`` on a connection of its own to ``server``, closed after."""
    with SyncRedis.from_url(server.url) as redis:
        return command(redis)


def everything_in(server: RedisServer) -> dict[bytes, bytes]:
    """Every key in Redis and its value as bytes (a sorted set's members joined)."""
    with SyncRedis.from_url(server.url) as redis:
        return {
            key: redis.get(key) if redis.type(key) == b"string" else b" ".join(redis.zrange(key, 0, -1))
            for key in redis.scan_iter()
        }


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"keys": []}, "keys"),
        ({"keys": K1}, "keys"),
        ({"keys": K1.decode()}, "keys"),
        ({"keys": None}, "keys"),
        ({"keys": [K1, 42]}, "keys"),
        ({"keys": [b"c2hvcnQ="]}, "keys"),
        ({"keys": ["not base64 at all!"]}, "keys"),
        ({"keys": [K1], "url": "http://localhost:6379"}, "url"),
        ({"keys": [K1], "url": 6379}, "url"),
        ({"keys": [K1], "prefix": ""}, "prefix"),
        ({"keys": [K1], "lock_life": 0}, "lock_life"),
        ({"keys": [K1], "max_connections": 0}, "max_connections"),
    ],
)
def test_bad_arguments_are_refused_when_the_store_is_made(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RedisTokenStore(**{"url": "redis://localhost:6379/0", **arguments})
    assert caught.value.field == field
    assert "c2hvcnQ" not in str(caught.value), "never the key itself in a message"


def test_keys_as_text_or_bytes_and_a_repr_without_secrets() -> None:
    store = RedisTokenStore("redis://:hunter22@localhost:6380/3", keys=[K1.decode(), K2])
    assert isinstance(store, TokenStore)
    assert repr(store) == "RedisTokenStore('localhost:6380/3', keys=2, prefix='signalwire-tokens:web:')"


def test_without_the_extra_the_store_says_which_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    with pytest.raises(ImportError, match=r"signalwire-tokens\[web\]"):
        RedisTokenStore("redis://localhost:6379/0", keys=[K1])


async def test_a_session_is_sealed_under_a_hashed_name_and_expires_with_its_refresh_token(
    redis_server: RedisServer,
) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1])
    stored = session(7500)
    await store.put(REFERENCE, stored)
    assert await store.get(REFERENCE) == stored
    [(name, value)] = everything_in(redis_server).items()
    assert name.startswith(b"signalwire-tokens:web:session:")
    for secret in (REFERENCE, "alice", stored.token, stored.refresh_token, "x" * 10, "y" * 10):
        assert secret.encode() not in name and secret.encode() not in value
    ttl = ask(redis_server, lambda redis: redis.pttl(name))
    expected = (stored.refresh_expires_at.timestamp() - time.time()) * 1000
    assert ttl > 0 and abs(ttl - expected) < 2000
    await store.delete(REFERENCE)
    assert await store.get(REFERENCE) is None
    await store.aclose()


async def test_a_session_whose_refresh_token_already_expired_is_not_kept(redis_server: RedisServer) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1])
    await store.put(REFERENCE, session(-1))
    assert await store.get(REFERENCE) is None
    assert everything_in(redis_server) == {}
    await store.aclose()


async def test_rotation_keeps_every_entry_and_a_value_no_key_opens_is_absent(redis_server: RedisServer) -> None:
    old = RedisTokenStore(redis_server.url, keys=[K1])
    await old.put(REFERENCE, session())
    rotated = RedisTokenStore(redis_server.url, keys=[K2.decode(), K1])
    assert await rotated.get(REFERENCE) == session(), "a new key in front: the same names, the old key still opens"
    await rotated.put(REFERENCE, session(7000))  # sealed under K2 now
    assert len(everything_in(redis_server)) == 1, "the same name: replaced, not written beside"
    assert await old.get(REFERENCE) is None, "K1 alone does not open what K2 sealed"
    # Same oldest key (same names), but no key that opens K2's seal: absent.
    assert await RedisTokenStore(redis_server.url, keys=[K3, K1]).get(REFERENCE) is None
    for store in (old, rotated):
        await store.aclose()


async def test_a_fleet_wide_lock_is_held_by_one_store_at_a_time(redis_server: RedisServer) -> None:
    one, other = (RedisTokenStore(redis_server.url, keys=[K1]) for _ in range(2))
    held, entered = asyncio.Event(), asyncio.Event()

    async def second() -> None:
        await held.wait()
        async with other.single_flight(REFERENCE):
            entered.set()

    waiter = asyncio.ensure_future(second())
    async with one.single_flight(REFERENCE):
        held.set()
        async with other.single_flight("bob@example.com"):  # another subscriber does not wait
            pass
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(entered.wait()), 0.1)
    await asyncio.wait_for(waiter, 5)
    assert entered.is_set()
    assert everything_in(redis_server) == {}, "released: no lock left behind"
    for store in (one, other):
        await store.aclose()


async def test_a_holder_that_died_blocks_the_next_no_longer_than_the_lock_life(redis_server: RedisServer) -> None:
    dead = RedisTokenStore(redis_server.url, keys=[K1], lock_life=0.3)
    # Entered and never left (kept referenced, so nothing finalizes it): what a replica that died holding the lock
    # leaves behind.
    abandoned = dead.single_flight(REFERENCE)
    await abandoned.__aenter__()
    [lock] = everything_in(redis_server)
    assert 0 < ask(redis_server, lambda redis: redis.pttl(lock)) <= 300
    alive = RedisTokenStore(redis_server.url, keys=[K1], lock_life=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with alive.single_flight(REFERENCE):
        waited = loop.time() - started
    assert 0.15 < waited < 0.3 + 0.2
    # Left now, on this loop, before the stores close: a generator left to the collector would release its (long
    # expired) lock on a connection of its own after the pool closed, which redis-py before 8.2 leaves unclosed.
    await abandoned.__aexit__(None, None, None)
    for store in (dead, alive):
        await store.aclose()


async def test_a_waiter_gives_up_after_twice_its_lock_life(redis_server: RedisServer) -> None:
    slow = RedisTokenStore(redis_server.url, keys=[K1], lock_life=30.0)
    impatient = RedisTokenStore(redis_server.url, keys=[K1], lock_life=0.1)
    async with slow.single_flight(REFERENCE):
        with pytest.raises(TokenStoreError, match=r"past 0\.2 s") as caught:
            async with impatient.single_flight(REFERENCE):
                pass  # pragma: no cover - never entered
    assert isinstance(caught.value, TransportError) and not caught.value.request_sent
    for store in (slow, impatient):
        await store.aclose()


async def test_the_window_is_counted_across_the_fleet_under_a_hashed_name(redis_server: RedisServer) -> None:
    one, other = (RedisTokenStore(redis_server.url, keys=[K1]) for _ in range(2))
    key = f"subscriber:{REFERENCE}"
    assert [await store.admit(key, 3, 60.0) for store in (one, other, one)] == [None, None, None]
    wait = await other.admit(key, 3, 60.0)
    assert wait is not None and 50 < wait <= 60
    assert await one.admit("subscriber:bob@example.com", 3, 60.0) is None
    stored = everything_in(redis_server)
    assert len(stored) == 2 and all(name.startswith(b"signalwire-tokens:web:rate:") for name in stored)
    assert not any(b"example.com" in name for name in stored)
    ttls = ask(redis_server, lambda redis: [redis.pttl(name) for name in stored])
    assert all(0 < ttl <= 60_000 for ttl in ttls), "every window expires: nothing piles up"
    for store in (one, other):
        await store.aclose()


@pytest.mark.parametrize(
    "call",
    [
        lambda store: store.get(REFERENCE),
        lambda store: store.put(REFERENCE, session()),
        lambda store: store.delete(REFERENCE),
        lambda store: store.admit("subscriber:x", 3, 60.0),
        lambda store: store.single_flight(REFERENCE).__aenter__(),
    ],
    ids=["get", "put", "delete", "admit", "single_flight"],
)
async def test_redis_out_of_reach_is_a_token_store_error_until_it_is_back(redis_server: RedisServer, call: Any) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1])
    await store.get(REFERENCE)  # a pooled connection, which the crash breaks
    redis_server.kill()
    with pytest.raises(TokenStoreError) as caught:
        await call(store)
    assert f"127.0.0.1:{redis_server.port}/0" in str(caught.value)
    redis_server.start()
    await store.put(REFERENCE, session())
    assert await store.get(REFERENCE) == session()
    await store.aclose()


async def test_a_lock_that_cannot_be_released_expires_by_itself(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1])
    with caplog.at_level(logging.WARNING, "signalwire_tokens.web"):
        async with store.single_flight(REFERENCE):
            redis_server.kill()
    assert "expires by itself" in caplog.text
    await store.aclose()


def test_one_store_serves_one_event_loop_after_another_and_leaves_no_connection_open(
    redis_server: RedisServer,
) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1])
    asyncio.run(store.put(REFERENCE, session()))
    assert asyncio.run(store.get(REFERENCE)) == session()
    connections = ask(redis_server, lambda redis: len(redis.client_list()))
    assert connections == 1, "only this check's own connection: each loop closed its pool"


@pytest.mark.parametrize("options", [{}, {"max_connections": 2}])
async def test_more_requests_at_once_than_the_pool_holds_wait_for_a_connection(
    redis_server: RedisServer, options: dict[str, Any]
) -> None:
    store = RedisTokenStore(redis_server.url, keys=[K1], **options)
    await store.put(REFERENCE, session())
    found = await asyncio.gather(*(store.get(REFERENCE) for _ in range(300)))
    assert found == [session()] * 300
    connections = ask(redis_server, lambda redis: len(redis.client_list()))  # this one's included
    assert connections <= options.get("max_connections", 100) + 1
    await store.aclose()


async def test_a_store_never_used_on_this_loop_has_nothing_to_close() -> None:
    store = RedisTokenStore("redis://127.0.0.1:1/0", keys=[K1])  # nothing listens there: nothing is opened
    await store.aclose()
    await store.aclose()
