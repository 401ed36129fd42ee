"""The retry budget: a token bucket shared by all calls of one client.

Modelled on AWS's standard retry quota (gRPC's retry throttling and Finagle's RetryBudget are the same idea): every
retry costs tokens, every success pays some back, and when the bucket is empty failures surface at once instead of
multiplying the load on an API that is already failing.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._validate import check_int

__all__ = ["RetryBudget", "TokenBucket"]


def _non_negative(_instance: object, attribute: attrs.Attribute[int], value: Any) -> None:
    check_int(f"RetryBudget.{attribute.name}", value, minimum=0)


@attrs.frozen
class RetryBudget:
    """How the shared bucket is sized: ``capacity`` tokens; a retry costs ``retry_cost`` (``timeout_retry_cost``
    after a timeout, which suggests an overloaded API); a call that succeeds first time adds ``success_refund``, and
    one that succeeds after retries returns what its last retry cost."""

    capacity: int = attrs.field(default=500, validator=_non_negative)
    retry_cost: int = attrs.field(default=5, validator=_non_negative)
    timeout_retry_cost: int = attrs.field(default=10, validator=_non_negative)
    success_refund: int = attrs.field(default=1, validator=_non_negative)


class TokenBucket:
    """The live budget of one client. No locks: it is only touched from the event loop's thread."""

    budget: RetryBudget
    #: What the bucket holds now, out of ``budget.capacity``.
    available: int
    #: Retries the budget allowed and refused since the client was made.
    retries_allowed: int
    retries_refused: int

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget
        self.available = budget.capacity
        self.retries_allowed = 0
        self.retries_refused = 0

    def try_acquire(self, *, after_timeout: bool) -> int | None:
        """Take the cost of one retry; the cost taken, or None when the bucket cannot pay it."""
        cost = self.budget.timeout_retry_cost if after_timeout else self.budget.retry_cost
        if cost > self.available:
            self.retries_refused += 1
            return None
        self.available -= cost
        self.retries_allowed += 1
        return cost

    def record_success(self, last_retry_cost: int | None) -> None:
        """A call succeeded: refund the cost of its last retry, or ``success_refund`` when it needed none."""
        refund = self.budget.success_refund if last_retry_cost is None else last_retry_cost
        self.available = min(self.budget.capacity, self.available + refund)

    def __repr__(self) -> str:
        return f"TokenBucket(available={self.available}/{self.budget.capacity})"
