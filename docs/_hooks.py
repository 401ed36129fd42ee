"""MkDocs hook: the benchmark plots live beside the benchmarks that draw them (benchmarks/*.png); the site serves
them at its root, where the performance page (which includes benchmarks/README.md) finds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def on_files(files: Files, config: Any) -> Files:
    for plot in sorted(BENCHMARKS.glob("*.png")):
        files.append(File(plot.name, str(BENCHMARKS), config["site_dir"], config["use_directory_urls"]))
    return files
