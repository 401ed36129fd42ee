"""A griffe extension for the API reference: the package's docstrings are written with Sphinx's roles
(:class:`~signalwire_tokens.SignalWireClient`, :meth:`with_options`, ``code``, a literal block after "::"), and
mkdocstrings renders Markdown. Each role becomes a link when it names an object the reference shows, else code;
"::" ending a paragraph becomes ":" (the indented block under it is already a Markdown code block). An attribute
documented as Sphinx reads it, by ``#:`` comments on the lines above it, gets those as its docstring."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

REFERENCE = Path(__file__).parent / "reference"
ROLE = re.compile(r":(?:class|meth|func|attr|exc|data|mod|obj):`(~?)([\w.]+)(\(\))?`")
PUBLIC_MODULES = (
    "signalwire_tokens",
    "signalwire_tokens.web",
    "signalwire_tokens.testing",
    "signalwire_tokens.telemetry",
)


def shown() -> set[str]:
    """The identifiers the reference pages render (their ``::: identifier`` lines)."""
    return {
        line[4:].strip()
        for page in REFERENCE.glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith("::: ")
    }


class SphinxRoles(griffe.Extension):
    def __init__(self) -> None:
        self.shown = shown()

    def target(self, name: str, obj: griffe.Object) -> str | None:
        """The shown identifier ``name`` means, or None: a dotted name is itself or a member of a shown object; a bare
        name is a public module's, or a member of the class the docstring belongs to."""
        if "." in name.lstrip("."):
            return name if name in self.shown or name.rpartition(".")[0] in self.shown else None
        for module in PUBLIC_MODULES:
            if f"{module}.{name}" in self.shown:
                return f"{module}.{name}"
        owner = obj if obj.is_class else obj.parent
        if owner is None or not owner.is_class or name not in owner.members or name.startswith("_"):
            return None
        shown_as = [identifier for identifier in self.shown if identifier.rpartition(".")[2] == owner.name]
        return f"{shown_as[0]}.{name}" if len(shown_as) == 1 else None

    def role(self, match: re.Match[str], obj: griffe.Object) -> str:
        short, name, call = match.groups()
        label = (name.rpartition(".")[2] if short else name.lstrip(".")) + (call or "")
        target = self.target(name, obj)
        return f"[`{label}`][{target}]" if target else f"`{label}`"

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None and obj.is_attribute and obj.lineno and obj.filepath:
            above = Path(str(obj.filepath)).read_text().splitlines()[: obj.lineno - 1]
            comment: list[str] = []
            while above and above[-1].strip().startswith("#:"):
                comment.insert(0, above.pop().strip()[2:].strip())
            if comment:
                obj.docstring = griffe.Docstring(" ".join(comment), parent=obj)
        if obj.docstring is not None:
            text = ROLE.sub(lambda match: self.role(match, obj), obj.docstring.value)
            obj.docstring.value = re.sub(r"(\S)::$", r"\1:", text, flags=re.M)
