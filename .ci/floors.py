"""Print a pip constraints file pinning every runtime dependency, and those of the extras named on the command
line, at exactly the floor pyproject.toml declares (``name>=X`` becomes ``name==X``). Generated on each CI run from
pyproject.toml itself, so the floors that are tested are the floors that are promised.

    python .ci/floors.py cli examples redis otel > floors.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# A floor, and optionally a cap below the next major version (``name>=4.5.0,<5``).
FLOOR = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([0-9][^,;\s]*)(,<[0-9][^,;\s]*)?$")


def floors(requirements: list[str]) -> list[str]:
    pins = []
    for requirement in requirements:
        match = FLOOR.match(requirement.replace(" ", ""))
        if match is None:
            sys.exit(f"{requirement!r} declares no plain '>=' floor: say what the oldest supported version is")
        pins.append(f"{match.group(1)}=={match.group(3)}")
    return pins


def main() -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in sys.argv[1:]:
        requirements += project["optional-dependencies"][extra]
    print("\n".join(sorted(set(floors(requirements)))))


if __name__ == "__main__":
    main()
