"""Memory while minting many chat tokens from a generator: RSS before, and its peak during, a create_many of N
tokens against a local server. Run by run.py in its own process.

    python benchmarks/memory.py URL [--n 100000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

from signalwire_tokens import ChatTokenRequest, SignalWireClient

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


async def mint(url: str, n: int, concurrency: int) -> dict[str, float]:
    samples: list[float] = []
    requests = (ChatTokenRequest(ttl=60, channels={"lobby": {"read": True}}, member_id=f"user-{i}") for i in range(n))
    async with SignalWireClient(None, PROJECT_ID, "PTbench", base_url=url, max_connections=concurrency) as client:
        # Warm up (session, pool, imports), then take the baseline.
        async for _ in client.chat_tokens.create_many(
            (ChatTokenRequest(ttl=60, channels={"lobby": {"read": True}}) for _ in range(2000)), concurrency=concurrency
        ):
            pass
        baseline = rss_mib()
        started = time.perf_counter()
        minted = 0
        async for item in client.chat_tokens.create_many(requests, concurrency=concurrency):
            minted += item.ok
            if item.index % 5000 == 0:
                samples.append(rss_mib())
        seconds = time.perf_counter() - started
    samples.append(rss_mib())
    return {
        "n": n,
        "minted": minted,
        "seconds": seconds,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": max(samples),
        "growth_mib": max(samples) - baseline,
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(mint(args.url, args.n, args.concurrency))))


if __name__ == "__main__":
    main()
