"""The exception hierarchy. Messages name what happened and never carry credentials or minted tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "ErrorDetail",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ServerError",
    "SignalWireError",
    "TransportError",
    "UnexpectedResponseError",
    "UnprocessableEntityError",
]


class SignalWireError(Exception):
    """Base class of every error this library raises on purpose."""

    #: True when the request may have reached the API and been acted on, so repeating it is not safe.
    outcome_unknown: bool = False
    #: What the unknown outcome means for the caller, e.g. "the API token may have been created".
    outcome_note: str | None = None
    #: True when a retry was refused because the client's retry budget was spent.
    retry_budget_exhausted: bool = False
    #: How many attempts the call made before this error surfaced.
    attempts: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self._notes: list[str] = []

    def _add_note(self, note: str) -> None:
        self._notes.append(note)

    def _mark_outcome_unknown(self, note: str) -> None:
        self.outcome_unknown = True
        self.outcome_note = note
        self._add_note(note)

    def __str__(self) -> str:
        return "; ".join([self._describe(), *self._notes])

    def _describe(self) -> str:
        return self.message


class InvalidRequestError(SignalWireError, ValueError):
    """The input was refused before any request was sent. ``field`` names the offending argument or field
    (``"ttl"``, ``"channels"``, ``"permissions"``, ...), or is None when no single one is to blame."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransportError(SignalWireError):
    """The API could not be reached or did not answer in time (after retries).

    ``request_sent`` is False only when the request certainly never left this machine, so the API cannot have
    acted on it.
    """

    request_sent: bool = True

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def _describe(self) -> str:
        if self.method and self.url:
            return f"{self.message} [{self.method} {self.url}]"
        return self.message


class ConnectError(TransportError):
    """The connection could not be opened: the request never left, so the API cannot have acted on it."""

    request_sent = False


class ConnectionLostError(TransportError):
    """The connection broke after the request may have been sent."""


class RequestTimeoutError(TransportError):
    """An attempt ran out of time. ``limit`` says which: ``"timeout"`` (the client's per-attempt timeout) or
    ``"deadline"`` (the retry policy's deadline for the whole call)."""

    limit: str = "timeout"


class ConnectTimeoutError(RequestTimeoutError, ConnectError):
    """No connection (from the pool or a new one) within the time left: the request never left."""

    request_sent = False


class DeadlineExceededError(RequestTimeoutError):
    """The call's deadline ran out during an attempt."""

    limit = "deadline"


class UnexpectedResponseError(SignalWireError):
    """The API answered with a success status but a body the library cannot read."""


@attrs.frozen
class ErrorDetail:
    """One error entry of an error body, in the shape SignalWire's platform API uses."""

    message: str
    type: str | None = None
    code: str | int | None = None
    attribute: str | None = None
    url: str | None = None


class ApiError(SignalWireError):
    """The API answered with a status that is not a success (after retries)."""

    default_status: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | int | None = None,
        attribute: str | None = None,
        more_info: str | None = None,
        errors: tuple[ErrorDetail, ...] = (),
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.attribute = attribute
        self.more_info = more_info
        self.errors = errors
        self.request_id = request_id
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.headers: Mapping[str, str] = dict(headers or {})
        #: Set on a 404 that followed an attempt whose outcome was unknown (see ``delete``).
        self.after_unknown_outcome = False

    def _describe(self) -> str:
        parts = [f"HTTP {self.status}: {self.message}"]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.attribute:
            parts.append(f"attribute={self.attribute}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        text = ", ".join(parts)
        if self.method and self.url:
            text += f" [{self.method} {self.url}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class BadRequestError(ApiError):
    """400: the API could not parse the request."""


class AuthenticationError(ApiError):
    """401: the project ID or API token was not accepted."""


class PermissionDeniedError(ApiError):
    """403: the API token lacks the scope this operation needs."""


class NotFoundError(ApiError):
    """404: no such resource (or project)."""


class UnprocessableEntityError(ApiError):
    """422: the API refused a parameter; ``attribute`` names it when the API says which."""


class RateLimitError(ApiError):
    """429: too many requests; ``retry_after`` is the wait the API asked for, in seconds, if it said."""


class ServerError(ApiError):
    """5xx: the API failed."""
