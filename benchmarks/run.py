"""Run every benchmark and write the report: one command, ``python benchmarks/run.py`` (``--quick`` for a short
pass). Servers and clients each run in their own process on loopback; the clients are measured in alternating
rounds and the median of the rounds is reported.

Writes benchmarks/results/latest.json, benchmarks/results/latest.md and benchmarks/throughput.png.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PY = sys.executable


@contextlib.contextmanager
def server(latency: float, body: str = "chat") -> Iterator[str]:
    process = subprocess.Popen(
        [PY, str(HERE / "server.py"), "--latency", str(latency), "--body", body], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield f"http://127.0.0.1:{int(line.split()[-1])}"
    finally:
        process.terminate()
        process.wait(10)


def client(name: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [PY, str(HERE / "clients.py"), name, url, str(n), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def rounds(plan: list[tuple[str, int, int]], url: str, count: int) -> dict[tuple[str, int], dict[str, float]]:
    """Each (client, n, concurrency) once per round, the order rotated every round; medians of the rounds."""
    runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in range(count):
        shift = r % len(plan)
        for name, n, concurrency in plan[shift:] + plan[:shift]:
            result = client(name, url, n, concurrency)
            runs[(name, concurrency)].append(result)
            print(
                f"  round {r + 1}: {name:12s} c={concurrency:<4d} {result['tokens_per_s']:9,.0f} tokens/s", flush=True
            )
    return {
        key: {
            metric: statistics.median(run[metric] for run in results)
            for metric in ("tokens_per_s", "cpu_us_per_request", "peak_rss_mib")
        }
        for key, results in runs.items()
    }


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    import aiohttp

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, aiohttp {aiohttp.__version__};"
        f" {platform.system()} {platform.release()}"
    )


def table(results: dict[tuple[str, int], dict[str, float]], rows: list[tuple[str, int]], raw: float | None) -> str:
    lines = [
        "| client | concurrency | tokens/s | vs raw aiohttp | CPU µs/request | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, concurrency in rows:
        r = results[(name, concurrency)]
        ratio = f"{r['tokens_per_s'] / raw:.2f}" if raw else "-"
        lines.append(
            f"| {name} | {concurrency} | {r['tokens_per_s']:,.0f} | {ratio} | {r['cpu_us_per_request']:.0f}"
            f" | {r['peak_rss_mib']:.1f} |"
        )
    return "\n".join(lines)


def plot(sweep: dict[tuple[str, int], dict[str, float]], concurrencies: list[int], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for name, style in (("raw-aiohttp", "o--"), ("library", "s-"), ("httpx", "^:")):
        xs = [c for c in concurrencies if (name, c) in sweep]
        ax.plot(xs, [sweep[(name, c)]["tokens_per_s"] for c in xs], style, label=name)
    for name, style in (("requests", "k-."), ("sdk", "c-.")):
        if (name, 1) in sweep:
            ax.axhline(
                sweep[(name, 1)]["tokens_per_s"], linestyle=style[1:], color=style[0], label=f"{name} (sequential)"
            )
    ax.set_xscale("log", base=2)
    ax.set_xticks(concurrencies, [str(c) for c in concurrencies])
    ax.set_xlabel("concurrency")
    ax.set_ylabel("chat tokens / s")
    ax.set_title("Minting chat tokens against a trivial loopback server")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.text(0.01, 0.01, note, fontsize=6, alpha=0.7)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, smaller runs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count = 1 if args.quick else args.rounds
    n = 1000 if args.quick else 5000
    slow_n = 300 if args.quick else 1000  # httpx, requests and the SDK are an order of magnitude slower
    concurrencies = [1, 4, 16, 64, 128] if not args.quick else [1, 16, 64]
    report: dict[str, Any] = {"date": datetime.date.today().isoformat(), "machine": machine(), "quick": args.quick}
    md = [
        f"Measured {report['date']} on {report['machine']}. Command: `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}`; median of {count} round(s).",
        "",
    ]

    with server(0.0) as fast:
        print("fast server: the contenders at concurrency 64", flush=True)
        plan = [
            ("library", n, 64),
            ("raw-aiohttp", n, 64),
            ("httpx", slow_n, 64),
            ("requests", slow_n * 2, 1),
            ("sdk", slow_n, 1),
            ("sdk-threads", slow_n, 64),
        ]
        head = rounds(plan, fast, count)
        raw = head[("raw-aiohttp", 64)]["tokens_per_s"]
        md += ["## Trivial server, concurrency 64", "", table(head, [(p[0], p[2]) for p in plan], raw), ""]
        print("fast server: concurrency sweep", flush=True)
        sweep_plan = [(name, n, c) for c in concurrencies for name in ("library", "raw-aiohttp")]
        sweep_plan += [("httpx", slow_n, c) for c in concurrencies if c in (1, 16, 64)]
        sweep = rounds(sweep_plan, fast, count)
        sweep.update({("requests", 1): head[("requests", 1)], ("sdk", 1): head[("sdk", 1)]})
        rows = [(name, c) for c in concurrencies for name in ("library", "raw-aiohttp", "httpx") if (name, c) in sweep]
        md += ["## Concurrency sweep (trivial server)", "", table(sweep, rows, None), ""]
        md += ["| concurrency | library / raw aiohttp |", "| ---: | ---: |"]
        md += [
            f"| {c} | {sweep[('library', c)]['tokens_per_s'] / sweep[('raw-aiohttp', c)]['tokens_per_s']:.2f} |"
            for c in concurrencies
        ]
        md.append("")
        print("memory: minting from a generator", flush=True)
        memory_n = 20_000 if args.quick else 100_000
        out = subprocess.run(
            [PY, str(HERE / "memory.py"), fast, "--n", str(memory_n)],
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
        memory = json.loads(out.stdout)
        md += [
            "## Memory",
            "",
            f"{memory['n']:,} tokens from a generator at concurrency 64: RSS "
            f"{memory['baseline_rss_mib']:.1f} MiB after warm-up, peak {memory['peak_rss_mib']:.1f} MiB, growth "
            f"**{memory['growth_mib']:.2f} MiB** ({memory['seconds']:.1f} s).",
            "",
        ]

    with server(0.05) as slow:
        print("50 ms server: concurrency 100", flush=True)
        # Long enough that opening the 100 connections and the last partial wave weigh little.
        latency_n = 2000 if args.quick else 10_000
        plan = [("library", latency_n, 100), ("raw-aiohttp", latency_n, 100), ("httpx", slow_n, 100)]
        latency = rounds(plan, slow, count)
        limit = 100 / 0.05
        md += [
            "## 50 ms server, concurrency 100",
            "",
            f"The limit set by concurrency / latency is {limit:,.0f} tokens/s.",
            "",
            table(latency, [(p[0], p[2]) for p in plan], latency[("raw-aiohttp", 100)]["tokens_per_s"]),
            "",
            "| client | share of the concurrency/latency limit |",
            "| --- | ---: |",
        ]
        md += [f"| {p[0]} | {latency[(p[0], 100)]['tokens_per_s'] / limit:.2f} |" for p in plan]
        md.append("")

    out = subprocess.run(
        [PY, str(HERE / "overhead.py"), "--n", "5000" if args.quick else "20000"],
        capture_output=True,
        text=True,
        check=True,
    )
    md += ["## The library's own cost (null transport)", "", "```", out.stdout.rstrip(), "```", ""]

    report.update(
        {
            "head": {f"{k[0]}@{k[1]}": v for k, v in head.items()},
            "sweep": {f"{k[0]}@{k[1]}": v for k, v in sweep.items()},
            "latency": {f"{k[0]}@{k[1]}": v for k, v in latency.items()},
            "memory": memory,
            "overhead": out.stdout,
        }
    )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps(report, indent=2))
    (results / "latest.md").write_text("\n".join(md))
    plot(sweep, concurrencies, HERE / "throughput.png", f"{report['date']}, {report['machine']}")
    print("\n".join(md))


if __name__ == "__main__":
    main()
