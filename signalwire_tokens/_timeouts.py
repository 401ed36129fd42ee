"""How long one attempt may take, for any transport: the client's per-attempt timeout or what is left of the call's
deadline, whichever ends first, and the error that says which one ran out."""

from __future__ import annotations

from typing import Literal

from ._errors import ConnectTimeoutError, DeadlineExceededError, RequestTimeoutError
from ._http import Request

__all__ = ["Limit", "attempt_limit", "timeout_error"]

Limit = Literal["timeout", "deadline"]


def attempt_limit(request: Request, now: float) -> tuple[float | None, Limit]:
    """Seconds the attempt may take (None: no limit) and which limit that is; ``now`` is ``loop.time()``.

    Raises :class:`DeadlineExceededError` (nothing sent) when the call's deadline has already passed.
    """
    seconds = request.timeout
    if request.deadline is None:
        return seconds, "timeout"
    left = request.deadline - now
    if left <= 0:
        raise DeadlineExceededError(
            "the call's deadline passed before this attempt could start",
            method=request.method,
            url=str(request.url),
            request_sent=False,
        )
    if seconds is None or left < seconds:
        return left, "deadline"
    return seconds, "timeout"


def timeout_error(request: Request, seconds: float, limit: Limit, *, connecting: bool = False) -> RequestTimeoutError:
    """The error for an attempt that ran out of time; ``connecting``: no connection was made, nothing was sent."""
    what = f"the call's deadline ({seconds:.3g} s left)" if limit == "deadline" else f"{seconds:g} s"
    method, url = request.method, str(request.url)
    if connecting:
        return ConnectTimeoutError(f"no connection within {what}", method=method, url=url, limit=limit)
    cls = DeadlineExceededError if limit == "deadline" else RequestTimeoutError
    return cls(f"no answer within {what}", method=method, url=url, limit=limit)
