"""Retrying failed attempts: the policy, what is safe to retry, and the tenacity-driven middleware."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from ._errors import ApiError, ConnectError, InvalidRequestError, NotFoundError, TransportError
from ._http import Handler, Request, Response
from ._validate import check_int, check_seconds

__all__ = ["RetryPolicy", "RetryMiddleware"]

Sleep = Callable[[float], Awaitable[None]]

#: Statuses the API answers before acting on a request: retrying them cannot do anything twice.
SAFE_STATUSES = frozenset({429, 503})
#: Statuses worth another attempt for a request that may safely be repeated.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: Any) -> None:
    check_seconds(f"RetryPolicy.{attribute.name}", value)


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: Any) -> None:
    check_int(f"RetryPolicy.{attribute.name}", value, minimum=1)


@attrs.frozen
class RetryPolicy:
    """How failed attempts are retried.

    Connection failures, timeouts and 429/500/502/503/504 are retried up to ``max_attempts`` attempts in all,
    waiting ``initial_backoff * 2**(n-1)`` seconds (capped at ``max_backoff``) with jitter between them, or what a
    ``Retry-After`` header asks for. A ``Retry-After`` beyond ``max_retry_after`` is not waited for: the error is
    raised at once. ``sleep`` is injectable so tests never wait for real.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    initial_backoff: float = attrs.field(default=0.5, validator=_seconds)
    max_backoff: float = attrs.field(default=8.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)
    sleep: Sleep = attrs.field(default=asyncio.sleep, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.initial_backoff:
            raise InvalidRequestError("RetryPolicy.max_backoff must be at least initial_backoff")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt per call: every failure surfaces at once."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt``: exponential, with the upper half jittered."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def outcome_unknown(error: BaseException) -> bool:
    """Whether the API may have acted on a request that failed with ``error``."""
    if isinstance(error, ApiError):
        return error.status >= 500 and error.status not in SAFE_STATUSES
    return isinstance(error, TransportError) and not isinstance(error, ConnectError)


def retryable(error: BaseException, request: Request, policy: RetryPolicy) -> bool:
    if isinstance(error, ConnectError):
        return True
    if isinstance(error, TransportError):
        return request.idempotent
    if isinstance(error, ApiError):
        if error.retry_after is not None and error.retry_after > policy.max_retry_after:
            return False
        if error.status in SAFE_STATUSES:
            return True
        return request.idempotent and error.status in RETRIED_STATUSES
    return False


@attrs.define
class _Call:
    """What the retry loop knows about one call across its attempts."""

    request: Request
    policy: RetryPolicy
    unknown_seen: bool = False

    def should_retry(self, state: RetryCallState) -> bool:
        assert state.outcome is not None
        error = state.outcome.exception()
        if error is None:
            return False
        if isinstance(error, NotFoundError) and self.unknown_seen:
            error.after_unknown_outcome = True
        unknown = outcome_unknown(error)
        self.unknown_seen = self.unknown_seen or unknown
        if retryable(error, self.request, self.policy):
            return True
        if unknown and not self.request.idempotent:
            assert isinstance(error, TransportError | ApiError)
            error._mark_outcome_unknown(self.request.unknown_outcome_note)
        return False

    def wait(self, state: RetryCallState) -> float:
        assert state.outcome is not None
        error = state.outcome.exception()
        if isinstance(error, ApiError) and error.retry_after is not None:
            return float(error.retry_after)
        return self.policy.backoff(state.attempt_number)


@attrs.frozen
class RetryMiddleware:
    """Runs the rest of the chain once per attempt, as the policy says."""

    policy: RetryPolicy

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        call = _Call(request, self.policy)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=call.wait,
            retry=call.should_retry,
            sleep=self.policy.sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                return await call_next(request if number == 1 else attrs.evolve(request, attempt=number))
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
