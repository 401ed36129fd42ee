"""The token caches for a backend that hands a token to every page view: 10,000 page views by 500 users (a random
user per view, seeded), 200 in flight at once, against the fake space on loopback answering after 50 ms, once
minting a token per view (``chat_tokens.create``) and once through ``chat_tokens.cache()``, in one run; then the
same for subscriber access tokens (``fabric.subscriber_tokens.create`` and ``.cache()``, one SAT per subscriber).
The fake runs in its own process, so its work does not slow the client's. Prints a markdown table: requests the fake
received, page views per second, and the p50/p99 latency of a page view.

    python benchmarks/cache.py [--views 10000] [--users 500] [--in-flight 200] [--latency 0.05] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection

from signalwire_tokens import SignalWireClient
from signalwire_tokens.testing import FakeSignalWire

CHANNELS = {"lobby": {"read": True, "write": True}}
TTL = 60

PageView = Callable[[str], Awaitable[object]]


def serve(conn: Connection, latency: float) -> None:
    """The fake space, in a process of its own: sends its URL and credentials, then answers each ``"count"`` with
    the requests received so far, until ``"stop"``."""

    async def main() -> None:
        async with FakeSignalWire(latency=latency) as fake:
            conn.send((fake.url, fake.project_id, fake.api_token))
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, conn.recv) == "count":
                conn.send(len(fake.requests))

    asyncio.run(main())


async def run(view: PageView, users: list[str], in_flight: int) -> tuple[float, list[float]]:
    """Every page view of ``users``, ``in_flight`` at a time; the wall time and each view's latency in seconds."""
    pending = iter(users)
    latencies: list[float] = []

    async def visitor() -> None:
        for user in pending:
            started = time.perf_counter()
            await view(user)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(visitor() for _ in range(in_flight)))
    return time.perf_counter() - started, latencies


async def measure(conn: Connection, args: argparse.Namespace) -> list[tuple[str, int, int, float, float, float]]:
    url, project_id, api_token = conn.recv()
    rng = random.Random(args.seed)
    users = [f"user-{rng.randrange(args.users)}" for _ in range(args.views)]

    def received() -> int:
        conn.send("count")
        count: int = conn.recv()
        return count

    rows = []

    async def scenario(name: str, view: PageView) -> None:
        before = received()
        seconds, latencies = await run(view, users, args.in_flight)
        cuts = statistics.quantiles(latencies, n=100)
        rows.append((name, len(latencies), received() - before, len(latencies) / seconds, cuts[49], cuts[98]))

    def make_client() -> SignalWireClient:
        return SignalWireClient(None, project_id, api_token, base_url=url, max_connections=args.in_flight)

    async with make_client() as client:

        async def create(user: str) -> object:
            return await client.chat_tokens.create(ttl=TTL, channels=CHANNELS, member_id=user)

        await scenario("no cache: `chat_tokens.create` per view", create)

    async with make_client() as client:
        cache = client.chat_tokens.cache()

        async def cached(user: str) -> object:
            return await cache.get(ttl=TTL, channels=CHANNELS, member_id=user)

        await scenario("`chat_tokens.cache()`, cold (starts empty)", cached)
        await scenario("`chat_tokens.cache()`, warm (the same views again)", cached)

    # The Browser SDK's sign-in: a subscriber access token (SAT) per page view, or one per subscriber, cached.
    async with make_client() as client:

        async def create_sat(user: str) -> object:
            return await client.fabric.subscriber_tokens.create(f"{user}@example.com")

        await scenario("no cache: `fabric.subscriber_tokens.create` per view", create_sat)

    async with make_client() as client:
        sats = client.fabric.subscriber_tokens.cache()

        async def cached_sat(user: str) -> object:
            return await sats.get(f"{user}@example.com")

        await scenario("`fabric.subscriber_tokens.cache()`, cold", cached_sat)
        await scenario("`fabric.subscriber_tokens.cache()`, warm", cached_sat)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(theirs, args.latency))
    server.start()
    try:
        rows = asyncio.run(measure(ours, args))
    finally:
        ours.send("stop")
        server.join(10)
    print(
        f"{args.views:,} page views by {args.users} users, {args.in_flight} in flight, "
        f"fake space answering after {args.latency * 1000:.0f} ms\n"
    )
    print("| | page views | requests to the API | page views/s | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, views, requests, rate, p50, p99 in rows:
        print(f"| {name} | {views:,} | {requests:,} | {rate:,.0f} | {p50 * 1000:.3f} | {p99 * 1000:.3f} |")


if __name__ == "__main__":
    main()
