"""``.ci/api-check``: the public API held against the committed baseline, a breaking change named and refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "api-check"

# The suite also runs from a copy of tests/ without .ci/ (the floor and newest-aiohttp runs), and griffe comes with
# the api dependency group only.
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="runs in a checkout: .ci/api-check is not here")
pytest.importorskip("griffe")


def api_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_public_api_holds_against_the_baseline() -> None:
    done = api_check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holds" in done.stdout


LISTING = "    def list(self, conference_id: str, *, page_size: int = 50) -> AsyncIterator[ConferenceToken]:"
LISTED = "signalwire_tokens.resources.ConferenceTokens.list(page_size)"


@pytest.mark.parametrize(
    ("new", "reported"),
    [
        (LISTING.replace(", *, page_size: int = 50", ""), f"Parameter was removed: {LISTED}"),
        (LISTING.replace("= 50", "= 10"), f"Parameter default was changed: {LISTED}: 50 -> 10"),
        (
            LISTING.replace("self, conference_id: str, *,", "self, *, conference_id: str,"),
            "Parameter kind was changed: signalwire_tokens.resources.ConferenceTokens.list(conference_id):"
            " positional or keyword -> keyword-only",
        ),
    ],
    ids=["removed parameter", "changed default", "changed kind"],
)
def test_a_breaking_change_fails_naming_it(tmp_path: Path, new: str, reported: str) -> None:
    shutil.copytree(ROOT / "signalwire_tokens", tmp_path / "signalwire_tokens")
    module = tmp_path / "signalwire_tokens" / "resources" / "video" / "_conference_tokens.py"
    source = module.read_text()
    assert LISTING in source
    module.write_text(source.replace(LISTING, new))
    done = api_check("--search-path", str(tmp_path))
    assert done.returncode == 1
    assert reported in done.stdout
    assert "--update" in done.stdout and "CHANGELOG" in done.stdout


def test_update_writes_a_baseline_the_code_then_holds_against(tmp_path: Path) -> None:
    # Not compared with the committed baseline: a name added to the API is no breaking change, and the baseline is
    # rewritten when it is meant (an addition then shows in the baseline's diff).
    shutil.copytree(ROOT / "signalwire_tokens", tmp_path / "signalwire_tokens")
    module = tmp_path / "signalwire_tokens" / "resources" / "video" / "_conference_tokens.py"
    module.write_text(module.read_text().replace(LISTING, LISTING.replace("= 50", "= 10")))
    baseline, code = tmp_path / "baseline.json", ["--search-path", str(tmp_path)]
    assert api_check("--update", "--baseline", str(baseline), *code).returncode == 0
    assert '"default": "10"' in baseline.read_text()
    done = api_check("--baseline", str(baseline), *code)
    assert done.returncode == 0, done.stdout
