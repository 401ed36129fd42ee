"""Before and after, in one run: the library from two (or more) source trees against raw aiohttp, on the trivial
loopback server, in alternating rounds (the order rotates each round), medians reported.

    git worktree add /tmp/before <rev>
    python benchmarks/compare.py before=/tmp/before after=. [--concurrency 64 1] [--n 5000] [--rounds 5] [--create]

The library mints with ``create_many``; with ``--create`` it calls ``chat_tokens.create`` per token instead, from
``concurrency`` tasks sharing one client (a backend's single create).

"vs raw aiohttp" is the median over rounds of each round's own ratio: a shared, virtualised machine speeds up and
slows down by tens of percent over seconds, and a ratio taken within one round (the clients run back to back)
cancels most of that, where a ratio of two medians would not. Many short rounds measure better than a few long ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from run import client, server

HERE = Path(__file__).parent
RAW = "raw-aiohttp"


def one_round(trees: dict[str, Path], url: str, n: int, concurrency: int, library: str, shift: int) -> dict[str, Any]:
    """Each client once, in rotated order: the raw loop, and the library from each tree (imported through
    PYTHONPATH, which comes before the installed package)."""
    plan = [RAW, *trees]
    results = {}
    for name in plan[shift % len(plan) :] + plan[: shift % len(plan)]:
        if name == RAW:
            results[name] = client(RAW, url, n, concurrency)
            continue
        os.environ["PYTHONPATH"] = str(trees[name].resolve())
        try:
            results[name] = client(library, url, n, concurrency)
        finally:
            del os.environ["PYTHONPATH"]
    return results


def report(concurrency: int, rounds: list[dict[str, Any]]) -> list[str]:
    rows = []
    for name in rounds[0]:
        speed = statistics.median(r[name]["tokens_per_s"] for r in rounds)
        ratio = statistics.median(r[name]["tokens_per_s"] / r[RAW]["tokens_per_s"] for r in rounds)
        cpu = statistics.median(r[name]["cpu_us_per_request"] for r in rounds)
        extra = statistics.median(r[name]["cpu_us_per_request"] - r[RAW]["cpu_us_per_request"] for r in rounds)
        rows.append(f"| {name} | {concurrency} | {speed:,.0f} | {ratio:.3f} | {cpu:.1f} | {extra:+.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", help="NAME=PATH of a source tree holding signalwire_tokens/")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 1])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--create", action="store_true", help="chat_tokens.create per token, not create_many")
    args = parser.parse_args()
    trees = {name: Path(path) for name, path in (tree.split("=", 1) for tree in args.trees)}
    library = "library-create" if args.create else "library"
    rows = []
    with server(0.0) as url:
        for concurrency in args.concurrency:
            n = args.n if concurrency > 1 else args.n // 4
            rounds = []
            for r in range(args.rounds):
                rounds.append(one_round(trees, url, n, concurrency, library, r))
                line = "  ".join(
                    f"{k} {v['tokens_per_s']:,.0f}/s {v['cpu_us_per_request']:.0f} µs" for k, v in rounds[-1].items()
                )
                print(f"  c={concurrency} round {r + 1}: {line}", flush=True)
            rows += report(concurrency, rounds)
    print(
        f"\n{library}, medians of {args.rounds} rounds\n"
        "\n| client | concurrency | tokens/s | vs raw aiohttp (per round) | CPU µs/token | CPU µs vs raw (per round) |"
        "\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
