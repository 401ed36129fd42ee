"""What the core answers: a status, headers and a JSON body, whatever the framework. Every answer is
``Cache-Control: no-store`` (a token, or a refusal about one, is never kept by a cache) and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Answer", "BodyError", "json_answer", "refusal"]

#: Compact JSON, made once: ``json.dumps`` with ``separators`` would make an encoder per answer.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
_ALWAYS = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@attrs.frozen
class Answer:
    """An answer as the adapters send it. ``outcome`` says in a word what happened, for the log and the span;
    ``error_type`` names the exception behind a failure (``ServerError``), for the span's ``error.type``."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    outcome: str
    error_type: str | None = None

    def with_headers(self, extra: Mapping[str, str]) -> Answer:
        """The same answer with ``extra`` headers (CORS) added."""
        return attrs.evolve(self, headers={**self.headers, **extra}) if extra else self


def json_answer(status: int, body: Mapping[str, Any], outcome: str, headers: Mapping[str, str] | None = None) -> Answer:
    """An answer with ``body`` as compact JSON and the headers every answer has."""
    encoded = _COMPACT.encode(body).encode()
    return Answer(status, {**_ALWAYS, **(headers or {})}, encoded, outcome)


def refusal(
    status: int, error: str, outcome: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
) -> Answer:
    """A refusal: ``{"error": ...}``, with ``"field"`` for a body that does not fit its route."""
    body: dict[str, Any] = {"error": error}
    if status == 400:
        body["field"] = field
    return json_answer(status, body, outcome, headers)


class BodyError(Exception):
    """A request body that does not fit its route: the message and the field (None: the body as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
