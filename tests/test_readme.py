"""The README's code: every Python block compiles, and the runnable ones run and print what the README shows."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_every_python_block_compiles() -> None:
    assert len(BLOCKS) >= 6
    for block in BLOCKS:
        compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_quick_start_runs_offline_and_prints_what_the_readme_shows() -> None:
    quick_start = next(b for b in BLOCKS if "asyncio.run(main())" in b)
    assert len([line for line in quick_start.splitlines() if line.strip()]) <= 14
    result = subprocess.run([sys.executable, "-c", quick_start], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ApiToken(id='") and "permissions=('chat', 'messaging')" in lines[0]
    assert lines[1].startswith("ChatToken(token='eyJ0…") and "member_id='alice'" in lines[1]
    assert lines[2].startswith(
        "handled: HTTP 404: The requested resource was not found, code=20404 [DELETE http://127.0.0.1:"
    )
    assert result.stderr == ""


async def test_the_testing_example_passes() -> None:
    block = next(b for b in BLOCKS if "async def test_my_backend" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    await namespace["test_my_backend_survives_a_flaky_api"]()  # type: ignore[operator]
