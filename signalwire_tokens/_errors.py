"""The exception hierarchy. Messages name what happened and never carry credentials or minted tokens.

Errors are attrs classes, complete when they are made: a layer that learns more (the retry layer knows how many
attempts were made and why it stopped) makes a new error with :func:`attrs.evolve` rather than writing fields onto
one that already exists.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ._http import freeze_headers

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "BatchRowError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "ErrorDetail",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterError",
    "RequestTimeoutError",
    "ServerError",
    "SignalWireError",
    "TransportError",
    "UnexpectedResponseError",
    "UnprocessableEntityError",
]


def _restore(cls: type[SignalWireError], fields: dict[str, Any]) -> SignalWireError:
    return cls(fields.pop("message"), **fields)


@attrs.define(eq=False, repr=False)
class SignalWireError(Exception):
    """Base class of every error this library raises on purpose."""

    message: str
    #: How many attempts the call made before this error surfaced.
    attempts: int = attrs.field(default=1, kw_only=True)
    #: What else the caller should know: why retrying stopped, what an unknown outcome means.
    notes: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    #: True when the request may have reached the API and been acted on, so repeating it is not safe.
    outcome_unknown: bool = attrs.field(default=False, kw_only=True)
    #: True when a retry was refused because the client's retry budget was spent.
    retry_budget_exhausted: bool = attrs.field(default=False, kw_only=True)

    def __str__(self) -> str:
        return "; ".join([self._describe(), *self.notes])

    def _describe(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their positional args; these take keywords. A read-only multidict does not
        # pickle: it goes as a plain one, and the field's converter makes it read-only again.
        fields = {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}
        fields = {k: CIMultiDict(v) if isinstance(v, CIMultiDictProxy) else v for k, v in fields.items()}
        return _restore, (type(self), fields)


@attrs.define(eq=False, repr=False)
class InvalidRequestError(SignalWireError, ValueError):
    """The input was refused before any request was sent. ``field`` names the offending argument or field
    (``"ttl"``, ``"channels"``, ``"permissions"``, ...), or is None when no single one is to blame."""

    field: str | None = attrs.field(default=None, kw_only=True)


@attrs.define(eq=False, repr=False)
class TransportError(SignalWireError):
    """The API could not be reached or did not answer in time (after retries).

    ``request_sent`` is False only when the request certainly never left this machine, so the API cannot have
    acted on it.
    """

    method: str | None = attrs.field(default=None, kw_only=True)
    url: str | None = attrs.field(default=None, kw_only=True)
    request_sent: bool = attrs.field(default=True, kw_only=True)

    def _describe(self) -> str:
        if self.method and self.url:
            return f"{self.message} [{self.method} {self.url}]"
        return self.message


@attrs.define(eq=False, repr=False)
class ConnectError(TransportError):
    """The connection could not be opened: the request never left, so the API cannot have acted on it."""

    request_sent: bool = attrs.field(default=False, kw_only=True)


@attrs.define(eq=False, repr=False)
class ConnectionLostError(TransportError):
    """The connection broke after the request may have been sent."""


@attrs.define(eq=False, repr=False)
class RequestTimeoutError(TransportError):
    """An attempt ran out of time. ``limit`` says which: ``"timeout"`` (the client's per-attempt timeout) or
    ``"deadline"`` (the retry policy's deadline for the whole call)."""

    limit: Literal["timeout", "deadline"] = attrs.field(default="timeout", kw_only=True)


@attrs.define(eq=False, repr=False)
class ConnectTimeoutError(RequestTimeoutError, ConnectError):
    """No connection (from the pool or a new one) within the time left: the request never left."""

    request_sent: bool = attrs.field(default=False, kw_only=True)


@attrs.define(eq=False, repr=False)
class DeadlineExceededError(RequestTimeoutError):
    """The call's deadline ran out: during an attempt, or before one could start (then nothing was sent)."""

    limit: Literal["timeout", "deadline"] = attrs.field(default="deadline", kw_only=True)


@attrs.define(eq=False, repr=False)
class RateLimiterError(TransportError):
    """The client's rate limiter could not be asked (its Redis is down or unreachable): the request was not sent,
    since sending it without the shared window's permission could push the whole fleet over the API's limit. A
    single call retries it as a connection that never opened; a batch waits it out, as a 429, up to
    ``RetryPolicy.max_rate_limit_wait``."""

    request_sent: bool = attrs.field(default=False, kw_only=True)


@attrs.define(eq=False, repr=False)
class BatchRowError(SignalWireError):
    """One row of a batch raised an exception that is not a :class:`SignalWireError` (a middleware's, a
    transport's, or a bug): that row fails with this error, the original as its ``__cause__``, and the batch goes on.
    The message names only the original's type, since its text may carry a secret. ``outcome_unknown`` is True when
    it was raised while minting, which may have been after the API acted."""


@attrs.define(eq=False, repr=False)
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


@attrs.define(eq=False, repr=False)
class ApiError(SignalWireError):
    """The API answered with a status that is not a success (after retries).

    ``headers`` are the response's, looked up case-insensitively (``error.headers["retry-after"]``).
    """

    status: int = attrs.field(kw_only=True)
    code: str | int | None = attrs.field(default=None, kw_only=True)
    attribute: str | None = attrs.field(default=None, kw_only=True)
    more_info: str | None = attrs.field(default=None, kw_only=True)
    errors: tuple[ErrorDetail, ...] = attrs.field(default=(), kw_only=True)
    request_id: str | None = attrs.field(default=None, kw_only=True)
    method: str | None = attrs.field(default=None, kw_only=True)
    url: str | None = attrs.field(default=None, kw_only=True)
    retry_after: float | None = attrs.field(default=None, kw_only=True)
    headers: CIMultiDictProxy[str] = attrs.field(
        factory=lambda: freeze_headers(None), converter=freeze_headers, kw_only=True
    )
    #: True on a 404 that followed an attempt whose outcome was unknown (see ``delete``).
    after_unknown_outcome: bool = attrs.field(default=False, kw_only=True)

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


@attrs.define(eq=False, repr=False)
class BadRequestError(ApiError):
    """400: the API could not parse the request."""


@attrs.define(eq=False, repr=False)
class AuthenticationError(ApiError):
    """401: the project ID or API token was not accepted."""


@attrs.define(eq=False, repr=False)
class PermissionDeniedError(ApiError):
    """403: the API token lacks the scope this operation needs."""


@attrs.define(eq=False, repr=False)
class NotFoundError(ApiError):
    """404: no such resource (or project)."""


@attrs.define(eq=False, repr=False)
class UnprocessableEntityError(ApiError):
    """422: the API refused a parameter; ``attribute`` names it when the API says which."""


@attrs.define(eq=False, repr=False)
class RateLimitError(ApiError):
    """429: too many requests; ``retry_after`` is the wait the API asked for, in seconds, if it said."""


@attrs.define(eq=False, repr=False)
class ServerError(ApiError):
    """5xx: the API failed."""
