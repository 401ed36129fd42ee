"""``chat-token batch`` under faults: 5,000 rows against ``fake-space serve --latency 0.02``, with and without
``--fail-rate 0.05`` (no rate limit), each a real subprocess of the command line, timed from the outside.

The fake space runs in its own process with ``--log``, one line per answer; the 429s among them are what the batch
was asked to wait out, each ``Retry-After: 1`` (what ``--fail-rate`` gives), so the Retry-After seconds are their
count. Every case is a fresh server and a fresh output; the fault-free and the faulty case alternate, and the
median of ``--rounds`` is reported. ``--src`` runs another source tree (the "before")::

    git worktree add /tmp/cli-before 3dd18ef
    python benchmarks/cli_faults.py --src /tmp/cli-before
    python benchmarks/cli_faults.py                      # this tree, results in input order (the default)
    python benchmarks/cli_faults.py -- --no-ordered      # this tree, each result as it finishes

Done when (issue 24): the faulty case takes at most (fault-free time + Retry-After seconds) x 1.25.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RETRY_AFTER = 1.0  # the Retry-After of every 429 that --fail-rate injects


class Server:
    """``fake-space serve`` in a process of its own, counting the 429s it answers."""

    def __init__(self, src: Path, latency: float, fail_rate: float) -> None:
        command = [sys.executable, "-m", "signalwire_tokens.cli", "fake-space", "serve", "--log"]
        command += ["--latency", str(latency), "--fail-rate", str(fail_rate)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=src,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
        assert self.process.stdout is not None
        self.env: dict[str, str] = {}
        while len(self.env) < 3:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("fake-space serve exited before printing its address")
            if match := re.match(r"export (\w+)=(\S+)", line):
                self.env[match[1]] = match[2]
        self.answers: dict[str, int] = {}
        self._reader = threading.Thread(target=self._count, daemon=True)
        self._reader.start()

    def _count(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if match := re.search(r"-> (\S+) \(", line):
                self.answers[match[1]] = self.answers.get(match[1], 0) + 1

    def close(self) -> dict[str, int]:
        self.process.terminate()
        self.process.wait(10)
        self._reader.join(10)
        return self.answers


def run_case(src: Path, rows: Path, latency: float, fail_rate: float, extra: list[str]) -> dict[str, Any]:
    server = Server(src, latency, fail_rate)
    try:
        with tempfile.TemporaryDirectory() as work:
            out = Path(work) / "tokens.jsonl"
            command = [sys.executable, "-m", "signalwire_tokens.cli", "chat-token", "batch", "--input", str(rows)]
            command += ["--output", str(out), *extra]
            env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALWIRE_")}
            env.update(server.env, PYTHONPATH=str(src))
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=src, env=env, timeout=900)
            elapsed = time.perf_counter() - started
            written = len(out.read_text().splitlines())
    finally:
        answers = server.close()
    summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    return {
        "fail_rate": fail_rate,
        "seconds": round(elapsed, 2),
        "exit": done.returncode,
        "lines": written,
        "answers": answers,
        "retry_after_seconds": answers.get("429", 0) * RETRY_AFTER,
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=HERE.parent, help="the source tree to run (default: this one)")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more options for chat-token batch (after --)")
    args = parser.parse_args()
    src = args.src.resolve()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for i in range(args.rows):
            handle.write(json.dumps({"member_id": f"m{i}", "channels": {"lobby": {"read": True}}, "ttl": 60}) + "\n")
    rows = Path(handle.name)
    cases: dict[float, list[dict[str, Any]]] = {0.0: [], args.fail_rate: []}
    try:
        for _ in range(args.rounds):
            for fail_rate in cases:
                result = run_case(src, rows, args.latency, fail_rate, args.extra)
                print(json.dumps(result), flush=True)
                cases[fail_rate].append(result)
    finally:
        rows.unlink()
    clean = statistics.median(r["seconds"] for r in cases[0.0])
    faulty = statistics.median(r["seconds"] for r in cases[args.fail_rate])
    waits = statistics.median(r["retry_after_seconds"] for r in cases[args.fail_rate])
    # Each run's own Retry-After taken out: the time the faults cost beyond the pauses the API asked for.
    beyond = statistics.median(r["seconds"] - r["retry_after_seconds"] for r in cases[args.fail_rate])
    goal = (clean + waits) * 1.25
    print(f"src {src}, options {' '.join(args.extra) or '(none)'}: {args.rows:,} rows, latency {args.latency}")
    print(f"  fail-rate 0:    {clean:.2f} s (median of {args.rounds})")
    print(f"  fail-rate {args.fail_rate}: {faulty:.2f} s, {waits:.0f} s of Retry-After asked (medians)")
    print(f"  fail-rate {args.fail_rate}, each run less its Retry-After seconds: {beyond:.2f} s (median)")
    print(f"  goal (fault-free + Retry-After) x 1.25 = {goal:.2f} s: {'met' if faulty <= goal else 'NOT met'}")


if __name__ == "__main__":
    main()
