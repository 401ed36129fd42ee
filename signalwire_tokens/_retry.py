"""Retrying failed attempts: the policy, and the decision "retry this failure, after how long, or give up and why"
as a pure function a test can call with no event loop."""

from __future__ import annotations

import contextvars
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._budget import RetryBudget
from ._errors import (
    ApiError,
    DeadlineExceededError,
    InvalidRequestError,
    RateLimiterError,
    RateLimitError,
    SignalWireError,
    TransportError,
)
from ._http import Request
from ._validate import check_int, check_seconds

__all__ = [
    "TESTING_MODE",
    "UNKNOWN_OUTCOME",
    "WAITED_OUT",
    "GiveUp",
    "RetryAfter",
    "RetryPolicy",
    "TestingMode",
    "decide",
    "outcome_unknown",
    "retryable",
    "waited_out",
]

log = logging.getLogger("signalwire_tokens")

Sleep = Callable[[float], Awaitable[None]]

#: Statuses the API answers before acting on a request: retrying them cannot do anything twice.
SAFE_STATUSES = frozenset({429, 503})
#: Statuses worth another attempt for a request that may safely be repeated.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
UNKNOWN_OUTCOME = "the API may have acted on the request"
#: What a batch waits out rather than fails on: the API's 429, and the client's rate limiter when it cannot be asked
#: (its Redis restarting). Both mean "not now", and after neither was anything done.
WAITED_OUT = (RateLimitError, RateLimiterError)


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: Any) -> None:
    check_seconds(f"RetryPolicy.{attribute.name}", value)


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: Any) -> None:
    check_int(f"RetryPolicy.{attribute.name}", value, minimum=1)


def _deadline(_instance: object, attribute: attrs.Attribute[float | None], value: Any) -> None:
    if value is not None:
        check_seconds(f"RetryPolicy.{attribute.name}", value, positive=True)


def _budget(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, RetryBudget):
        raise InvalidRequestError(
            f"RetryPolicy.budget must be a RetryBudget or None, got {type(value).__name__}", field="budget"
        )


@attrs.frozen
class RetryPolicy:
    """How failed attempts are retried.

    Connection failures, timeouts and 429/500/502/503/504 are retried up to ``max_attempts`` attempts in all,
    waiting ``initial_backoff * 2**(n-1)`` seconds (capped at ``max_backoff``, upper half jittered) or what a
    ``Retry-After`` header asks for. A ``Retry-After`` beyond ``max_retry_after`` is not waited for: the error is
    raised at once. ``deadline`` bounds one call across all its attempts and waits. ``budget`` sizes the retry
    budget each client shares between its calls (None: unlimited). ``sleep`` is injectable so tests never wait.

    In a batch a 429 spends no attempt: the row waits and is tried again. So does a rate limiter that cannot be
    asked (its Redis restarting), waited out with the backoff. ``max_rate_limit_wait`` bounds the seconds one row
    may spend in all on these waits (0: none, a 429 fails the row at once); a ``Retry-After`` of 0, or none, is
    waited out with the backoff of the row's consecutive 429s, so an API that keeps refusing is never stormed.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    initial_backoff: float = attrs.field(default=0.5, validator=_seconds)
    max_backoff: float = attrs.field(default=8.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)
    deadline: float | None = attrs.field(default=None, validator=_deadline)
    max_rate_limit_wait: float = attrs.field(default=600.0, validator=_seconds)
    budget: RetryBudget | None = attrs.field(default=RetryBudget(), validator=_budget)
    #: None: ``asyncio.sleep``, looked up when a wait starts (so a test's patch of it applies).
    sleep: Sleep | None = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.initial_backoff:
            raise InvalidRequestError("RetryPolicy.max_backoff must be at least initial_backoff", field="max_backoff")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt per call, in a batch too: every failure, a 429 included, surfaces at once."""
        return cls(max_attempts=1, max_rate_limit_wait=0.0)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt``: exponential, with the upper half jittered."""
        # The exponent is capped: a batch row waiting out many 429s counts thousands of attempts, and 2.0 ** 1024
        # overflows a float.
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** min(attempt - 1, 64))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@attrs.frozen
class TestingMode:
    """Retries for tests: no waits, and at most ``max_attempts`` attempts when given."""

    max_attempts: int | None = None


#: Set by ``signalwire_tokens.testing.fast_retries()``; a context variable, so it never leaks between tests. Read
#: only after a failure, never on the path of a call that succeeds.
TESTING_MODE: contextvars.ContextVar[TestingMode | None] = contextvars.ContextVar("signalwire_testing", default=None)


def outcome_unknown(error: SignalWireError) -> bool:
    """Whether the API may have acted on a request that failed with ``error``."""
    if isinstance(error, ApiError):
        return error.status >= 500 and error.status not in SAFE_STATUSES
    return isinstance(error, TransportError) and error.request_sent


def retryable(error: SignalWireError, request: Request) -> bool:
    """Whether ``error`` is worth another attempt of ``request``, policy limits aside."""
    if isinstance(error, DeadlineExceededError):
        return False  # the call's time is up: no attempt can follow
    if isinstance(error, TransportError):
        return request.idempotent or not error.request_sent
    if isinstance(error, ApiError):
        if error.status in SAFE_STATUSES:
            return True
        return request.idempotent and error.status in RETRIED_STATUSES
    return False


def waited_out(error: SignalWireError, request: Request) -> bool:
    """Whether ``error`` is a 429, or an unreachable rate limiter, to a request of a batch: there it is a wait, not
    a failure. It says "not now", so the row is tried again without spending an attempt of ``max_attempts`` or the
    retry budget: a Redis restart of a few seconds costs a batch time, not rows."""
    return isinstance(error, WAITED_OUT) and request.extensions.flow is not None


@attrs.frozen
class RetryAfter:
    """Decision: attempt again after ``wait`` seconds; ``free``: a batch's 429, which spends no attempt or budget."""

    wait: float
    free: bool = False


@attrs.frozen
class GiveUp:
    """Decision: the failure stands; ``why`` is the note the error gets (None when it is final by nature)."""

    why: str | None = None


def decide(
    error: SignalWireError,
    request: Request,
    attempt: int,
    policy: RetryPolicy,
    now: float,
    *,
    max_attempts: int,
    spent: int | None = None,
    rate_limited: int = 1,
    rate_limit_waited: float = 0.0,
) -> RetryAfter | GiveUp:
    """Retry ``error`` of attempt number ``attempt``, after how long, or give up and why: a pure function
    (``now`` is ``loop.time()``; ``max_attempts`` is the policy's, or testing mode's lower cap; ``spent``: how many
    of the attempts, this one included, count against it, when a batch's 429s did not).

    A batch's 429 (or unreachable rate limiter) is :func:`waited_out`: retried whatever the count, within three
    bounds: each ``Retry-After`` within ``max_retry_after``, the row's waits for them in all (``rate_limit_waited``
    seconds so far) within ``max_rate_limit_wait``, and the call's deadline. ``rate_limited`` counts the row's
    consecutive ones, this one included: a ``Retry-After`` of 0, or none, is waited out with their backoff, never
    at once.
    """
    if not retryable(error, request):
        return GiveUp()
    free = waited_out(error, request)
    if not free and (attempt if spent is None else spent) >= max_attempts:
        return GiveUp(f"after {attempt} attempts")
    if isinstance(error, ApiError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return GiveUp(f"not retried: the API asked to wait more than {policy.max_retry_after:g} s")
        wait = error.retry_after
    else:
        wait = policy.backoff(attempt)
    if free:
        if not wait:
            wait = policy.backoff(rate_limited)  # "come back now", said again and again, must not become a spin
        if not policy.max_rate_limit_wait or rate_limit_waited + wait > policy.max_rate_limit_wait:
            return GiveUp(_waited_enough(policy, rate_limit_waited, error))
    if request.deadline is not None and now + wait >= request.deadline:
        return GiveUp(f"not retried: waiting {wait:.3g} s would pass the call's deadline")
    return RetryAfter(wait, free)


def _waited_enough(policy: RetryPolicy, waited: float, error: SignalWireError) -> str:
    if not policy.max_rate_limit_wait:
        what = "429" if isinstance(error, RateLimitError) else "unreachable rate limiter"
        return f"not retried: this policy waits out no {what} (max_rate_limit_wait=0)"
    return (
        f"not retried: the row already waited {waited:.3g} s for the rate limit, and may wait"
        f" {policy.max_rate_limit_wait:g} s in all (max_rate_limit_wait)"
    )
