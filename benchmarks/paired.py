"""The library against raw aiohttp, in short chunks taken in turn: the measurement for a shared machine.

On a virtualised machine the CPU's speed drifts by tens of percent over seconds, so two clients run one after the
other, a few seconds each, meet different machines. Here every client (raw aiohttp, and the library from each source
tree) is a process of its own that stays up, warm, with its session or client open, and runs a chunk of ``--chunk``
tokens when told; the driver tells them in turn (the order rotating), so each client's total is spread over the
whole run and meets the same drift. On a machine with two cores or more, the server (and this driver, which only
waits) run on the first and every client on the second: where the scheduler puts a client relative to the server
changes a concurrency-1 run by more than the effects measured. Reported: tokens/s over all chunks, the ratio to raw
aiohttp (total over total, and the median of the ratios of chunks taken back to back), and CPU µs per token.

    python benchmarks/paired.py after=. [before=/tmp/before] [--client library|library-create]
        [--concurrency 64] [--chunk 1000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from clients import create_chunk, library_client, many_chunk, raw_chunk, raw_session

HERE = Path(__file__).parent
RAW = "raw-aiohttp"


async def runner_for(kind: str, url: str, concurrency: int) -> Callable[[int], Awaitable[int]]:
    """A chunk of ``n`` tokens for ``kind``, over one session or client opened here and kept open between chunks."""
    if kind == RAW:
        session = raw_session(concurrency)
        return lambda n: raw_chunk(session, url, n, concurrency)
    client = library_client(url, concurrency)
    job = many_chunk if kind == "library" else create_chunk
    return lambda n: job(client, n, concurrency)


def serve(kind: str, url: str, concurrency: int) -> None:
    """A worker process: runs a chunk for each number read on stdin and answers with one JSON line."""
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[1]})
    with asyncio.Runner() as runner:
        chunk = runner.run(runner_for(kind, url, concurrency))
        runner.run(chunk(max(200, concurrency * 4)))  # warm: connections open, code paths taken once
        print("ready", flush=True)
        for line in sys.stdin:
            n = int(line)
            wall, cpu = time.perf_counter(), time.process_time()
            minted = runner.run(chunk(n))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(json.dumps({"minted": minted, "wall": wall, "cpu": cpu}), flush=True)


class Worker:
    def __init__(self, name: str, kind: str, tree: Path | None, url: str, concurrency: int) -> None:
        env = dict(os.environ)
        if tree is not None:
            env["PYTHONPATH"] = str(tree.resolve())  # before the installed package
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, __file__, "serve", kind, url, str(concurrency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start")

    def run(self, n: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{n}\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        if result["minted"] != n:
            raise RuntimeError(f"{self.name} minted {result['minted']} of {n}")
        return result

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", help="NAME=PATH of a source tree holding signalwire_tokens/")
    parser.add_argument("--client", choices=["library", "library-create"], default="library")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    from run import server

    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[0]})  # the server started below inherits it
    with server(0.0) as url:
        workers = [Worker(RAW, RAW, None, url, args.concurrency)]
        for name, path in (tree.split("=", 1) for tree in args.trees):
            workers.append(Worker(name, args.client, Path(path), url, args.concurrency))
        results: dict[str, list[dict[str, Any]]] = {w.name: [] for w in workers}
        try:
            for r in range(args.rounds):
                for worker in workers[r % len(workers) :] + workers[: r % len(workers)]:
                    results[worker.name].append(worker.run(args.chunk))
        finally:
            for worker in workers:
                worker.stop()
    raw = results[RAW]
    total = args.chunk * args.rounds
    print(
        f"{args.client} at concurrency {args.concurrency}: {args.rounds} rounds of {args.chunk:,} tokens per client,"
        " in turn\n\n| client | tokens/s | vs raw aiohttp | median of per-round ratios | CPU µs/token |"
        "\n| --- | ---: | ---: | ---: | ---: |"
    )
    raw_wall = sum(r["wall"] for r in raw)
    for name, runs in results.items():
        wall = sum(r["wall"] for r in runs)
        paired = statistics.median(b["wall"] / a["wall"] for a, b in zip(runs, raw, strict=True))
        cpu = sum(r["cpu"] for r in runs) / total * 1e6
        print(f"| {name} | {total / wall:,.0f} | {raw_wall / wall:.3f} | {paired:.3f} | {cpu:.1f} |")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
