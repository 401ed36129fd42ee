"""The README and every page of the documentation site (docs/) say what is true: each Python block runs (the quick
start as a script; a page's other blocks in order in one namespace against a fake space, as if typed into
``python -m asyncio``, each example test function a block defines called with the plugin's fixtures); a block that
includes a recipe (``--8<-- "examples/..."``) names a file CI runs; the README's two commands are the getting-started
page's; the reference shows every public name; and the pytest set-up the testing page advises warns of nothing."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import signalwire_tokens
from signalwire_tokens.testing import FakeSignalWire

from .test_examples import EXPECTED as RECIPE_OUTPUT

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
GETTING_STARTED = (ROOT / "docs" / "getting-started.md").read_text()
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text() for path in [ROOT / "README.md", *ROOT.glob("docs/**/*.md")]
}
SNIPPET = re.compile(r'--8<-- "([^"]+)"')
PUBLIC_MODULES = (
    "signalwire_tokens",
    "signalwire_tokens.web",
    "signalwire_tokens.testing",
    "signalwire_tokens.telemetry",
)


def blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page, re.S)


def is_script(block: str) -> bool:
    return "asyncio.run(main())" in block


QUICK_START = next(b for b in blocks(README, "python") if is_script(b))


def test_the_quick_start_is_on_the_first_screen_and_the_getting_started_page_shows_it_as_it_is() -> None:
    assert README.index(QUICK_START) < 2000, "on the first screen"
    assert len([line for line in QUICK_START.splitlines() if line.strip()]) <= 14
    assert [b for b in blocks(GETTING_STARTED, "python") if is_script(b)] == [QUICK_START]


def test_the_readme_is_a_landing_page_naming_all_five_families_on_its_first_screen() -> None:
    first_screen = README[: README.index(QUICK_START)]
    families = (
        "compatibility and project API tokens",
        "chat and PubSub tokens",
        "Video room and conference tokens",
        "Call Fabric subscriber, guest, embed and invite tokens",
        "browser token endpoints",
    )
    assert all(family in first_screen for family in families)
    assert len(README.splitlines()) <= 300
    assert "pip install --group docs" in README and "mkdocs serve" in README
    linked = set(re.findall(r"\]\((docs/[\w/.-]+\.md)", README))
    assert linked and all((ROOT / page).is_file() for page in linked)
    assert {f"docs/{page}" for page in ("api-tokens.md", "chat-pubsub.md", "video.md", "fabric.md")} <= linked
    assert "docs/browser-endpoints.md" in linked


def test_the_quick_start_runs_offline_and_prints_what_the_readme_shows() -> None:
    result = subprocess.run([sys.executable, "-c", QUICK_START], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ApiToken(id='") and "permissions=('chat', 'messaging')" in lines[0]
    assert lines[1].startswith("ChatToken(token='eyJ0…") and "member_id='alice'" in lines[1]
    assert lines[2].startswith("handled: HTTP 404: The requested resource was not found, code=20404 [DELETE http://")
    assert result.stderr == ""
    for page in (README, GETTING_STARTED):
        shown = page[page.index(QUICK_START) + len(QUICK_START) :]
        output = blocks(shown, "console")[0].splitlines()
        assert output[0] == "$ python quickstart.py" and [line[:12] for line in output[1:]] == [
            line[:12] for line in lines
        ]


def test_the_two_commands_are_the_getting_started_pages_and_ci_runs_the_test_command() -> None:
    """Run the demo; pass the tests: the README's first console block is the getting-started page's, and .ci/run
    runs its test command as written."""
    commands = blocks(README, "console")[0]
    assert commands == blocks(GETTING_STARTED, "console")[0]
    assert "signalwire-tokens demo" in commands
    test_command = next(line for line in commands.splitlines() if "pytest" in line).split("#")[0]
    ci_step = test_command[test_command.index("python -m coverage run") :].strip()
    assert ci_step in (ROOT / ".ci" / "run").read_text()


def test_the_recipes_output_shown_is_what_they_print() -> None:
    shown = [
        (match.group(1), match.group(2).rstrip("\n"))
        for page in PAGES.values()
        for match in re.finditer(r"```console\n\$ python examples/(\S+)\n(.*?)```", page, re.S)
    ]
    assert shown and all(RECIPE_OUTPUT[name] == output for name, output in shown)


def test_the_browser_sdk_provider_shown_is_the_recipe_pages_own() -> None:
    """The JavaScript the browser endpoints page shows is the provider of examples/browser_sdk_page.html, which
    tests/test_browser.py drives in a real browser."""
    lines = {line.strip() for line in (ROOT / "examples" / "browser_sdk_page.html").read_text().splitlines()}
    shown = [block for text in PAGES.values() for block in blocks(text, "javascript")]
    assert shown and all(line.strip() in lines for block in shown for line in block.splitlines())


def test_the_reference_shows_every_public_name() -> None:
    reference = "".join(page for name, page in PAGES.items() if name.startswith("docs/reference/"))
    shown = set(re.findall(r"^::: (\S+)$", reference, re.M))
    public = {f"{module}.{name}" for module in PUBLIC_MODULES for name in importlib.import_module(module).__all__}
    assert public <= shown, sorted(public - shown)


def test_the_advised_pytest_set_up_runs_the_fixtures_and_warns_of_nothing(tmp_path: Path) -> None:
    """A new project set up as the testing page says: its configuration, its fixtures' example, pytest -W error."""
    page = PAGES["docs/testing.md"]
    section = page[page.index("## pytest fixtures") :]
    (tmp_path / "pyproject.toml").write_text(blocks(section, "toml")[0])
    (tmp_path / "test_app.py").write_text(blocks(section, "python")[0])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "warning" not in result.stdout.lower()


@attrs.define
class Ran:
    """What running a page's blocks did, for the checks of particular pages."""

    blocks: int = 0
    sync_blocks: int = 0
    included: list[str] = attrs.Factory(list)
    saved: list[tuple[int, str]] = attrs.Factory(list)
    output: str = ""


# What particular pages' blocks must have done, beyond running.
PAGE_CHECKS: dict[str, Callable[[Ran], bool]] = {
    "docs/batches.md": lambda ran: len(ran.saved) == 1000 and "BatchProgress(done=" in ran.output,
    "docs/sync-client.md": lambda ran: ran.sync_blocks == 1,
}
PAGES_WITH_CODE = sorted(name for name, page in PAGES.items() if any(not is_script(b) for b in blocks(page, "python")))


def test_the_pages_with_code_include_every_family_and_the_checked_ones() -> None:
    assert set(PAGE_CHECKS) <= set(PAGES_WITH_CODE)
    assert {"README.md", "docs/browser-endpoints.md", "docs/fabric.md", "docs/video.md"} <= set(PAGES_WITH_CODE)


@pytest.mark.parametrize("name", PAGES_WITH_CODE)
async def test_every_block_of_the_page_runs(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page_blocks = [block for block in blocks(PAGES[name], "python") if not is_script(block)]
    ran = await run_blocks(page_blocks, name, monkeypatch)
    ran.output = capsys.readouterr().out
    assert all((ROOT / path).is_file() and path.startswith("examples/") for path in ran.included)
    assert ran.blocks + ran.sync_blocks + len(ran.included) == len(page_blocks) >= 1
    assert PAGE_CHECKS.get(name, lambda ran: True)(ran), ran


async def run_blocks(page_blocks: list[str], name: str, monkeypatch: pytest.MonkeyPatch) -> Ran:
    monkeypatch.setenv("SIGNALWIRE_SPACE", "example")
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", "ea14556a-984f-11ee-b9d1-0242ac120002")
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", "PTreadme")
    # The fleet's configuration, as the browser endpoints' page reads it (nothing connects to Redis there).
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SIGNALWIRE_TOKENS_KEYS", "Z5lJvkQ3d8b8bI4Jv0o2vPZQm0lG8wq2XbH6d3iY6zE=")
    ran = Ran()
    async with FakeSignalWire() as fake, fake.client() as client:
        namespace: dict[str, Any] = {name: getattr(signalwire_tokens, name) for name in signalwire_tokens.__all__}
        namespace.update(
            client=client,
            save=lambda index, token: ran.saved.append((index, token)),
            log_failure=lambda *args: pytest.fail(f"a batch item of {name} failed: {args}"),
            my_backend=types.SimpleNamespace(
                mint_token_for=lambda member: client.chat_tokens.create(
                    ttl=5, channels={"lobby": {"read": True}}, member_id=member
                )
            ),
        )
        fixtures = {"signalwire_client": client, "signalwire_fake": fake, "client": client, "fake": fake}
        fixtures["signalwire_conference"] = fake.add_conference(tokens=2)
        for block in page_blocks:
            if included := SNIPPET.findall(block):
                ran.included += included  # a recipe CI runs (tests/test_examples.py), shown as it is
                continue
            before = set(namespace)
            code = compile(block, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if "SyncSignalWireClient" in block:
                # A blocking client refuses to run inside an event loop: its block runs in a thread, as a script
                # would, with from_env() pointed at the fake space.
                with monkeypatch.context() as env:
                    env.setenv("SIGNALWIRE_PROJECT_ID", fake.project_id)
                    env.setenv("SIGNALWIRE_API_TOKEN", fake.api_token)
                    env.setenv("SIGNALWIRE_BASE_URL", fake.url)
                    await asyncio.to_thread(eval, code, namespace)
                ran.sync_blocks += 1
                namespace["client"] = client
                continue
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result
            for defined in sorted(set(namespace) - before):
                function = namespace[defined]
                if defined.startswith("test_") and inspect.iscoroutinefunction(function):
                    parameters = inspect.signature(function).parameters
                    await function(**{p: fixtures[p] for p in parameters})
            ran.blocks += 1
            if namespace["client"] is not client:  # a block made its own (never used) client
                await namespace["client"].aclose()
                namespace["client"] = client
    return ran
