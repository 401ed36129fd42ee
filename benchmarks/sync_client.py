"""SyncSignalWireClient against SignalWireClient: sequential ``chat_tokens.create`` calls on one thread, against
the trivial loopback server (``server.py``, in a process of its own), in alternating rounds (the order swaps each
round), medians reported. Also: 8 threads sharing one sync client against 8 tasks sharing one async client; one
thread against the server answering after 50 ms, as a real API would; ``create_many`` at concurrency 64; and the
cost of one call with no network at all (a transport that answers at once), which is the thread hop's own cost.

    python benchmarks/sync_client.py [--n 3000] [--rounds 5] [--threads 8] [--slow-n 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy
from run import machine, server

from signalwire_tokens import ChatTokenRequest, Request, Response, SignalWireClient, SyncSignalWireClient

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
API_TOKEN = "PT037258e533e87ac63174ee136ed0798dc85d4f4f9e6d7191"
CHANNELS = {"lobby": {"read": True, "write": True}}
WARM_UP = 100
BODY = json.dumps({"token": "eyJ0eXAiOiJWUlQiLCJhbGciOiJIUzUxMiJ9.eyJpYXQiOjE3OTU1MDc0OTJ9.c2lnbmF0dXJl"}).encode()
HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


class NullTransport:
    """A Transport that answers every request at once with a minted token: no network, only the library."""

    async def __call__(self, request: Request) -> Response:
        return Response(200, HEADERS, BODY, request, request.attempt)

    async def aclose(self) -> None:
        pass


def options(url: str | None) -> dict[str, Any]:
    return {"base_url": url} if url is not None else {"transport": NullTransport()}


def async_calls(url: str | None, n: int, tasks: int) -> float:
    """Calls per second: ``tasks`` tasks on one loop, each making its share of ``n`` calls one after another."""

    async def run() -> float:
        async with SignalWireClient("example", PROJECT_ID, API_TOKEN, **options(url)) as client:

            async def calls(count: int) -> None:
                for _ in range(count):
                    await client.chat_tokens.create(ttl=60, channels=CHANNELS)

            await calls(WARM_UP)
            started = time.perf_counter()
            await asyncio.gather(*(calls(n // tasks) for _ in range(tasks)))
            return n // tasks * tasks / (time.perf_counter() - started)

    return asyncio.run(run())


def sync_calls(url: str | None, n: int, threads: int) -> float:
    """Calls per second: ``threads`` threads sharing one sync client, each making its share of ``n`` calls."""
    with SyncSignalWireClient("example", PROJECT_ID, API_TOKEN, **options(url)) as client:

        def calls(count: int) -> None:
            for _ in range(count):
                client.chat_tokens.create(ttl=60, channels=CHANNELS)

        calls(WARM_UP)
        workers = [threading.Thread(target=calls, args=(n // threads,)) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return n // threads * threads / (time.perf_counter() - started)


def async_batch(url: str, n: int, concurrency: int) -> float:
    """Tokens per second of one ``create_many`` at ``concurrency``."""

    async def run() -> float:
        async with SignalWireClient("example", PROJECT_ID, API_TOKEN, base_url=url) as client:
            started, minted = time.perf_counter(), 0
            async for item in client.chat_tokens.create_many(requests(n), concurrency=concurrency):
                minted += item.ok
            return minted / (time.perf_counter() - started)

    return asyncio.run(run())


def sync_batch(url: str, n: int, concurrency: int) -> float:
    with SyncSignalWireClient("example", PROJECT_ID, API_TOKEN, base_url=url) as client:
        started, minted = time.perf_counter(), 0
        for item in client.chat_tokens.create_many(requests(n), concurrency=concurrency):
            minted += item.ok
        return minted / (time.perf_counter() - started)


def requests(n: int) -> Iterator[ChatTokenRequest]:
    return (ChatTokenRequest(ttl=60, channels=CHANNELS) for _ in range(n))


def rounds(plan: dict[str, Callable[[], float]], count: int) -> dict[str, float]:
    results: dict[str, list[float]] = defaultdict(list)
    names = list(plan)
    for r in range(count):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(plan[name]())
            print(f"  round {r + 1}: {name:50s} {results[name][-1]:9,.0f} calls/s", flush=True)
    return {name: statistics.median(values) for name, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="calls per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--slow-n", type=int, default=100, help="calls per measurement against the 50 ms server")
    args = parser.parse_args()
    n, k = args.n, args.threads
    with server(0.0) as url:
        loopback = rounds(
            {
                "SignalWireClient, one task": lambda: async_calls(url, n, 1),
                "SyncSignalWireClient, one thread": lambda: sync_calls(url, n, 1),
                f"SignalWireClient, {k} tasks": lambda: async_calls(url, n, k),
                f"SyncSignalWireClient, {k} threads": lambda: sync_calls(url, n, k),
                "SignalWireClient, create_many, concurrency 64": lambda: async_batch(url, n * 2, 64),
                "SyncSignalWireClient, create_many, concurrency 64": lambda: sync_batch(url, n * 2, 64),
            },
            args.rounds,
        )
    with server(0.05) as url:
        slow = rounds(
            {
                "SignalWireClient, one task, 50 ms": lambda: async_calls(url, args.slow_n, 1),
                "SyncSignalWireClient, one thread, 50 ms": lambda: sync_calls(url, args.slow_n, 1),
            },
            args.rounds,
        )
    loopback.update(slow)
    null = rounds(
        {
            "SignalWireClient, no network": lambda: async_calls(None, n * 5, 1),
            "SyncSignalWireClient, no network": lambda: sync_calls(None, n * 5, 1),
        },
        args.rounds,
    )
    print(f"\n{machine()}; {n:,} calls per measurement ({args.slow_n} at 50 ms), median of {args.rounds} rounds\n")
    print("| client | calls/s | sync / async |")
    print("| --- | ---: | ---: |")
    for sync_name, async_name in [
        ("SyncSignalWireClient, one thread", "SignalWireClient, one task"),
        (f"SyncSignalWireClient, {k} threads", f"SignalWireClient, {k} tasks"),
        ("SyncSignalWireClient, one thread, 50 ms", "SignalWireClient, one task, 50 ms"),
        ("SyncSignalWireClient, create_many, concurrency 64", "SignalWireClient, create_many, concurrency 64"),
    ]:
        print(f"| {async_name} | {loopback[async_name]:,.0f} | |")
        print(f"| {sync_name} | {loopback[sync_name]:,.0f} | {loopback[sync_name] / loopback[async_name]:.2f} |")
    async_us, sync_us = (1e6 / null[f"{kind}, no network"] for kind in ("SignalWireClient", "SyncSignalWireClient"))
    print(
        f"\nOne call with no network: {async_us:.1f} µs async, {sync_us:.1f} µs sync: the thread hop costs "
        f"{sync_us - async_us:.1f} µs a call."
    )


if __name__ == "__main__":
    main()
