"""One benchmark client per run, in its own process: mint N chat tokens at concurrency C against URL and print
JSON with the wall time, the process's CPU time and its peak RSS.

    python benchmarks/clients.py library|library-create|raw-aiohttp|httpx|requests|sdk|sdk-threads URL N C
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
API_TOKEN = "PT037258e533e87ac63174ee136ed0798dc85d4f4f9e6d7191"
AUTH = "Basic " + base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()
CHANNELS = {"lobby": {"read": True, "write": True}}
PATH = "/api/chat/tokens"


async def many_chunk(client: Any, n: int, concurrency: int) -> int:
    """``create_many`` over ``n`` requests through an open ``SignalWireClient``."""
    from signalwire_tokens import ChatTokenRequest

    minted = 0
    requests = (ChatTokenRequest(ttl=60, channels=CHANNELS) for _ in range(n))
    async for item in client.chat_tokens.create_many(requests, concurrency=concurrency):
        minted += item.ok
    return minted


async def create_chunk(client: Any, n: int, concurrency: int) -> int:
    """What a backend does: ``chat_tokens.create`` per token, from ``concurrency`` tasks sharing one client."""
    remaining, minted = n, 0

    async def worker() -> None:
        nonlocal remaining, minted
        while remaining > 0:
            remaining -= 1
            token = await client.chat_tokens.create(ttl=60, channels=CHANNELS)
            minted += bool(token.token)  # after the await: "minted +=" would read the count before it

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return minted


async def raw_chunk(session: Any, url: str, n: int, concurrency: int) -> int:
    """The floor: what aiohttp itself costs for the same job, written by hand, over an open session."""
    remaining, minted = n, 0
    headers = {"Authorization": AUTH, "Content-Type": "application/json", "Accept": "application/json"}

    async def worker() -> None:
        nonlocal remaining, minted
        while remaining > 0:
            remaining -= 1
            body = json.dumps({"ttl": 60, "channels": CHANNELS}).encode()
            async with session.post(url + PATH, data=body, headers=headers) as response:
                data = json.loads(await response.read())
                minted += response.status == 200 and bool(data["token"])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return minted


def library_client(url: str, concurrency: int) -> Any:
    from signalwire_tokens import SignalWireClient

    return SignalWireClient(None, PROJECT_ID, API_TOKEN, base_url=url, max_connections=concurrency)


def raw_session(concurrency: int) -> Any:
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


async def library(url: str, n: int, concurrency: int) -> int:
    async with library_client(url, concurrency) as client:
        return await many_chunk(client, n, concurrency)


async def library_create(url: str, n: int, concurrency: int) -> int:
    async with library_client(url, concurrency) as client:
        return await create_chunk(client, n, concurrency)


async def raw_aiohttp(url: str, n: int, concurrency: int) -> int:
    async with raw_session(concurrency) as session:
        return await raw_chunk(session, url, n, concurrency)


async def httpx_async(url: str, n: int, concurrency: int) -> int:
    import httpx

    remaining, minted = n, 0
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker() -> None:
            nonlocal remaining, minted
            while remaining > 0:
                remaining -= 1
                response = await client.post(
                    url + PATH, content=json.dumps({"ttl": 60, "channels": CHANNELS}), headers=headers
                )
                minted += response.status_code == 200 and bool(response.json()["token"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return minted


def sequential_requests(url: str, n: int, _concurrency: int) -> int:
    """What SignalWire's documentation shows: requests, one call after another."""
    import requests

    minted = 0
    with requests.Session() as session:
        session.auth = (PROJECT_ID, API_TOKEN)
        for _ in range(n):
            response = session.post(url + PATH, json={"ttl": 60, "channels": CHANNELS})
            minted += response.status_code == 200 and bool(response.json()["token"])
    return minted


def _sdk_client(url: str) -> Any:
    from signalwire.rest import RestClient

    return RestClient(project=PROJECT_ID, token=API_TOKEN, host=url.removeprefix("http://"))


def sdk(url: str, n: int, _concurrency: int) -> int:
    """The official signalwire-sdk, sequential (it is synchronous, on requests)."""
    client = _sdk_client(url)
    return sum(bool(client.chat.create_token(ttl=60, channels=CHANNELS)["token"]) for _ in range(n))


def sdk_threads(url: str, n: int, concurrency: int) -> int:
    """The official signalwire-sdk in a thread pool of ``concurrency`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    client = _sdk_client(url)
    with ThreadPoolExecutor(concurrency) as pool:
        results = pool.map(lambda _: client.chat.create_token(ttl=60, channels=CHANNELS), range(n))
        return sum(bool(r["token"]) for r in results)


CLIENTS: dict[str, Callable[[str, int, int], Any]] = {
    "library": library,
    "library-create": library_create,
    "raw-aiohttp": raw_aiohttp,
    "httpx": httpx_async,
    "requests": sequential_requests,
    "sdk": sdk,
    "sdk-threads": sdk_threads,
}


def main() -> None:
    name, url, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    run = CLIENTS[name]
    # Imports happen inside the timed functions' first lines; warm them up so start-up is not measured.
    if name in ("library", "library-create", "raw-aiohttp", "httpx"):
        asyncio.run(run(url, min(n, concurrency), concurrency))  # type: ignore[arg-type]
    else:
        run(url, 2, concurrency)
    wall, cpu = time.perf_counter(), time.process_time()
    minted = asyncio.run(run(url, n, concurrency)) if asyncio.iscoroutinefunction(run) else run(url, n, concurrency)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "client": name,
                "n": n,
                "concurrency": concurrency,
                "minted": minted,
                "seconds": wall,
                "tokens_per_s": minted / wall,
                "cpu_us_per_request": cpu / n * 1e6,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
