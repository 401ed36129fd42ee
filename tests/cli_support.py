"""Running a batch command (``chat-token batch`` unless told) as a subprocess against a threaded fake space, for the
command line's test modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signalwire_tokens.cli import main
from signalwire_tokens.testing import fast_retries

from .support import ThreadedFake

COMMAND = [sys.executable, "-m", "signalwire_tokens.cli"]


def rows(n: int, start: int = 0, **fields: Any) -> str:
    return "".join(
        json.dumps({"member_id": f"m{i}", "channels": {"c": {"read": True}}, "ttl": 5, **fields}) + "\n"
        for i in range(start, start + n)
    )


def environment(space: ThreadedFake, api_token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALWIRE_")}
    return {
        **env,
        "SIGNALWIRE_PROJECT_ID": space.fake.project_id,
        "SIGNALWIRE_API_TOKEN": api_token or space.fake.api_token,
        "SIGNALWIRE_BASE_URL": space.fake.url,
    }


#: Three valid input rows of each batch family, by command.
FAMILY_ROWS = {
    "chat-token": rows(3),
    "pubsub-token": rows(3),
    "room-token": "".join(json.dumps({"room_name": "lobby", "user_name": f"u{i}"}) + "\n" for i in range(3)),
    "subscriber-token": "".join(json.dumps({"reference": f"s{i}@example.com"}) + "\n" for i in range(3)),
}


def batch(
    space: ThreadedFake,
    *options: str,
    stdin: str | None = None,
    api_token: str | None = None,
    command: str = "chat-token",
) -> Any:
    return subprocess.run(
        [*COMMAND, command, "batch", *options],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space, api_token),
    )


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command line run in this process (retries without waits): its exit code, stdout and stderr."""
    with fast_retries():
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
