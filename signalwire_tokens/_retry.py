"""Retrying failed attempts: the policy, what is safe to retry, and the tenacity-driven middleware."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from ._budget import RetryBudget, TokenBucket
from ._errors import ApiError, InvalidRequestError, NotFoundError, RequestTimeoutError, SignalWireError, TransportError
from ._http import Handler, Request, Response
from ._validate import check_int, check_seconds

__all__ = ["TESTING_MODE", "RetryMiddleware", "RetryPolicy", "TestingMode"]

log = logging.getLogger("signalwire_tokens")

Sleep = Callable[[float], Awaitable[None]]

#: Statuses the API answers before acting on a request: retrying them cannot do anything twice.
SAFE_STATUSES = frozenset({429, 503})
#: Statuses worth another attempt for a request that may safely be repeated.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: Any) -> None:
    check_seconds(f"RetryPolicy.{attribute.name}", value)


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: Any) -> None:
    check_int(f"RetryPolicy.{attribute.name}", value, minimum=1)


def _deadline(_instance: object, attribute: attrs.Attribute[float | None], value: Any) -> None:
    if value is not None:
        check_seconds(f"RetryPolicy.{attribute.name}", value, positive=True)


def _budget(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, RetryBudget):
        raise InvalidRequestError(f"RetryPolicy.budget must be a RetryBudget or None, got {type(value).__name__}")


@attrs.frozen
class RetryPolicy:
    """How failed attempts are retried.

    Connection failures, timeouts and 429/500/502/503/504 are retried up to ``max_attempts`` attempts in all,
    waiting ``initial_backoff * 2**(n-1)`` seconds (capped at ``max_backoff``, upper half jittered) or what a
    ``Retry-After`` header asks for. A ``Retry-After`` beyond ``max_retry_after`` is not waited for: the error is
    raised at once. ``deadline`` bounds one call across all its attempts and waits. ``budget`` sizes the retry
    budget each client shares between its calls (None: unlimited). ``sleep`` is injectable so tests never wait.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    initial_backoff: float = attrs.field(default=0.5, validator=_seconds)
    max_backoff: float = attrs.field(default=8.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)
    deadline: float | None = attrs.field(default=None, validator=_deadline)
    budget: RetryBudget | None = attrs.field(default=RetryBudget(), validator=_budget)
    #: None: ``asyncio.sleep``, looked up when a wait starts (so a test's patch of it applies).
    sleep: Sleep | None = attrs.field(default=None, eq=False, repr=False)

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


@attrs.frozen
class TestingMode:
    """Retries for tests: no waits, and at most ``max_attempts`` attempts when given."""

    max_attempts: int | None = None


#: Set by ``signalwire_tokens.testing.fast_retries()``; a context variable, so it never leaks between tests.
TESTING_MODE: contextvars.ContextVar[TestingMode | None] = contextvars.ContextVar("signalwire_testing", default=None)


async def _no_wait(_seconds: float) -> None:
    """Testing mode's sleep."""


def outcome_unknown(error: BaseException) -> bool:
    """Whether the API may have acted on a request that failed with ``error``."""
    if isinstance(error, ApiError):
        return error.status >= 500 and error.status not in SAFE_STATUSES
    return isinstance(error, TransportError) and error.request_sent


def retryable(error: BaseException, request: Request) -> bool:
    """Whether ``error`` is worth another attempt of ``request``, policy limits aside."""
    if isinstance(error, TransportError):
        return request.idempotent or not error.request_sent
    if isinstance(error, ApiError):
        if error.status in SAFE_STATUSES:
            return True
        return request.idempotent and error.status in RETRIED_STATUSES
    return False


@attrs.define
class _Call:
    """What the retry loop knows about one call across its attempts."""

    request: Request
    policy: RetryPolicy
    bucket: TokenBucket | None
    max_attempts: int
    unknown_seen: bool = False
    next_wait: float = 0.0
    last_retry_cost: int | None = None

    def should_retry(self, state: RetryCallState) -> bool:
        assert state.outcome is not None
        error = state.outcome.exception()
        if error is None:
            return False
        if not isinstance(error, SignalWireError):
            return False  # cancellation and programming errors pass through untouched
        error.attempts = state.attempt_number
        if isinstance(error, NotFoundError) and self.unknown_seen:
            error.after_unknown_outcome = True
        unknown = outcome_unknown(error)
        self.unknown_seen = self.unknown_seen or unknown
        if not retryable(error, self.request):
            if unknown and not self.request.idempotent:
                error._mark_outcome_unknown(self.request.unknown_outcome_note)
            return self._give_up(error, None)
        if state.attempt_number >= self.max_attempts:
            return self._give_up(error, f"after {state.attempt_number} attempts")
        wait = self._wait_for(error, state.attempt_number)
        if wait is None:
            return self._give_up(
                error, f"not retried: the API asked to wait more than {self.policy.max_retry_after:g} s"
            )
        deadline = self.request.deadline
        if deadline is not None and asyncio.get_running_loop().time() + wait >= deadline:
            return self._give_up(error, f"not retried: waiting {wait:.3g} s would pass the call's deadline")
        if self.bucket is not None:
            cost = self.bucket.try_acquire(after_timeout=isinstance(error, RequestTimeoutError))
            if cost is None:
                error.retry_budget_exhausted = True
                return self._give_up(error, "not retried: the client's retry budget is exhausted")
            self.last_retry_cost = cost
        self.next_wait = wait
        log.debug(
            "%s attempt %d failed (%s); retrying in %.3f s",
            self.request.operation,
            state.attempt_number,
            error.message,
            wait,
        )
        return True

    def _wait_for(self, error: SignalWireError, attempt: int) -> float | None:
        """The wait before the next attempt, or None when the API asked for more than the policy waits."""
        if isinstance(error, ApiError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.policy.max_retry_after else None
        return self.policy.backoff(attempt)

    def _give_up(self, error: SignalWireError, why: str | None) -> bool:
        if why is not None:
            error._add_note(why)
        transient = isinstance(error, TransportError) or (
            isinstance(error, ApiError) and error.status in RETRIED_STATUSES
        )
        if transient:
            log.warning("%s %s gave up: %s", self.request.method, self.request.operation, error)
        return False

    def succeeded(self) -> None:
        if self.bucket is not None:
            self.bucket.record_success(self.last_retry_cost)

    def wait(self, _state: RetryCallState) -> float:
        return self.next_wait


class RetryMiddleware:
    """Runs the rest of the chain once per attempt, as the policy says; one per client, holding its budget."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.bucket = TokenBucket(policy.budget) if policy.budget is not None else None

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        policy = self.policy
        if policy.deadline is not None and request.deadline is None:
            request = request.replace(deadline=asyncio.get_running_loop().time() + policy.deadline)
        # The first attempt runs without tenacity: most calls succeed, and they should not pay for the machinery.
        try:
            response = await call_next(request)
        except SignalWireError as error:
            failure = error
        else:
            if self.bucket is not None:
                self.bucket.record_success(None)
            return response
        # Outside the except block, so that nothing raised later gets this failure as its implicit context.
        return await self._retry(request, call_next, failure)

    async def _retry(self, request: Request, call_next: Handler, first_error: SignalWireError) -> Response:
        policy = self.policy
        sleep, max_attempts = policy.sleep or asyncio.sleep, policy.max_attempts
        mode = TESTING_MODE.get()
        if mode is not None:
            sleep = _no_wait
            max_attempts = min(max_attempts, mode.max_attempts or max_attempts)
        call = _Call(request, policy, self.bucket, max_attempts)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max_attempts),
            wait=call.wait,
            retry=call.should_retry,
            sleep=sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    # Attempt 1 already ran above; tenacity judges its outcome like any other.
                    raise first_error
                response = await call_next(request.replace(attempt=number))
                # Returning here ends the loop before tenacity looks at a success, so the budget is paid back here.
                call.succeeded()
                return response
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
