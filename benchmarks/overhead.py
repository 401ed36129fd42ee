"""The middleware chain's own cost: mint chat tokens through a client whose transport answers at once, without a
network, so what is left is the library (validation, encoding, the chain, decoding, the batch machinery).

    python benchmarks/overhead.py [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from multidict import CIMultiDict, CIMultiDictProxy

from signalwire_tokens import ChatTokenRequest, Request, Response, SignalWireClient

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
BODY = json.dumps({"token": "eyJ0eXAiOiJWUlQiLCJhbGciOiJIUzUxMiJ9.eyJpYXQiOjE3OTU1MDc0OTJ9.c2lnbmF0dXJl"}).encode()
HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
CHANNELS = {"lobby": {"read": True, "write": True}}


class NullTransport:
    """A Transport that answers every request at once with a minted token."""

    async def __call__(self, request: Request) -> Response:
        return Response(200, HEADERS, BODY, request, request.attempt)

    async def aclose(self) -> None:
        pass


async def measure(n: int) -> dict[str, float]:
    results = {}
    async with SignalWireClient("example", PROJECT_ID, "PTbench", transport=NullTransport()) as client:
        for name, run in {
            "chat_tokens.create (one call)": lambda: client.chat_tokens.create(ttl=60, channels=CHANNELS),
        }.items():
            await run()
            started = time.perf_counter()
            for _ in range(n):
                await run()
            results[name] = (time.perf_counter() - started) / n * 1e6
        request = ChatTokenRequest(ttl=60, channels=CHANNELS)
        started = time.perf_counter()
        for _ in range(n):
            await client.chat_tokens.mint(request)
        results["chat_tokens.mint (prepared request)"] = (time.perf_counter() - started) / n * 1e6
        started = time.perf_counter()
        for _ in range(n):
            ChatTokenRequest(ttl=60, channels=CHANNELS)
        results["ChatTokenRequest(...) alone"] = (time.perf_counter() - started) / n * 1e6
        requests = (ChatTokenRequest(ttl=60, channels=CHANNELS) for _ in range(n))
        started = time.perf_counter()
        async for _item in client.chat_tokens.create_many(requests, concurrency=64):
            pass
        results["create_many, per token (concurrency 64)"] = (time.perf_counter() - started) / n * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    for name, micros in asyncio.run(measure(args.n)).items():
        print(f"{name:45s} {micros:7.1f} µs")


if __name__ == "__main__":
    main()
