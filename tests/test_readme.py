"""Every Python block of the README runs: the quick start as a script, the others in order in one namespace
against a fake space (as if typed into ``python -m asyncio``), and each example test function it defines is called."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import signalwire_tokens
from signalwire_tokens.testing import FakeSignalWire

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
QUICK_START = next(b for b in BLOCKS if "asyncio.run(main())" in b)


def test_the_quick_start_runs_offline_and_prints_what_the_readme_shows() -> None:
    assert README.index(QUICK_START) < 2000, "on the first screen"
    assert len([line for line in QUICK_START.splitlines() if line.strip()]) <= 14
    result = subprocess.run([sys.executable, "-c", QUICK_START], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ApiToken(id='") and "permissions=('chat', 'messaging')" in lines[0]
    assert lines[1].startswith("ChatToken(token='eyJ0…") and "member_id='alice'" in lines[1]
    assert lines[2].startswith("handled: HTTP 404: The requested resource was not found, code=20404 [DELETE http://")
    assert result.stderr == ""


async def test_every_other_block_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SIGNALWIRE_SPACE", "example")
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", "ea14556a-984f-11ee-b9d1-0242ac120002")
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", "PTreadme")
    saved: list[tuple[int, str]] = []
    async with FakeSignalWire() as fake, fake.client() as client:
        namespace: dict[str, Any] = {name: getattr(signalwire_tokens, name) for name in signalwire_tokens.__all__}
        namespace.update(
            client=client,
            save=lambda index, token: saved.append((index, token)),
            log_failure=lambda *args: pytest.fail(f"a README batch item failed: {args}"),
            my_backend=types.SimpleNamespace(
                mint_token_for=lambda member: client.chat_tokens.create(
                    ttl=5, channels={"lobby": {"read": True}}, member_id=member
                )
            ),
        )
        fixtures = {"signalwire_client": client, "signalwire_fake": fake, "client": client, "fake": fake}
        fixtures["signalwire_conference"] = fake.add_conference(tokens=2)
        ran = sync_blocks = 0
        for block in BLOCKS:
            if block is QUICK_START:
                continue
            before = set(namespace)
            code = compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if "SyncSignalWireClient" in block:
                # A blocking client refuses to run inside an event loop: its block runs in a thread, as a script
                # would, with from_env() pointed at the fake space.
                with monkeypatch.context() as env:
                    env.setenv("SIGNALWIRE_PROJECT_ID", fake.project_id)
                    env.setenv("SIGNALWIRE_API_TOKEN", fake.api_token)
                    env.setenv("SIGNALWIRE_BASE_URL", fake.url)
                    await asyncio.to_thread(eval, code, namespace)
                sync_blocks += 1
                namespace["client"] = client
                continue
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result
            for name in sorted(set(namespace) - before):
                function = namespace[name]
                if name.startswith("test_") and inspect.iscoroutinefunction(function):
                    parameters = inspect.signature(function).parameters
                    await function(**{p: fixtures[p] for p in parameters})
            ran += 1
            if namespace["client"] is not client:  # a block made its own (never used) client
                await namespace["client"].aclose()
                namespace["client"] = client
    assert ran + sync_blocks == len(BLOCKS) - 1 >= 10 and sync_blocks == 1
    assert len(saved) == 1000, "the batch example minted every token"
    assert "BatchProgress(done=" in capsys.readouterr().out
