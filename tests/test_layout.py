"""The package's layout as DESIGN.md draws it: the resources (one family of tokens per module) stand on the core
(the chain, the transport, retries, the batch engine), and the core never imports them; no module grows past about
300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import signalwire_tokens

#: The package under test, where it is imported from: the source tree, or the installed wheel when the suite runs
#: from a copy of the tests (as CI's floor and newest-aiohttp runs do).
PACKAGE = Path(signalwire_tokens.__file__).parent
#: What sits above the resources and may use them: the package's face, the clients, the command line, the fake space,
#: the browser endpoints.
ABOVE_RESOURCES = ("__init__.py", "_client.py", "_sync/", "cli/", "testing/", "resources/", "web/")
MAX_LINES = 300


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _runtime_imports(path: Path) -> set[str]:
    """The modules ``path`` imports when it runs (not under ``if TYPE_CHECKING:``), as absolute dotted names."""
    tree = ast.parse(path.read_text())
    package = ["signalwire_tokens", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit([n for n in inner if isinstance(n, ast.stmt)])
                elif isinstance(inner, list):
                    visit(inner)

    visit(tree.body)
    return found


@pytest.mark.parametrize("path", [p for p in _modules() if not _name(p).startswith(ABOVE_RESOURCES)], ids=_name)
def test_the_core_never_imports_a_resource(path: Path) -> None:
    upward = sorted(m for m in _runtime_imports(path) if m.startswith("signalwire_tokens.resources"))
    assert upward == [], f"{_name(path)} imports {upward}: the resources import the core, never the other way"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_no_module_grows_past_300_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_families_live_in_resources() -> None:
    families = {_name(p) for p in (PACKAGE / "resources").rglob("*.py")}
    assert {"resources/_api_tokens.py", "resources/_channel_tokens.py"} <= families
