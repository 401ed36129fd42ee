"""Running at SignalWire's rate limit: one process with LocalRateLimit, four processes sharing RedisRateLimit, and
the same four with no shared limiter (each batch's AIMD alone) as the baseline.

SignalWire's window (13,800 per 10 s) is scaled down to the same rate in a shorter period, 2,760 per 2 s, so a run
takes seconds. The fake space runs in its own process (``signalwire-tokens fake-space serve --rate-limit 2760/2
--latency 0.08``), restarted for each scenario so no scenario inherits another's window; every client runs in its
own process, minting from an endless input for ``--windows`` periods. Achieved rate: the steady rate (see
``scenario``) against the window's rate (1,380/s). The limiters get the fake's own window: they keep the arrivals'
margin themselves (README, "Running at the rate limit"). ``RATELIMIT_MARGIN`` (default 1.0) stretches the period
given to them, to measure a library from before that change (which needed 1.02 by hand) side by side.

    apt-get install redis-server          # for the fleet scenario (started here on a free loopback port)
    python benchmarks/ratelimit.py        # about 1 minute; writes results/ratelimit.json and ratelimit.png

``--defaults`` runs instead what a new user gets with the library's defaults (no limiter, no ``max_rate``, the
default retry policy): a fixed number of rows, one process at concurrency 256 and four processes at 128 each (then
with ``max_rate=1380`` each), reporting rows minted and failed, 429s, the steady rate and the time to finish. With
``--library NAME=PATH`` (repeatable) the workers import the library from each source tree in turn, so a before and an
after are measured in one run, in alternating order::

    git worktree add /tmp/before <rev>
    python benchmarks/ratelimit.py --defaults --library before=/tmp/before --library after=.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
LIMIT, PERIOD, LATENCY = 2760, 2.0, 0.08
MARGIN = float(os.environ.get("RATELIMIT_MARGIN", "1.0"))  # the limiters' period, relative to the API's


def chat_requests(rows: int) -> Iterator[Any]:
    """``rows`` requests, or an endless input when 0."""
    from signalwire_tokens import ChatTokenRequest

    made = 0
    while not rows or made < rows:
        made += 1
        yield ChatTokenRequest(ttl=60, channels={"lobby": {"read": True}})


async def worker(args: argparse.Namespace) -> None:
    """One process of a scenario: mint until the run's end, print what it saw as JSON."""
    from signalwire_tokens import LocalRateLimit, RedisRateLimit, SignalWireClient

    limiter: Any = None
    if args.limiter == "local":
        limiter = LocalRateLimit(LIMIT, period=PERIOD * MARGIN)
    elif args.limiter == "redis":
        limiter = RedisRateLimit(args.redis, LIMIT, period=PERIOD * MARGIN)
    client = SignalWireClient.from_env(rate_limit=limiter, max_connections=args.concurrency)
    done: list[float] = []
    failed = 0
    errors: set[str] = set()
    await asyncio.sleep(max(0.0, args.start_at - time.time()))  # every process of the scenario starts together
    end = args.start_at + args.duration
    async with client:
        batch = client.chat_tokens.create_many(
            chat_requests(args.rows), concurrency=args.concurrency, max_rate=args.max_rate
        )
        async with batch:
            async for item in batch:
                now = time.time()
                if now >= end and not args.rows:
                    break
                if item.ok:
                    done.append(now)
                else:
                    failed += 1
                    errors.add(f"{type(item.error).__name__}: {item.error}"[:200])
        report = {"done": done, "failed": failed, "throttled": batch.flow.throttled, "errors": sorted(errors)[:5]}
        print(json.dumps(report))


def start_fake() -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [sys.executable, "-m", "signalwire_tokens.cli", "fake-space", "serve"]
    command += ["--rate-limit", f"{LIMIT}/{PERIOD:g}", "--latency", str(LATENCY)]
    fake = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    env = dict(os.environ)
    assert fake.stdout is not None
    for line in fake.stdout:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value
            if name == "SIGNALWIRE_BASE_URL":
                break
    return fake, env


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1"]
    redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.01)
    return redis, f"redis://127.0.0.1:{port}/0"


def scenario(
    name: str,
    processes: int,
    limiter: str,
    concurrency: int,
    windows: int,
    redis: str,
    *,
    rows: int = 0,
    max_rate: float | None = None,
    library: Path | None = None,
) -> dict[str, Any]:
    """``rows`` per process (0: mint for ``windows`` periods); ``library``: the source tree the workers import."""
    fake, env = start_fake()
    if library is not None:
        env["PYTHONPATH"] = str(library.resolve())  # before the installed package on the path
    try:
        start_at = time.time() + 2.0  # time for the workers to import and connect
        duration = windows * PERIOD
        command = [sys.executable, __file__, "worker", "--limiter", limiter, "--redis", redis]
        command += ["--concurrency", str(concurrency), "--start-at", str(start_at), "--duration", str(duration)]
        command += ["--rows", str(rows)] + (["--max-rate", str(max_rate)] if max_rate else [])
        workers = [subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True) for _ in range(processes)]
        outputs = [json.loads(w.communicate()[0]) for w in workers]
    finally:
        fake.terminate()
        fake.wait()
    times = sorted(t - start_at for out in outputs for t in out["done"])
    # A sliding window replays its first window's pattern every period, so "tokens in the run / run time" would
    # credit a limiter for whatever burst it started with. The steady rate is k windows' worth of tokens divided by
    # the time they took: from the first token to the first token of the next window's worth.
    windows_done = (len(times) - 1) // LIMIT
    rate = windows_done * LIMIT / (times[windows_done * LIMIT] - times[0]) if windows_done else len(times) / duration
    return {
        "name": name,
        "processes": processes,
        "limiter": limiter,
        "concurrency_per_process": concurrency,
        "duration_s": duration,
        "minted": len(times),
        "failed": sum(out["failed"] for out in outputs),
        "throttled_429": sum(out["throttled"] for out in outputs),
        "errors": sorted({e for out in outputs for e in out["errors"]})[:5],
        "finished_s": round(times[-1], 2) if rows else None,
        "tokens_per_s": round(rate, 1),
        "share_of_window": round(rate / (LIMIT / PERIOD), 3),
        "times": times,
    }


def plot(results: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    width = 0.1
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for result in results:
        bins = [0] * int(result["duration_s"] / width + 1)
        for t in result["times"]:
            if 0 <= t < result["duration_s"]:
                bins[int(t / width)] += 1
        rates = [count / width for count in bins]
        label = f"{result['name']}: {result['tokens_per_s']:,.0f}/s, {result['throttled_429']} × 429"
        axes.step([i * width for i in range(len(bins))], rates, where="post", label=label, linewidth=1)
    window = f"window rate {LIMIT / PERIOD:,.0f}/s"
    axes.axhline(LIMIT / PERIOD, color="black", linestyle="--", linewidth=1, label=window)
    axes.set_xlabel("seconds")
    axes.set_ylabel("tokens per second (100 ms bins)")
    latency = f"{LATENCY * 1000:.0f} ms latency"
    axes.set_title(f"Chat tokens against a sliding window of {LIMIT:,} per {PERIOD:g} s, {latency}")
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", nargs="?", default="run", choices=["run", "worker"])
    parser.add_argument("--limiter", choices=["local", "redis", "none"], default="local")
    parser.add_argument("--redis", default="")
    parser.add_argument("--concurrency", type=int, default=0, help="per process (default: 128 for one, 64 for four)")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--windows", type=int, default=5, help="periods per scenario (default 5: 10 s)")
    parser.add_argument("--only", type=int, nargs="*", help="run only these scenarios (0, 1, 2)")
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)  # a worker's fixed input
    parser.add_argument("--max-rate", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--defaults", action="store_true", help="the library's defaults on a fixed input instead")
    parser.add_argument("--library", action="append", default=[], help="NAME=PATH: a source tree to import from")
    args = parser.parse_args()
    if args.role == "worker":
        asyncio.run(worker(args))
        return
    if args.defaults:
        run_defaults(dict(item.split("=", 1) for item in args.library) or {"installed": ""})
        return
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not on PATH: apt-get install redis-server (or run one and adapt --redis)")
    redis, url = start_redis()
    try:
        scenarios = [
            ("1 process, LocalRateLimit", 1, "local", args.concurrency or 128),
            ("4 processes, RedisRateLimit on one key", 4, "redis", args.concurrency or 64),
            ("4 processes, no shared limiter (AIMD alone)", 4, "none", args.concurrency or 64),
        ]
        chosen = [scenarios[i] for i in args.only] if args.only else scenarios
        results = [scenario(*s, args.windows, url) for s in chosen]
    finally:
        redis.terminate()
        redis.wait()
    print(f"window {LIMIT:,} per {PERIOD:g} s ({LIMIT / PERIOD:,.0f}/s), latency {LATENCY * 1000:.0f} ms")
    print(f"{'scenario':48s} {'tokens/s':>9s} {'of window':>9s} {'429s':>6s} {'failed':>6s}")
    for r in results:
        print(
            f"{r['name']:48s} {r['tokens_per_s']:9,.0f} {r['share_of_window']:9.3f}"
            f" {r['throttled_429']:6d} {r['failed']:6d}"
        )
        for error in r["errors"]:
            print(f"    {error}")
    (HERE / "results").mkdir(exist_ok=True)
    summary = [{k: v for k, v in r.items() if k != "times"} for r in results]
    (HERE / "results" / "ratelimit.json").write_text(json.dumps(summary, indent=2) + "\n")
    if plot(results, HERE / "ratelimit.png"):
        print("plot: benchmarks/ratelimit.png")
    else:
        print("matplotlib is not installed: no plot")


def run_defaults(libraries: dict[str, str]) -> None:
    """The defaults on a fixed input: 13,800 rows (five windows) in one process, or 3,450 in each of four."""
    scenarios = [
        ("1 process, defaults, concurrency 256", 1, 256, None),
        ("4 processes, defaults, concurrency 128", 4, 128, None),
        ("4 processes, defaults, max_rate=1380 each", 4, 128, 1380.0),
    ]
    results = []
    for index, (name, processes, concurrency, max_rate) in enumerate(scenarios):
        order = list(libraries.items())
        for library, path in order[index % len(order) :] + order[: index % len(order)]:  # alternate the order
            result = scenario(
                f"{library}: {name}",
                processes,
                "none",
                concurrency,
                0,
                "",
                rows=5 * LIMIT // processes,
                max_rate=max_rate,
                library=Path(path) if path else None,
            )
            results.append(result)
            print(
                f"{result['name']:52s} minted {result['minted']:6,d} failed {result['failed']:5,d}"
                f" 429s {result['throttled_429']:5,d} steady {result['share_of_window']:.3f}"
                f" of the window, finished in {result['finished_s']:.1f} s",
                flush=True,
            )
            for error in result["errors"]:
                print(f"    {error}")
    (HERE / "results").mkdir(exist_ok=True)
    summary = [{k: v for k, v in r.items() if k != "times"} for r in results]
    (HERE / "results" / "ratelimit-defaults.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
