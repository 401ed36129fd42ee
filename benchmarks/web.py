"""The browser endpoints' mount against the handler SignalWire's docs show, side by side in one run.

200 browsers (aiohttp client sessions, each signed in with a session cookie of its own) ask a backend for SATs as
fast as it answers; the API (``server.py --body sat``) answers after 50 ms. The backend runs in its own process and
serves two routes over one ``SignalWireClient``: the mount's ``fabric/token``, and the Browser SDK guide's Node
snippet "re-issue against the user's session" written by hand (the session cookie looked up, then
``subscriber_tokens.create``, answering ``{token, expiresAt}``). Each round runs both, the order alternating between
rounds, so both meet the same drift of a shared machine. Reported: requests/s over all rounds, p50 and p99 of a
request as the browser sees it, and the backend's CPU µs per request. Throughput is the ratio of totals and the
median of the ratios of each round's two runs, taken back to back.

    python benchmarks/web.py [--browsers 200] [--requests 10] [--rounds 20] [--latency 0.05] [--profile PATH]
    python benchmarks/web.py cohort --help      # 10,000 subscribers on two replicas sharing Redis (web_cohort.py)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar, TCPConnector, web

HERE = Path(__file__).parent
PROJECT = "ea14556a-984f-11ee-b9d1-0242ac120002"
HANDWRITTEN = "hand-written re-issue (`subscriber_tokens.create`)"
ROUTES = {"mount `fabric/token`": "/signalwire/fabric/token", HANDWRITTEN: "/handwritten/token"}  # name -> path


def backend(api: str, transport: Any = None) -> web.Application:
    """The backend's routes over one client of the API at ``api`` (or of ``transport``, which then answers it)."""
    from signalwire_tokens import SignalWireClient
    from signalwire_tokens.web import BrowserTokens, Subscriber

    client = SignalWireClient(None, PROJECT, "PT" + "0" * 48, base_url=api, max_connections=1000, transport=transport)
    sessions: dict[str, str] = {}  # session cookie -> the user's email

    async def identify(request: web.Request) -> Subscriber | None:
        email = sessions.get(request.cookies.get("session", ""))
        return None if email is None else Subscriber(email)

    def signed_in(request: web.Request) -> str:  # the snippet's requireUserAuth
        email = sessions.get(request.cookies.get("session", ""))
        if email is None:
            raise web.HTTPUnauthorized()
        return email

    async def reissue(request: web.Request) -> web.Response:
        token = await client.fabric.subscriber_tokens.create(signed_in(request))
        return web.json_response({"token": token.token, "expiresAt": int(token.expires_at.timestamp() * 1000)})

    async def sign_in(request: web.Request) -> web.Response:
        response = web.Response(status=204)
        session = f"session-{len(sessions)}"
        sessions[session] = request.match_info["user"]
        response.set_cookie("session", session, httponly=True, samesite="Lax")
        return response

    async def cpu(_request: web.Request) -> web.Response:
        return web.json_response(time.process_time())

    profiler = cProfile.Profile()

    async def profile(request: web.Request) -> web.Response:
        """``start``, then ``stop``: answers the functions of the library that took the most time in between."""
        if request.match_info["step"] == "start":
            profiler.enable()
            return web.Response(status=204)
        profiler.disable()
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).sort_stats("cumulative")
        stats.print_stats(r"signalwire_tokens|benchmarks/web\.py", 30)
        return web.Response(text=report.getvalue())

    async def close(_app: web.Application) -> None:
        await client.aclose()

    app = web.Application()
    app.on_cleanup.append(close)
    app.router.add_post("/sign-in/{user}", sign_in)
    app.router.add_get("/cpu", cpu)
    app.router.add_post("/profile/{step}", profile)
    app.router.add_post("/handwritten/token", reissue)
    # A limit no browser reaches: the mount counts every request (its cost is measured) and refuses none.
    tokens = BrowserTokens(client, identify=identify, per_subscriber=(10**9, 60.0))
    app.add_subapp("/signalwire", tokens.aiohttp_app())
    return app


def serve_backend(api: str) -> None:
    """The backend process: prints ``listening on PORT``, then serves until terminated."""

    async def main() -> None:
        runner = web.AppRunner(backend(api), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        print(f"listening on {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def sign_in(base: str, browsers: int) -> list[ClientSession]:
    """One session per browser, its cookie jar holding its own session cookie (``unsafe``: set by 127.0.0.1)."""
    sessions = []
    for i in range(browsers):
        session = ClientSession(
            base, cookie_jar=CookieJar(unsafe=True), connector=TCPConnector(limit=1), headers={"Origin": base}
        )
        async with session.post(f"/sign-in/user-{i}@example.com") as response:
            response.raise_for_status()
        sessions.append(session)
    return sessions


async def chunk(browsers: list[ClientSession], path: str, requests: int) -> tuple[float, list[float]]:
    """Every browser asks ``requests`` times in a row, all at once; the wall time and each request's latency."""
    latencies: list[float] = []

    async def browse(session: ClientSession) -> None:
        for _ in range(requests):
            started = time.perf_counter()
            async with session.post(path, json={}) as response:
                if response.status != 200:
                    raise RuntimeError(f"{path} answered {response.status}: {await response.text()}")
                await response.read()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(browse(session) for session in browsers))
    return time.perf_counter() - started, latencies


async def measure(base: str, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    browsers = await sign_in(base, args.browsers)
    results: dict[str, dict[str, Any]] = {name: {"walls": [], "cpu": 0.0, "latencies": []} for name in ROUTES}

    async def backend_cpu() -> float:
        async with browsers[0].get("/cpu") as response:
            seconds: float = await response.json()
            return seconds

    try:
        for path in ROUTES.values():  # warm: connections open, every path taken once
            await chunk(browsers, path, 2)
        names = list(ROUTES)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                cpu = await backend_cpu()
                wall, latencies = await chunk(browsers, ROUTES[name], args.requests)
                results[name]["cpu"] += await backend_cpu() - cpu
                results[name]["walls"].append(wall)
                results[name]["latencies"] += latencies
            print(f"  round {r + 1} of {args.rounds}", file=sys.stderr, flush=True)
        if args.profile:
            await browsers[0].post("/profile/start")
            await chunk(browsers, args.profile, args.requests)
            async with browsers[0].post("/profile/stop") as response:
                print(await response.text(), file=sys.stderr)
    finally:
        for session in browsers:
            await session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browsers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10, help="per browser, per route, per round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--profile", choices=ROUTES.values(), help="then profile this path once (cProfile, stderr)")
    args = parser.parse_args()
    from run import server

    with server(args.latency, "sat") as api:
        process = subprocess.Popen([sys.executable, __file__, "backend", api], stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            base = f"http://127.0.0.1:{int(process.stdout.readline().split()[-1])}"
            results = asyncio.run(measure(base, args))
        finally:
            process.terminate()
            process.wait(10)
    total = args.browsers * args.requests * args.rounds
    limit = args.browsers / args.latency
    print(
        f"{args.browsers} browsers, {args.rounds} rounds of {args.requests} requests per browser per route, the API"
        f" answering after {args.latency * 1000:.0f} ms (a ceiling of {limit:,.0f} requests/s)\n\n"
        "| backend route | requests/s | vs hand-written | median of per-round ratios | p50 ms | p99 ms |"
        " backend CPU µs/request |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    baseline = results[HANDWRITTEN]["walls"]
    for name, result in results.items():
        walls = result["walls"]
        cuts = statistics.quantiles(result["latencies"], n=100)
        paired = statistics.median(b / a for a, b in zip(walls, baseline, strict=True))
        print(
            f"| {name} | {total / sum(walls):,.0f} | {sum(baseline) / sum(walls):.3f} | {paired:.3f} |"
            f" {cuts[49] * 1000:.1f} | {cuts[98] * 1000:.1f} | {result['cpu'] / total * 1e6:.0f} |"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if sys.argv[1:2] == ["backend"]:
        serve_backend(sys.argv[2])
    elif sys.argv[1:2] == ["cohort"]:  # a cohort of browsers on a fleet of two replicas: web_cohort.py
        from web_cohort import dispatch

        dispatch(sys.argv[2:])
    else:
        main()
