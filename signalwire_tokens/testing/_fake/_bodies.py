"""What the fake space answers, and the one place that shapes every documented error body.

SignalWire's two REST APIs answer errors in different shapes (``spec/openapi-tokens.yaml``):

- the compatibility API (``/api/laml/...``): ``{code, message, more_info, status}`` (CompatibilityErrorResponse),
  and for a 422 the flat ``{type, code, message, attribute, url}`` (CompatibilityTokenValidationError);
- the platform API (``/api/chat/tokens``, ``/api/project/tokens``, ``/api/pubsub/tokens``): ``{"error": <reason
  phrase>}`` (400, 401, 404, 500), and for a 422 ``{"errors": [{type, code, message, attribute, url}]}``.

A status the spec does not document for an operation (a 429, a 503) gets its family's shape all the same, as JSON.
"""

from __future__ import annotations

import enum
import http
import json
from collections.abc import Mapping
from typing import Any

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["DROP", "Answer", "Dropped", "Family", "Refusal", "error_answer"]

JSON = "application/json"
COMPATIBILITY_DOCS = "https://signalwire.com/docs/compatibility-api/reference/errors"
PLATFORM_DOCS = "https://signalwire.com/docs/apis/error-codes"
# The compatibility API's own error codes where it has one; any other status is its own code.
_COMPATIBILITY_ERRORS = {401: (20003, "Authentication Failed"), 404: (20404, "The requested resource was not found")}
_INVALID = "The request contains invalid parameters"


class Family(enum.Enum):
    """The two error vocabularies: an operation's path decides which one it speaks."""

    COMPATIBILITY = "compatibility"
    PLATFORM = "platform"


def _frozen(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(headers))


@attrs.frozen
class Answer:
    """One answer of the fake space, as it goes on the wire."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(converter=_frozen)
    body: bytes = attrs.field(default=b"", repr=False)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
        """``data`` as a JSON body; ``headers`` may name another Content-Type."""
        merged = CIMultiDict(headers or {})
        merged.setdefault("Content-Type", JSON)
        return cls(status, merged, json.dumps(data).encode())


class Dropped:
    """The outcome of a reset fault: the connection is dropped and nothing is answered."""


DROP = Dropped()


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(
    family: Family,
    status: int,
    message: str | None = None,
    *,
    attribute: str | None = None,
    code: str = "invalid_parameter",
) -> dict[str, Any]:
    """The documented error body of ``family`` for ``status``; ``message``, ``attribute`` and ``code`` say what was
    wrong where the shape has room for it (the platform API's non-422 bodies hold only the reason phrase)."""
    if status == 422:
        entry: dict[str, Any] = {"type": "validation_error", "code": code, "message": message or _INVALID}
        if attribute is not None:
            entry["attribute"] = attribute
        if family is Family.COMPATIBILITY:
            return {**entry, "url": COMPATIBILITY_DOCS}
        return {"errors": [{**entry, "url": PLATFORM_DOCS}]}
    if family is Family.COMPATIBILITY:
        number, default = _COMPATIBILITY_ERRORS.get(status, (status, _reason(status)))
        return {"code": number, "message": message or default, "more_info": COMPATIBILITY_DOCS, "status": status}
    return {"error": _reason(status)}


def error_answer(family: Family, status: int, headers: Mapping[str, str] | None = None) -> Answer:
    """The default answer for an error ``status``: what a fault sends when no body is given."""
    return Answer.json(status, error_body(family, status), headers)


class Refusal(Exception):
    """A documented error, raised where a check fails; the operation's family gives it its shape (:meth:`answer`),
    so the same check serves both APIs."""

    def __init__(
        self, status: int, message: str | None = None, *, attribute: str | None = None, code: str = "invalid_parameter"
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.attribute = attribute
        self.code = code

    def answer(self, family: Family) -> Answer:
        body = error_body(family, self.status, self.message, attribute=self.attribute, code=self.code)
        return Answer.json(self.status, body)
