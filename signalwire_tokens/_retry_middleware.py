"""The retry middleware: the first attempt on its own, then tenacity running the retries, each of its hooks asking
the pure :func:`decide`, and the error the call ends with made complete.

It also decodes errors: each attempt's answer that is not 2xx (a 3xx included: nothing is followed) becomes its typed
:class:`ApiError` here, the form the retry decision reads. The two are one layer because nothing may sit between
them, and so that decoding costs no coroutine of its own per attempt."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from ._budget import TokenBucket
from ._decode import decode_error
from ._errors import (
    ApiError,
    DeadlineExceededError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    SignalWireError,
    TransportError,
)
from ._http import Handler, Request, Response
from ._retry import (
    RETRIED_STATUSES,
    TESTING_MODE,
    UNKNOWN_OUTCOME,
    WAITED_OUT,
    GiveUp,
    RetryAfter,
    RetryPolicy,
    decide,
    outcome_unknown,
    retryable,
)

__all__ = ["RetryMiddleware"]

log = logging.getLogger("signalwire_tokens")


async def _no_wait(_seconds: float) -> None:
    """Testing mode's sleep."""


class _Retries:
    """One call's retries, from its second attempt on: tenacity runs them, and its ``stop``, ``wait`` and
    ``retry_error_callback`` hooks all read one decision per failed attempt, made by :func:`decide`."""

    def __init__(self, middleware: RetryMiddleware, request: Request, call_next: Handler) -> None:
        self.policy = middleware.policy
        self.bucket = middleware.bucket
        self.request = request
        self.call_next = call_next
        self.sleep = self.policy.sleep or asyncio.sleep
        self.max_attempts = self.policy.max_attempts
        #: Testing mode's cap counts every attempt, a batch's waited-out 429s included: with no waits, a space that
        #: always answers 429 would otherwise spin a test forever.
        self.hard_cap: int | None = None
        mode = TESTING_MODE.get()
        if mode is not None:
            self.sleep = _no_wait
            self.max_attempts = min(self.max_attempts, mode.max_attempts or self.max_attempts)
            self.hard_cap = mode.max_attempts
        self.attempt = 1
        # Waited out in a batch: attempts answered 429, or held by an unreachable rate limiter.
        self.waited_out = 0  # such attempts: they do not count against max_attempts
        self.rate_limited = 0  # the latest attempts that were such, in a row
        self.rate_limit_waited = 0.0  # seconds of waits decided for them
        self.last_wait: tuple[int, SignalWireError] | None = None  # the latest one waited out, and its attempt
        self.judged = 0  # the attempt self.decision is about
        self.decision: RetryAfter | GiveUp = GiveUp()
        self.unknown_seen = False  # an attempt before the last one may have been acted on
        self.budget_refused = False
        self.last_retry_cost: int | None = None

    def judge(self, error: SignalWireError) -> RetryAfter | GiveUp:
        """The decision about the latest attempt's failure, made once (tenacity 8 asks ``stop`` before ``wait``,
        9 the other way round), with the retry budget, the one stateful check, applied on top."""
        if self.judged == self.attempt:
            return self.decision
        now = asyncio.get_running_loop().time()
        spent = self.attempt - self.waited_out
        self.rate_limited = self.rate_limited + 1 if isinstance(error, WAITED_OUT) else 0
        decision = decide(
            error,
            self.request,
            self.attempt,
            self.policy,
            now,
            max_attempts=self.max_attempts,
            spent=spent,
            rate_limited=self.rate_limited,
            rate_limit_waited=self.rate_limit_waited,
        )
        if isinstance(decision, RetryAfter) and decision.free:
            if self.hard_cap is not None and self.attempt >= self.hard_cap:
                decision = GiveUp(f"after {self.attempt} attempts")
            else:
                self.waited_out += 1
                self.rate_limit_waited += decision.wait
                self.last_wait = (self.attempt, error)
        elif isinstance(decision, RetryAfter) and self.bucket is not None:
            cost = self.bucket.try_acquire(after_timeout=isinstance(error, RequestTimeoutError))
            self.budget_refused = cost is None
            if cost is None:
                decision = GiveUp("not retried: the client's retry budget is exhausted")
            self.last_retry_cost = cost
        if isinstance(decision, RetryAfter):
            self.unknown_seen = self.unknown_seen or outcome_unknown(error)
            log.debug(
                "%s attempt %d failed (%s); %s in %.3f s",
                self.request.operation,
                self.attempt,
                error,
                "the batch waits; retrying" if decision.free else "retrying",
                decision.wait,
            )
        self.judged, self.decision = self.attempt, decision
        return decision

    async def pause(self, seconds: float) -> None:
        """The wait before the next attempt. A batch's 429 (or unreachable rate limiter) is waited out by the whole
        batch: none of its requests starts before the wait is over, so the rows in flight do not all run into the
        same wall."""
        flow = self.request.extensions.flow
        if flow is not None and isinstance(self.decision, RetryAfter) and self.decision.free:
            await flow.sit_out(self.sleep(seconds))
        else:
            await self.sleep(seconds)

    def final(self, error: SignalWireError, why: str | None) -> SignalWireError:
        """The error the call ends with: ``error`` made again with what the retries learned."""
        if self.last_wait is not None and self.last_wait[0] == self.attempt - 1 and _unsent_deadline(error):
            # The deadline ran out while the row waited out a 429 or the rate limiter (a sleep ends a little late):
            # that is the failure, and the deadline why it was not tried again.
            error = self.last_wait[1]
            waiting = "out its Retry-After" if isinstance(error, RateLimitError) else "for the rate limiter"
            why = f"not retried: the call's deadline passed while waiting {waiting}"
        changes: dict[str, Any] = {"attempts": self.attempt} if self.attempt > 1 else {}
        notes = [why] if why else []
        if outcome_unknown(error) and not self.request.idempotent and not retryable(error, self.request):
            changes["outcome_unknown"] = True
            notes.append(UNKNOWN_OUTCOME)
        if isinstance(error, NotFoundError) and self.unknown_seen:
            changes["after_unknown_outcome"] = True
        if self.budget_refused:
            changes["retry_budget_exhausted"] = True
        if notes:
            changes["notes"] = (*error.notes, *notes)
        if isinstance(error, TransportError) or (isinstance(error, ApiError) and error.status in RETRIED_STATUSES):
            log.warning("%s %s gave up: %s", self.request.method, self.request.operation, "; ".join(notes) or error)
        return attrs.evolve(error, **changes) if changes else error

    async def run(self, first_error: SignalWireError) -> Response:
        decision = self.judge(first_error)
        if isinstance(decision, GiveUp):
            raise self.final(first_error, decision.why)
        await self.pause(decision.wait)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(SignalWireError),  # cancellation and programming errors pass through
            stop=self._stop,
            wait=self._wait,
            sleep=self.pause,
            retry_error_callback=self._give_up,
        )
        response: Response = await retrying(self._attempt)
        return response

    async def _attempt(self) -> Response:
        self.attempt += 1
        response = _decoded(await self.call_next(self.request.replace(attempt=self.attempt)))
        if self.bucket is not None:
            self.bucket.record_success(self.last_retry_cost)
        return response

    def _stop(self, state: RetryCallState) -> bool:
        return isinstance(self.judge(_failure(state)), GiveUp)

    def _wait(self, state: RetryCallState) -> float:
        decision = self.judge(_failure(state))
        return decision.wait if isinstance(decision, RetryAfter) else 0.0

    def _give_up(self, state: RetryCallState) -> Response:
        decision = self.judge(_failure(state))
        assert isinstance(decision, GiveUp)  # tenacity calls this only once stop said so
        raise self.final(_failure(state), decision.why)


def _decoded(response: Response) -> Response:
    """``response`` when it is a 2xx; else its typed :class:`ApiError`, raised."""
    if not response.ok:
        raise decode_error(response)
    return response


def _unsent_deadline(error: SignalWireError) -> bool:
    return isinstance(error, DeadlineExceededError) and not error.request_sent


def _failure(state: RetryCallState) -> SignalWireError:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, SignalWireError)  # retry_if_exception_type let only these through
    return error


class RetryMiddleware:
    """Runs the rest of the chain once per attempt, as the policy says, raising each non-2xx answer as its typed
    error; one per client, holding its budget."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.bucket = TokenBucket(policy.budget) if policy.budget is not None else None

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        if self.policy.deadline is not None and request.deadline is None:
            request = request.replace(deadline=asyncio.get_running_loop().time() + self.policy.deadline)
        # The first attempt runs without tenacity: most calls succeed, and a tenacity loop costs about 22 µs per
        # call even then (benchmarks/tenacity_cost.py), a fifth of a whole mint's CPU time.
        try:
            response = _decoded(await call_next(request))
        except SignalWireError as error:
            failure = error
        else:
            if self.bucket is not None:
                self.bucket.record_success(None)
            return response
        # Outside the except block, so that nothing raised later gets this failure as its implicit context.
        return await _Retries(self, request, call_next).run(failure)
