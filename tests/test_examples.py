"""The recipes under examples/ run, offline, and print what they promise."""

from __future__ import annotations

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
}


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    if name.startswith("fastapi_"):
        pytest.importorskip("fastapi")
        pytest.importorskip("httpx")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert EXPECTED[name] in result.stdout, result.stdout
