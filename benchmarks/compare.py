"""Before and after, in one run: the library from two (or more) source trees against raw aiohttp, on the trivial
loopback server, in alternating rounds (the order rotates each round), medians reported.

    git worktree add /tmp/before <rev>
    python benchmarks/compare.py before=/tmp/before after=. [--concurrency 64 1] [--n 5000] [--rounds 5] [--create]

The library mints with ``create_many``; with ``--create`` it calls ``chat_tokens.create`` per token instead, from
``concurrency`` tasks sharing one client (a backend's single create).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from run import client, server

HERE = Path(__file__).parent


def measure(
    trees: dict[str, Path], url: str, n: int, concurrency: int, rounds: int, library: str
) -> dict[str, tuple[float, float]]:
    """Median tokens/s and CPU µs per token of the raw loop and of the library from each tree (imported through
    PYTHONPATH, which comes before the installed package)."""
    plan = ["raw-aiohttp", *trees]
    results: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for r in range(rounds):
        shift = r % len(plan)
        for name in plan[shift:] + plan[:shift]:
            if name == "raw-aiohttp":
                result = client("raw-aiohttp", url, n, concurrency)
            else:
                os.environ["PYTHONPATH"] = str(trees[name].resolve())
                try:
                    result = client(library, url, n, concurrency)
                finally:
                    del os.environ["PYTHONPATH"]
            results[name].append(result["tokens_per_s"])
            cpu[name].append(result["cpu_us_per_request"])
            print(
                f"  c={concurrency} round {r + 1}: {name:12s} {result['tokens_per_s']:9,.0f} tokens/s"
                f" {result['cpu_us_per_request']:6.1f} CPU µs/token",
                flush=True,
            )
    return {name: (statistics.median(values), statistics.median(cpu[name])) for name, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", help="NAME=PATH of a source tree holding signalwire_tokens/")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 1])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--create", action="store_true", help="chat_tokens.create per token, not create_many")
    args = parser.parse_args()
    trees = {name: Path(path) for name, path in (tree.split("=", 1) for tree in args.trees)}
    rows = []
    with server(0.0) as url:
        for concurrency in args.concurrency:
            n = args.n if concurrency > 1 else args.n // 4
            medians = measure(trees, url, n, concurrency, args.rounds, "library-create" if args.create else "library")
            raw, raw_cpu = medians["raw-aiohttp"]
            rows += [
                f"| {name} | {concurrency} | {value:,.0f} | {value / raw:.2f} | {cpu:.1f} | {cpu - raw_cpu:+.1f} |"
                for name, (value, cpu) in medians.items()
            ]
    print(
        "\n| client | concurrency | tokens/s (median) | vs raw aiohttp | CPU µs/token (median) | vs raw |"
        "\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
