"""What a tenacity loop costs a call that succeeds at once: the reason the retry middleware makes the first attempt
itself and hands a call to tenacity only after it failed.

    python benchmarks/tenacity_cost.py [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt


async def succeed() -> int:
    return 1


async def measure(n: int) -> tuple[float, float]:
    """Microseconds per call: awaiting the attempt directly, and through a fresh AsyncRetrying (one per call, as
    each call has its own request and state)."""
    started = time.perf_counter()
    for _ in range(n):
        await succeed()
    direct = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(n):
        await AsyncRetrying(retry=retry_if_exception_type(OSError), stop=stop_after_attempt(4))(succeed)
    through_tenacity = time.perf_counter() - started
    return direct / n * 1e6, through_tenacity / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    direct, through_tenacity = asyncio.run(measure(args.n))
    print(f"direct await: {direct:.2f} µs per call; through tenacity: {through_tenacity:.2f} µs per call")


if __name__ == "__main__":
    main()
