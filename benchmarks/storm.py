"""An API that answers every request 429: how many requests a batch sends it, per row, in the first seconds.

The fake space is told to answer every request ``429`` with ``Retry-After: 0`` (or an HTTP date already past, or no
``Retry-After`` at all); a batch of ``--rows`` rows runs against it for ``--seconds`` seconds with real waits, once
with the default ``RetryPolicy()`` and once with ``RetryPolicy.disabled()``. Reported: requests per row in that time,
and whether the batch had ended (every row failed with its ``RateLimitError``) or was still going. With
``--library NAME=PATH`` (repeatable) each run imports the library from that source tree, so a before and an after are
measured in one run::

    git worktree add /tmp/start 3dd18ef
    python benchmarks/storm.py --library before=/tmp/start --library after=.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from typing import Any

PAST = "Wed, 21 Oct 2015 07:28:00 GMT"
ANSWERS = {"retry-after-0": {"Retry-After": "0"}, "past-date": {"Retry-After": PAST}, "none": {}}


async def storm(answer: str, policy_name: str, rows: int, seconds: float) -> dict[str, Any]:
    from signalwire_tokens import ChatTokenRequest, RetryPolicy
    from signalwire_tokens.testing import FakeSignalWire

    policy = RetryPolicy.disabled() if policy_name == "disabled" else RetryPolicy()
    requests = [ChatTokenRequest(ttl=5, channels={"lobby": {"read": True}}, member_id=f"m{i}") for i in range(rows)]
    async with FakeSignalWire() as fake, fake.client(retry=policy) as client:  # served on loopback
        fake.fail(429, headers=ANSWERS[answer], times=10**9)
        ended: list[Any] = []

        async def consume() -> None:
            ended.extend([item async for item in client.chat_tokens.create_many(requests, concurrency=rows)])

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(consume(), seconds)
        sent = len(fake.requests)
    return {
        "answer": answer,
        "policy": policy_name,
        "requests per row": round(sent / rows, 1),
        "per row per second": round(sent / rows / seconds, 2),
        "rows ended": len(ended),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--library", action="append", default=[], help="NAME=PATH of a source tree (repeatable)")
    parser.add_argument("--child", nargs=2, metavar=("ANSWER", "POLICY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(storm(*args.child, args.rows, args.seconds))))
        return
    libraries = dict(spec.split("=", 1) for spec in args.library) or {"installed": ""}
    print(f"| library | Retry-After | policy | requests per row in {args.seconds:g} s | rows ended |")
    print("| --- | --- | --- | ---: | ---: |")
    for answer in ANSWERS:
        for policy in ("default", "disabled"):
            for name, path in libraries.items():
                env = dict(os.environ, PYTHONPATH=os.path.abspath(path)) if path else None
                command = [sys.executable, __file__, "--child", answer, policy, "--rows", str(args.rows)]
                command += ["--seconds", str(args.seconds)]
                result = json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
                print(
                    f"| {name} | {answer} | {policy} | {result['requests per row']:g} | "
                    f"{result['rows ended']}/{args.rows} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
