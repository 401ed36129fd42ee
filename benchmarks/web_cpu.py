"""The browser endpoints' own CPU per request: ``web.py``'s backend (the mount's ``fabric/token`` and the guide's
hand-written re-issue, over one ``SignalWireClient``) with a transport that answers every mint at once, and the
browsers in the same process, so the one CPU clock counts everything a request costs. The two routes take turns,
the order alternating between rounds, so both meet the same drift of a shared machine; reported are the medians
of the rounds' CPU µs per request and of each round's difference (the mount's own cost), the steady figure where
``web.py``'s throughput moves with the machine's load.

    python benchmarks/web_cpu.py [--browsers 20] [--requests 50] [--rounds 16] [--profile PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import time

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from server import BODIES
from web import HANDWRITTEN, ROUTES, backend, chunk, sign_in

from signalwire_tokens import Request, Response

SAT = json.dumps(BODIES["sat"]).encode()
HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


class InstantTransport:
    """A Transport that answers every request at once with a SAT and its refresh token."""

    async def __call__(self, request: Request) -> Response:
        return Response(200, HEADERS, SAT, request, request.attempt)

    async def aclose(self) -> None:
        pass


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    runner = web.AppRunner(backend("https://example.signalwire.com", InstantTransport()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    browsers = await sign_in(f"http://127.0.0.1:{runner.addresses[0][1]}", args.browsers)
    rounds: dict[str, list[float]] = {name: [] for name in ROUTES}
    per_chunk = args.browsers * args.requests
    try:
        for path in ROUTES.values():  # warm: connections open, every path taken once
            await chunk(browsers, path, 5)
        names = list(ROUTES)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                started = time.process_time()
                await chunk(browsers, ROUTES[name], args.requests)
                rounds[name].append((time.process_time() - started) / per_chunk * 1e6)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await chunk(browsers, args.profile, args.requests)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    finally:
        for session in browsers:
            await session.close()
        await runner.cleanup()
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="per browser, per route, per round")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--profile", choices=ROUTES.values(), help="then profile this path once (cProfile, stderr)")
    args = parser.parse_args()
    rounds = asyncio.run(measure(args))
    mount = next(name for name in ROUTES if name != HANDWRITTEN)
    print(
        f"{args.browsers} browsers in the backend's process, {args.rounds} rounds of {args.requests} requests per"
        f" browser per route, mints answered at once; load average {os.getloadavg()[0]:.1f}\n\n"
        "| backend route | CPU µs/request (median of rounds) | min | max |\n| --- | ---: | ---: | ---: |"
    )
    for name, values in rounds.items():
        print(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
    differences = [a - b for a, b in zip(rounds[mount], rounds[HANDWRITTEN], strict=True)]
    print(
        f"\nthe mount's own cost: {statistics.median(differences):.0f} µs/request (median of the rounds' differences)"
    )


if __name__ == "__main__":
    main()
