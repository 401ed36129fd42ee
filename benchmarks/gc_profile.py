"""Where the garbage collector's share of the library's overhead comes from, against the raw aiohttp loop.

CPython starts a young collection when the number of GC-tracked objects allocated minus those freed since the last
collection passes 700; a free never takes that count below zero. So a program whose event-loop steps each allocate
and free about as much (the raw loop: a worker ends one request and starts the next in the same step) rarely
collects, while one whose steps allocate a request's objects in one step and free them in another collects far more
often: the count is a random walk reflected at zero, and it reaches 700 sooner the larger its steps. This script
measures, per token, for each client in a process of its own against the trivial loopback server:

- the collections and the time spent in them (``gc.callbacks``), with the collector on as users run it;
- the churn: the sum over event-loop steps of (tracked objects allocated - freed in that step) squared, measured in
  a second run with the collector off and an offset that keeps the count away from zero;
- for the library, the share of rows handed straight to a waiting consumer (whose worker starts its next row in the
  same step, as the raw loop does).

    python benchmarks/gc_profile.py [--n 5000] [--concurrency 64 16 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import clients  # noqa: E402  (beside this file, found through the path set above)
from run import server  # noqa: E402


def collections_run(name: str, url: str, n: int, concurrency: int) -> dict[str, float]:
    started_at = [0.0]
    spent = [0.0]
    counts = [0, 0, 0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started_at[0]
            counts[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(callback)
    try:
        asyncio.run(clients.CLIENTS[name](url, n, concurrency))
    finally:
        gc.callbacks.remove(callback)
    return {
        "young_per_1000": counts[0] / n * 1000,
        "older_per_1000": (counts[1] + counts[2]) / n * 1000,
        "gc_us_per_token": spent[0] / n * 1e6,
    }


def churn_run(name: str, url: str, n: int, concurrency: int) -> dict[str, float]:
    """Sum of squared net allocations per event-loop step, per token (the collector off, so nothing resets it)."""
    squares = [0]
    original = asyncio.events.Handle._run

    def run_and_count(handle: asyncio.Handle) -> None:
        before = gc.get_count()[0]
        original(handle)
        squares[0] += (gc.get_count()[0] - before) ** 2

    offset = [[] for _ in range(200_000)]  # live tracked objects: the count stays far above zero  # noqa: F841
    gc.collect()
    gc.disable()
    asyncio.events.Handle._run = run_and_count  # type: ignore[method-assign]
    try:
        asyncio.run(clients.CLIENTS[name](url, n, concurrency))
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
        gc.enable()
    return {"churn_per_token": squares[0] / n}


def hand_over_run(url: str, n: int, concurrency: int) -> dict[str, float]:
    from signalwire_tokens import _batch_pool

    given = [0]
    original = _batch_pool.Pool.give

    def give(pool: Any, item: Any) -> bool:
        taken = original(pool, item)
        given[0] += taken
        return taken

    _batch_pool.Pool.give = give  # type: ignore[method-assign]
    try:
        asyncio.run(clients.library(url, n, concurrency))
    finally:
        _batch_pool.Pool.give = original  # type: ignore[method-assign]
    return {"handed_over": given[0] / n}


def child(name: str, url: str, n: int, concurrency: int) -> None:
    asyncio.run(clients.CLIENTS[name](url, min(n, 200), concurrency))  # imports and connections warmed up
    result: dict[str, Any] = {"client": name, "concurrency": concurrency}
    result.update(collections_run(name, url, n, concurrency))
    result.update(churn_run(name, url, n, concurrency))
    if name == "library":
        result.update(hand_over_run(url, n, concurrency))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", nargs="?", default="run", choices=["run", "child"])
    parser.add_argument("--client", default="library")
    parser.add_argument("--url", default="")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 16, 1])
    args = parser.parse_args()
    if args.role == "child":
        child(args.client, args.url, args.n, args.concurrency[0])
        return
    rows = []
    with server(0.0) as url:
        for concurrency in args.concurrency:
            for name in ("raw-aiohttp", "library"):
                command = [sys.executable, __file__, "child", "--client", name, "--url", url, "--n", str(args.n)]
                out = subprocess.run([*command, "--concurrency", str(concurrency)], capture_output=True, text=True)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    columns = ["client", "concurrency", "young collections per 1,000 tokens", "older", "µs in the collector per token"]
    print("| " + " | ".join([*columns, "churn per token", "rows handed over"]) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        handed = f"{row['handed_over']:.0%}" if "handed_over" in row else "-"
        print(
            f"| {row['client']} | {row['concurrency']} | {row['young_per_1000']:.1f} | {row['older_per_1000']:.1f} |"
            f" {row['gc_us_per_token']:.1f} | {row['churn_per_token']:,.0f} | {handed} |"
        )


if __name__ == "__main__":
    main()
