"""The recipes under examples/ run, offline, and print what they promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
EXPECTED = {
    "aiohttp_app.py": "GET /chat-token/session-42 -> 200, token for member 'session-42'",
    "fastapi_app.py": "GET /chat-token/bob -> 200, token for member 'bob'",
    "fastapi_cache.py": "3 page views by 2 users -> 2 chat tokens minted (alice's two share one: True)",
    "bot.py": "bot stopped; 3 tokens minted",
    "batch_from_csv.py": "499 minted, 1 failed",
    "middleware_metrics.py": "attempts: {'chat_tokens.create 200': 5, 'chat_tokens.create 502': 2, "
    "'chat_tokens.create ConnectionLostError': 1}",
    "otel_console.py": "minted 2 chat tokens (the first after a 503)",
}


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


def run(name: str) -> str:
    if name.startswith("fastapi_"):
        pytest.importorskip("fastapi")
        pytest.importorskip("httpx")
    if name.startswith("otel_"):
        pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk (the examples extra)")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    stdout = run(name)
    assert EXPECTED[name] in stdout, stdout


def test_the_console_recipe_prints_the_spans_of_each_call_and_attempt_then_the_metrics() -> None:
    stdout = run("otel_console.py")
    names = re.findall(r'^    "name": "(.*)",$', stdout, re.M)  # the spans' own names, in the order they ended
    attempt, call = "POST /api/chat/tokens", "chat_tokens.create"
    assert names == [attempt, attempt, call, attempt, call, "GET /chat-tokens"]
    assert stdout.count('"http.request.resend_count": 1') == 1
    for metric in ("http.client.request.duration", "signalwire_tokens.retries", "signalwire_tokens.tokens_minted"):
        assert f'"name": "{metric}"' in stdout
