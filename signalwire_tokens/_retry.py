"""Retrying failed attempts: the policy, the pure decision, and the middleware that lets tenacity run the retries."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from ._budget import RetryBudget, TokenBucket
from ._errors import ApiError, InvalidRequestError, NotFoundError, RequestTimeoutError, SignalWireError, TransportError
from ._http import Handler, Request, Response
from ._validate import check_int, check_seconds

__all__ = ["TESTING_MODE", "GiveUp", "RetryAfter", "RetryMiddleware", "RetryPolicy", "TestingMode", "decide"]

log = logging.getLogger("signalwire_tokens")

Sleep = Callable[[float], Awaitable[None]]

#: Statuses the API answers before acting on a request: retrying them cannot do anything twice.
SAFE_STATUSES = frozenset({429, 503})
#: Statuses worth another attempt for a request that may safely be repeated.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
UNKNOWN_OUTCOME = "the API may have acted on the request"


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
            raise InvalidRequestError("RetryPolicy.max_backoff must be at least initial_backoff", field="max_backoff")

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


#: Set by ``signalwire_tokens.testing.fast_retries()``; a context variable, so it never leaks between tests. Read
#: only after a failure, never on the path of a call that succeeds.
TESTING_MODE: contextvars.ContextVar[TestingMode | None] = contextvars.ContextVar("signalwire_testing", default=None)


async def _no_wait(_seconds: float) -> None:
    """Testing mode's sleep."""


def outcome_unknown(error: SignalWireError) -> bool:
    """Whether the API may have acted on a request that failed with ``error``."""
    if isinstance(error, ApiError):
        return error.status >= 500 and error.status not in SAFE_STATUSES
    return isinstance(error, TransportError) and error.request_sent


def retryable(error: SignalWireError, request: Request) -> bool:
    """Whether ``error`` is worth another attempt of ``request``, policy limits aside."""
    if isinstance(error, TransportError):
        return request.idempotent or not error.request_sent
    if isinstance(error, ApiError):
        if error.status in SAFE_STATUSES:
            return True
        return request.idempotent and error.status in RETRIED_STATUSES
    return False


@attrs.frozen
class RetryAfter:
    """Decision: attempt again after ``wait`` seconds."""

    wait: float


@attrs.frozen
class GiveUp:
    """Decision: the failure stands; ``why`` is the note the error gets (None when it is final by nature)."""

    why: str | None = None


def decide(
    error: SignalWireError, request: Request, attempt: int, policy: RetryPolicy, now: float, *, max_attempts: int
) -> RetryAfter | GiveUp:
    """Retry ``error`` of attempt number ``attempt``, after how long, or give up and why: a pure function
    (``now`` is ``loop.time()``; ``max_attempts`` is the policy's, or testing mode's lower cap)."""
    if not retryable(error, request):
        return GiveUp()
    if attempt >= max_attempts:
        return GiveUp(f"after {attempt} attempts")
    if isinstance(error, ApiError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return GiveUp(f"not retried: the API asked to wait more than {policy.max_retry_after:g} s")
        wait = error.retry_after
    else:
        wait = policy.backoff(attempt)
    if request.deadline is not None and now + wait >= request.deadline:
        return GiveUp(f"not retried: waiting {wait:.3g} s would pass the call's deadline")
    return RetryAfter(wait)


class _Retries:
    """One call's retries, from its second attempt on: tenacity runs them, each hook asks :func:`decide`."""

    def __init__(self, middleware: RetryMiddleware, request: Request, call_next: Handler) -> None:
        self.policy = middleware.policy
        self.bucket = middleware.bucket
        self.request = request
        self.call_next = call_next
        self.sleep = self.policy.sleep or asyncio.sleep
        self.max_attempts = self.policy.max_attempts
        mode = TESTING_MODE.get()
        if mode is not None:
            self.sleep = _no_wait
            self.max_attempts = min(self.max_attempts, mode.max_attempts or self.max_attempts)
        self.attempt = 1
        self.unknown_seen = False  # an earlier attempt may have been acted on
        self.decision: RetryAfter | GiveUp = GiveUp()
        self.judged = 0  # the tenacity attempt number self.decision is for
        self.budget_refused = False
        self.last_retry_cost: int | None = None

    def judge(self, error: SignalWireError) -> RetryAfter | GiveUp:
        """The decision for this failure, the retry budget (the one stateful check) applied on top."""
        now = asyncio.get_running_loop().time()
        decision = decide(error, self.request, self.attempt, self.policy, now, max_attempts=self.max_attempts)
        if isinstance(decision, RetryAfter) and self.bucket is not None:
            cost = self.bucket.try_acquire(after_timeout=isinstance(error, RequestTimeoutError))
            if cost is None:
                self.budget_refused = True
                return GiveUp("not retried: the client's retry budget is exhausted")
            self.last_retry_cost = cost
        return decision

    def final(self, error: SignalWireError, why: str | None) -> SignalWireError:
        """The error the call ends with: ``error`` made again with what the retries learned."""
        unknown = outcome_unknown(error)
        changes: dict[str, Any] = {}
        notes = [why] if why else []
        if unknown and not self.request.idempotent and not retryable(error, self.request):
            changes["outcome_unknown"] = True
            notes.append(UNKNOWN_OUTCOME)
        if isinstance(error, NotFoundError) and self.unknown_seen:
            changes["after_unknown_outcome"] = True
        if self.budget_refused:
            changes["retry_budget_exhausted"] = True
        if self.attempt > 1:
            changes["attempts"] = self.attempt
        if notes:
            changes["notes"] = (*error.notes, *notes)
        transient = isinstance(error, TransportError) or (
            isinstance(error, ApiError) and error.status in RETRIED_STATUSES
        )
        if transient:
            log.warning("%s %s gave up: %s", self.request.method, self.request.operation, "; ".join(notes) or error)
        return attrs.evolve(error, **changes) if changes else error

    async def run(self, first_error: SignalWireError) -> Response:
        decision = self.judge(first_error)
        self.unknown_seen = outcome_unknown(first_error)
        if isinstance(decision, GiveUp):
            raise self.final(first_error, decision.why)
        self._log_retry(first_error, decision.wait)
        await self.sleep(decision.wait)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(SignalWireError),  # cancellation and programming errors pass through
            stop=self._stop,
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            retry_error_callback=self._give_up,
        )
        response: Response = await retrying(self._attempt)
        return response

    async def _attempt(self) -> Response:
        self.attempt += 1
        response = await self.call_next(self.request.replace(attempt=self.attempt))
        if self.bucket is not None:
            self.bucket.record_success(self.last_retry_cost)
        return response

    def _failure(self, state: RetryCallState) -> SignalWireError:
        assert state.outcome is not None
        error = state.outcome.exception()
        assert isinstance(error, SignalWireError)  # retry_if_exception_type let only these through
        return error

    def _decision(self, state: RetryCallState) -> RetryAfter | GiveUp:
        """The decision for the attempt ``state`` holds, made once: tenacity asks ``wait`` and ``stop`` in an order
        that changed between its versions (8 stops first, 9 waits first)."""
        if self.judged != state.attempt_number:
            self.judged = state.attempt_number
            error = self._failure(state)
            self.decision = self.judge(error)
            if isinstance(self.decision, RetryAfter):
                # Marked only when retrying: a 404 after this attempt is what "after_unknown_outcome" means.
                self.unknown_seen = self.unknown_seen or outcome_unknown(error)
        return self.decision

    def _stop(self, state: RetryCallState) -> bool:
        return isinstance(self._decision(state), GiveUp)

    def _wait(self, state: RetryCallState) -> float:
        decision = self._decision(state)
        return decision.wait if isinstance(decision, RetryAfter) else 0.0

    def _before_sleep(self, state: RetryCallState) -> None:
        self._log_retry(self._failure(state), self._wait(state))

    def _log_retry(self, error: SignalWireError, wait: float) -> None:
        log.debug("%s attempt %d failed (%s); retrying in %.3f s", self.request.operation, self.attempt, error, wait)

    def _give_up(self, state: RetryCallState) -> Response:
        decision = self._decision(state)
        assert isinstance(decision, GiveUp)  # tenacity calls this only once _stop said so
        raise self.final(self._failure(state), decision.why)


class RetryMiddleware:
    """Runs the rest of the chain once per attempt, as the policy says; one per client, holding its budget."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.bucket = TokenBucket(policy.budget) if policy.budget is not None else None

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        if self.policy.deadline is not None and request.deadline is None:
            request = request.replace(deadline=asyncio.get_running_loop().time() + self.policy.deadline)
        # The first attempt runs without tenacity: most calls succeed, and a tenacity loop costs about 22 µs per
        # call even then (benchmarks/tenacity_cost.py), a fifth of a whole mint's CPU time.
        try:
            response = await call_next(request)
        except SignalWireError as error:
            failure = error
        else:
            if self.bucket is not None:
                self.bucket.record_success(None)
            return response
        # Outside the except block, so that nothing raised later gets this failure as its implicit context.
        return await _Retries(self, request, call_next).run(failure)
