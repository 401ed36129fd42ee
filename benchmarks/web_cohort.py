"""A cohort of browsers on a fleet: 10,000 subscribers sign in within a minute, then each refreshes as its SAT nears
expiry, through two backend processes (each a ``BrowserTokens`` on a ``RedisTokenStore`` and a ``SignalWireClient``
limited by one shared ``RedisRateLimit``) over one redis-server, against the fake space on loopback (its own process,
SignalWire's window of 13,800 requests per 10 s, answering after 50 ms). Every refresh goes to the other replica
than the sign-in did, as a load balancer may send it.

The SAT's two hours are scaled down: both backends run the mount on a clock ``--speed`` times as fast as the wall's
(120: a two-hour SAT lasts a minute, ``expiry_jitter``'s 10 % six seconds), and each browser refreshes two scaled
minutes (one second) before its SAT expires. Run once without jitter and once with the default 0.1. Reported: 429s
from the API, sessions whose SAT expired before their refresh answered, refresh tokens spent twice (the fake
refuses a second use), and the peak of refresh requests per second; ``--plot PNG`` draws refreshes per second.

    python benchmarks/web.py cohort [--subscribers 10000] [--within 60] [--speed 120] [--plot benchmarks/web_cohort.png]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

HERE = Path(__file__).parent
PROJECT = "ea14556a-984f-11ee-b9d1-0242ac120002"
API_TOKEN = "PT" + "0" * 48
REFRESH_OPERATION = "fabric.subscriber_tokens.refresh "
#: How long before its SAT's expiry (scaled seconds) a browser asks to refresh.
REFRESH_AHEAD = 120.0


def serve_fake(latency: float) -> None:
    """The API's process: prints ``listening on URL``, counts answers by operation and status, and prints them as
    JSON when terminated."""
    from signalwire_tokens.testing import FakeSignalWire

    async def main() -> None:
        counts: collections.Counter[str] = collections.Counter()
        fake = FakeSignalWire(project_id=PROJECT, api_token=API_TOKEN, latency=latency, keep_requests=100)
        fake.rate_limit()  # SignalWire's: 13,800 in any 10 s
        fake.observe(lambda request, status, _elapsed: counts.update([f"{request.operation} {status}"]))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with fake:
            print(f"listening on {fake.url}", flush=True)
            await stop.wait()
        print(json.dumps(dict(counts)), flush=True)

    asyncio.run(main())


def serve_app(api: str, redis_url: str, key: str, start: float, speed: float, jitter: float) -> None:
    """One replica: prints ``listening on PORT``, then serves until terminated."""
    from signalwire_tokens import RedisRateLimit, SignalWireClient
    from signalwire_tokens.web import BrowserTokens, RedisTokenStore, Subscriber

    logging.basicConfig(level=logging.WARNING, format=f"replica {os.getpid()}: %(message)s")

    def clock() -> float:
        return start + (time.time() - start) * speed

    async def identify(request: web.Request) -> Subscriber | None:
        email = request.cookies.get("session")
        return Subscriber(email) if email else None

    async def main() -> None:
        limiter = RedisRateLimit(redis_url)  # SignalWire's window, shared by both replicas through the project id
        client = SignalWireClient(None, PROJECT, API_TOKEN, base_url=api, rate_limit=limiter, max_connections=500)
        store = RedisTokenStore(redis_url, keys=[key])
        tokens = BrowserTokens(client, identify=identify, store=store, expiry_jitter=jitter, clock=clock)
        app = web.Application()
        app.add_subapp("/signalwire", tokens.aiohttp_app())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
        print(f"listening on {runner.addresses[0][1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()
        await client.aclose()
        await store.aclose()
        await limiter.aclose()

    asyncio.run(main())


@contextlib.contextmanager
def process(*argv: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A process of this script (or redis-server) that prints ``... listening on WHERE`` first: WHERE and it."""
    child = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield child.stdout.readline().split()[-1], child
    finally:
        child.terminate()
        child.wait(30)


async def drive(bases: list[str], args: argparse.Namespace, start: float) -> dict[str, Any]:
    """Every subscriber signs in at its moment of the first minute, then refreshes once, on the other replica."""
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.time()  # wall seconds to loop seconds
    sessions = [ClientSession(base, connector=TCPConnector(limit=args.connections)) for base in bases]
    rng = random.Random(args.seed)
    statuses: collections.Counter[str] = collections.Counter()
    refreshes: list[float] = []  # when each refresh was asked, seconds after the first sign-in could be
    latencies: list[float] = []
    expired = 0
    begin = loop.time() + 1.0

    def to_loop(expires_at_ms: int) -> float:  # a scaled expiry, as the browser's wall clock will see it
        return start + (expires_at_ms / 1000 - start) / args.speed + offset

    async def post(replica: int, route: str, email: str) -> dict[str, Any]:
        """The answer to ``route``, asked again after ``Retry-After`` (as a page would) while it is a 503 or 429."""
        headers = {"Origin": bases[replica], "Cookie": f"session={email}"}
        for _ in range(5):
            async with sessions[replica].post(f"/signalwire/{route}", json={}, headers=headers) as response:
                statuses[f"{route} {response.status}"] += 1
                body: dict[str, Any] = await response.json()
                if response.status == 200:
                    return body
                if response.status not in (429, 503):
                    break
                await asyncio.sleep(float(response.headers["Retry-After"]))
        raise RuntimeError(f"{route} answered {response.status}: {body}")

    async def subscriber(i: int, at: float) -> None:
        nonlocal expired
        email = f"user-{i}@example.com"
        await asyncio.sleep(max(0.0, begin + at - loop.time()))
        expires = to_loop((await post(i % 2, "fabric/token", email))["expiresAt"])
        await asyncio.sleep(max(0.0, expires - REFRESH_AHEAD / args.speed - loop.time()))
        asked = loop.time()
        refreshes.append(asked - begin)
        await post((i + 1) % 2, "fabric/refresh", email)
        latencies.append(loop.time() - asked)
        expired += loop.time() > expires

    try:
        await asyncio.gather(*(subscriber(i, rng.uniform(0, args.within)) for i in range(args.subscribers)))
    finally:
        for session in sessions:
            await session.close()
    per_second = collections.Counter(int(t) for t in refreshes)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "statuses": dict(statuses),
        "expired": expired,
        "per_second": [per_second.get(s, 0) for s in range(max(per_second) + 1)],
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def run(args: argparse.Namespace, jitter: float) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    start = time.time()
    me = [sys.executable, str(HERE / "web.py"), "cohort"]
    sys.path.insert(0, str(HERE.parent / "examples"))
    from browser_sdk_fleet import redis_server  # the fleet recipe's throwaway redis-server

    with redis_server() as redis_url, process(*me, "--fake", str(args.latency)) as (api, fake):
        with contextlib.ExitStack() as stack:
            app = [*me, "--app", api, redis_url, key, repr(start), str(args.speed), str(jitter)]
            ports = [stack.enter_context(process(*app))[0] for _ in range(2)]
            result = asyncio.run(drive([f"http://127.0.0.1:{port}" for port in ports], args, start))
        fake.terminate()
        assert fake.stdout is not None
        result["api"] = json.loads(fake.stdout.read().strip().splitlines()[-1])
    return result


def plot(results: dict[str, dict[str, Any]], path: str, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4))
    for label, result in results.items():
        axes.plot(range(len(result["per_second"])), result["per_second"], label=label)
    axes.set_xlabel(f"seconds since the first sign-in (the mount's clock {args.speed:g}x: a 2 h SAT lasts a minute)")
    axes.set_ylabel("refresh requests per second")
    axes.set_title(
        f"{args.subscribers:,} subscribers signing in within {args.within:g} s, then refreshing, on 2 replicas"
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--speed", type=float, default=120.0, help="how much faster the mount's clock runs")
    parser.add_argument("--latency", type=float, default=0.05, help="the API's answer time, seconds")
    parser.add_argument("--connections", type=int, default=200, help="per replica, from the browsers")
    parser.add_argument("--within", type=float, default=60.0, help="every subscriber signs in within this many s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", help="draw refreshes per second to this PNG")
    args = parser.parse_args()
    results = {}
    for label, jitter in (("expiry_jitter=0", 0.0), ("expiry_jitter=0.1 (the default)", 0.1)):
        results[label] = result = run(args, jitter)
        print(f"{label}: {json.dumps({k: v for k, v in result.items() if k != 'per_second'})}", file=sys.stderr)
    print(
        f"{args.subscribers:,} subscribers signing in within {args.within:g} s, 2 replicas, the mount's clock"
        f" {args.speed:g}x, the API answering after {args.latency * 1000:.0f} ms\n\n"
        "| | 429s | 503s | SAT expired before its refresh answered | refreshes |"
        " refresh tokens spent twice | peak refreshes/s | refresh p50 ms | p99 ms |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for label, result in results.items():
        api = result["api"]
        # The API's 429s and the mount's own (per_subscriber) alike.
        throttled = sum(count for name, count in [*api.items(), *result["statuses"].items()] if name.endswith(" 429"))
        unavailable = sum(count for name, count in result["statuses"].items() if name.endswith(" 503"))
        refreshes = [(name.split()[-1], count) for name, count in api.items() if name.startswith(REFRESH_OPERATION)]
        refreshed = sum(count for status, count in refreshes if status.startswith("2"))
        twice = sum(count for status, count in refreshes if status.startswith("4"))  # the fake refuses a reuse
        print(
            f"| {label} | {throttled} | {unavailable} | {result['expired']} | {refreshed:,} | {twice} |"
            f" {max(result['per_second'])} | {result['p50_ms']:.0f} | {result['p99_ms']:.0f} |"
        )
    if args.plot:
        plot(results, args.plot, args)


def dispatch(argv: list[str]) -> None:
    """``web.py cohort ...``: the driver; ``--fake LATENCY`` and ``--app ...``: its processes."""
    if argv[:1] == ["--fake"]:
        serve_fake(float(argv[1]))
    elif argv[:1] == ["--app"]:
        api, redis_url, key, start, speed, jitter = argv[1:7]
        serve_app(api, redis_url, key, float(start), float(speed), float(jitter))
    else:
        sys.argv = [sys.argv[0], *argv]
        main()
