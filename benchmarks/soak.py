"""A longer fault-injection soak: 10,000 chat mints and 500 API token creates through a fake space that fails
30 % of the time (5xx, 429 with Retry-After, resets before and after acting, slow answers), with the default retry
policy but no real waits. Prints what it saw; exits 1 if an invariant broke.

    python benchmarks/soak.py [--mints 10000] [--creates 500] [--rate 0.3] [--seed 1] [--budget 500]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter

from signalwire_tokens import ChatTokenRequest, RetryBudget, RetryPolicy, SignalWireError
from signalwire_tokens.testing import FakeSignalWire


async def _no_wait(_seconds: float) -> None:
    """The waits between retries are what a soak skips: it counts outcomes, not seconds."""


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def soak(mints: int, creates: int, rate: float, seed: int, capacity: int) -> bool:
    warnings = _Count()
    logging.getLogger("signalwire_tokens").addHandler(warnings)
    ok = True
    async with FakeSignalWire() as fake:
        fake.chaos(rate, seed=seed, slow=0.02)
        async with fake.client(retry=RetryPolicy(sleep=_no_wait, budget=RetryBudget(capacity=capacity))) as client:
            started = time.perf_counter()
            requests = (
                ChatTokenRequest(ttl=5, channels={"c": {"read": True}}, member_id=f"m{i}") for i in range(mints)
            )
            seen: Counter[int] = Counter()
            outcomes: Counter[str] = Counter()
            async for item in client.chat_tokens.create_many(requests, concurrency=64):
                seen[item.index] += 1
                outcomes["ok" if item.ok else type(item.error).__name__] += 1
            mint_seconds = time.perf_counter() - started
            mint_requests = len(fake.requests)
            budget = client.retry_budget
            assert budget is not None
            print(
                f"chat mints: {mints} in {mint_seconds:.2f} s ({mints / mint_seconds:,.0f}/s), {mint_requests} requests"
            )
            print(f"  outcomes: {dict(outcomes)}")
            print(f"  faults injected: {dict(sorted(fake.faults_injected.items()))}")
            print(
                f"  retry budget: {budget.retries_allowed} retries allowed, {budget.retries_refused} refused,"
                f" {budget.available}/{budget.budget.capacity} left"
            )
            if set(seen) != set(range(mints)) or max(seen.values()) != 1:
                print("  FAIL: an item was lost or yielded twice")
                ok = False
            else:
                print("  every item accounted for exactly once")

            results = await asyncio.gather(
                *(client.api_tokens.create(f"soak-{i}", ["chat"]) for i in range(creates)), return_exceptions=True
            )
            created = Counter(token["name"] for token in fake.api_tokens.values())
            failed = [r for r in results if isinstance(r, SignalWireError)]
            unknown = sum(r.outcome_unknown for r in failed)
            acted_silently = sum(
                1
                for i, r in enumerate(results)
                if isinstance(r, SignalWireError) and f"soak-{i}" in created and not r.outcome_unknown
            )
            print(
                f"api token creates: {creates}, {creates - len(failed)} ok, {len(failed)} failed"
                f" ({unknown} saying the token may have been created), {len(created)} tokens exist"
            )
            if created and max(created.values()) > 1:
                print("  FAIL: a token was created twice")
                ok = False
            elif acted_silently:
                print(f"  FAIL: {acted_silently} failures hid that the token was created")
                ok = False
            else:
                print("  no token created twice; every failure that left a token behind said so")
    print(f"WARNING log records (one per call given up): {warnings.count}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mints", type=int, default=10_000)
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=int, default=500, help="retry budget capacity")
    args = parser.parse_args()
    # Nothing may hang: the whole soak has a hard limit.
    ok = asyncio.run(asyncio.wait_for(soak(args.mints, args.creates, args.rate, args.seed, args.budget), timeout=300))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
