"""``MemoryTokenStore``: sessions kept until their refresh token expires and no longer (no unbounded growth),
one holder at a time per subscriber, and the sliding-window counter behind ``per_subscriber``, all on an injected
clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from signalwire_tokens.web import MemoryTokenStore, StoredSession, TokenStore

START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def session(refresh_life: float) -> StoredSession:
    start = datetime.fromtimestamp(START, timezone.utc)
    return StoredSession(
        "sat-" + "x" * 40, start + timedelta(hours=2), "refresh-" + "y" * 40, start + timedelta(seconds=refresh_life)
    )


def test_the_memory_store_is_a_token_store_and_its_sessions_mask_their_tokens() -> None:
    assert isinstance(MemoryTokenStore(), TokenStore)
    shown = repr(session(60))
    assert "x" * 10 not in shown and "y" * 10 not in shown


async def test_a_session_is_kept_until_its_refresh_token_expires() -> None:
    clock = Clock()
    store = MemoryTokenStore(clock=clock)
    await store.put("alice", session(7500))
    clock.now += 7499
    assert await store.get("alice") == session(7500)
    clock.now += 1
    assert await store.get("alice") is None
    assert len(store) == 0
    await store.put("bob", session(7500))
    await store.delete("bob")
    await store.delete("bob")
    assert await store.get("bob") is None


async def test_sessions_nobody_asks_for_again_are_swept() -> None:
    clock = Clock()
    store = MemoryTokenStore(clock=clock)
    for name in ("a", "b", "c"):
        await store.put(name, session(100))
    await store.admit("address:1", 5, 30.0)
    clock.now += 101
    await store.put("d", session(1000))
    assert len(store) == 1
    await store.aclose()


async def test_single_flight_holds_one_subscriber_at_a_time_and_others_freely() -> None:
    store = MemoryTokenStore()
    order: list[str] = []

    async def hold(reference: str, name: str) -> None:
        async with store.single_flight(reference):
            order.append(f"{name} in")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            order.append(f"{name} out")

    await asyncio.gather(hold("alice", "1"), hold("alice", "2"), hold("alice", "3"), hold("bob", "b"))
    alice = [step for step in order if step[0] != "b"]
    assert alice == ["1 in", "1 out", "2 in", "2 out", "3 in", "3 out"]
    assert order.index("b in") < order.index("1 out")  # another subscriber does not wait
    async with store.single_flight("alice"):  # released: taken at once again
        pass


async def test_admit_is_a_sliding_window_that_counts_only_what_it_admits() -> None:
    clock = Clock()
    store = MemoryTokenStore(clock=clock)
    assert [await store.admit("subscriber:alice", 2, 60.0) for _ in range(2)] == [None, None]
    clock.now += 15
    assert await store.admit("subscriber:alice", 2, 60.0) == 45.0
    assert await store.admit("subscriber:bob", 2, 60.0) is None
    clock.now += 45
    assert await store.admit("subscriber:alice", 2, 60.0) is None
    assert await store.admit("subscriber:alice", 2, 60.0) is None
    assert await store.admit("subscriber:alice", 2, 60.0) == 60.0


async def test_admit_lets_the_oldest_times_slide_out_of_the_window() -> None:
    clock = Clock()
    store = MemoryTokenStore(clock=clock)
    assert await store.admit("address:203.0.113.9", 2, 60.0) is None
    clock.now += 30
    assert await store.admit("address:203.0.113.9", 2, 60.0) is None
    clock.now += 31
    assert await store.admit("address:203.0.113.9", 2, 60.0) is None
    assert await store.admit("address:203.0.113.9", 2, 60.0) == 29.0
