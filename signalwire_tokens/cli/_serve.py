"""``fake-space serve``: the fake space on loopback for other programs, optionally slow, faulty or rate limited."""

from __future__ import annotations

import argparse
import asyncio
import signal

from ..testing import FakeSignalWire, RecordedRequest

__all__ = ["serve"]


def _log(request: RecordedRequest, status: int | None, seconds: float) -> None:
    answer = "dropped" if status is None else str(status)
    print(f"{request.method} {request.path} -> {answer} ({seconds * 1000:.1f} ms)", flush=True)


async def serve(args: argparse.Namespace) -> int:
    fake = FakeSignalWire(
        project_id=args.project_id, api_token=args.api_token, port=args.port, keep_requests=1000, latency=args.latency
    )
    async with fake:
        if args.log:
            fake.observe(_log)
        if args.fail_rate:
            fake.chaos(args.fail_rate)
        if args.rate_limit:
            fake.rate_limit(*args.rate_limit)
        print(f"fake SignalWire space on {fake.url}  (Ctrl-C to stop); point a client at it with:")
        print(f"export SIGNALWIRE_PROJECT_ID={fake.project_id}")
        print(f"export SIGNALWIRE_API_TOKEN={fake.api_token}")
        print(f"export SIGNALWIRE_BASE_URL={fake.url}")
        # The API makes conferences elsewhere; the fake holds one, so conference-token list has something to list.
        print(f"a video conference holding 3 conference tokens: {fake.add_conference(tokens=3)}")
        # Likewise a Fabric address (for guest-token and invite-token) and a click-to-call token (for embeds).
        print(f"a Call Fabric address: {fake.fabric.add_address()}")
        print(f"a click-to-call token: {fake.fabric.add_click_to_call()}", flush=True)
        # Ctrl-C or SIGTERM (a CI job's end, a container's stop) is the normal way out: a clean shutdown, exit 0.
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
    return 0
