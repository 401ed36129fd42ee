"""What a cache miss costs when the token cache is full: every new key past ``max_entries`` evicts the least recently
used idle entry. The cache is filled to ``max_entries`` with tokens that never expire, then each of ``--misses`` new
keys is asked for once (a mint that answers at once, so the time is the cache's own work). Prints a markdown table:
entries, misses timed, and the mean cost of one miss in microseconds.

    python benchmarks/cache_eviction.py [--sizes 10000 100000] [--misses 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timedelta, timezone

import attrs

from signalwire_tokens.resources._token_cache import TokenCache


@attrs.frozen
class Minted:
    expires_at: datetime


FOREVER = Minted(datetime.now(timezone.utc) + timedelta(days=365))


class InstantCache(TokenCache[int, int, Minted]):
    """A family whose mint answers at once: what is measured is the cache."""

    async def _renew(self, request: int, held: Minted | None) -> Minted:
        return FOREVER

    def _life(self, request: int, token: Minted) -> float:
        return 365 * 86_400.0

    async def get(self, key: int) -> Minted:
        return await self._get(key, key)


async def per_miss(size: int, misses: int) -> float:
    """Mean seconds of one miss at capacity, for a cache of ``size`` entries."""
    cache = InstantCache(max_entries=size)
    for key in range(size):
        await cache.get(key)
    started = time.perf_counter()
    for key in range(size, size + misses):
        await cache.get(key)
    elapsed = time.perf_counter() - started
    assert len(cache) == size
    await cache.aclose()
    return elapsed / misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--misses", type=int, default=2000)
    args = parser.parse_args()
    print("| entries | misses | µs per miss |")
    print("|---:|---:|---:|")
    for size in args.sizes:
        seconds = asyncio.run(per_miss(size, args.misses))
        print(f"| {size:,} | {args.misses:,} | {seconds * 1e6:.1f} |")


if __name__ == "__main__":
    main()
