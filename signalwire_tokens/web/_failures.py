"""What a browser is told when a mint fails, and what the log is told. SignalWire unavailable, rate-limited or too
slow (after the client's retries) is a 503 the page may retry after ``Retry-After``; anything else a 502. Neither
carries SignalWire's own error body: the page learns the status, the log learns what happened."""

from __future__ import annotations

import logging
import math

import attrs

from .._errors import ApiError, RateLimitError, ServerError, SignalWireError, TransportError
from ._answer import Answer, refusal

__all__ = ["DEFAULT_RETRY_AFTER", "failure_answer", "is_unavailable"]

logger = logging.getLogger("signalwire_tokens.web")

#: The ``Retry-After`` (seconds) of a 503 when SignalWire gave none: a few seconds, long enough for a blip.
DEFAULT_RETRY_AFTER = 5
#: The statuses that mean SignalWire is there but cannot serve now (a 500 is a failure of the call instead).
_UNAVAILABLE_STATUSES = (502, 503, 504)


def is_unavailable(error: SignalWireError) -> bool:
    """Whether ``error`` says SignalWire could not be reached or could not serve in time: try again later."""
    if isinstance(error, (TransportError, RateLimitError)):
        return True
    return isinstance(error, ServerError) and error.status in _UNAVAILABLE_STATUSES


def failure_answer(route: str, error: SignalWireError) -> Answer:
    """The answer to a mint that failed with ``error``, logged (its type, status and message: the library's errors
    never hold a secret)."""
    status = error.status if isinstance(error, ApiError) else None
    if is_unavailable(error):
        asked = error.retry_after if isinstance(error, ApiError) else None
        retry_after = max(1, math.ceil(asked)) if asked is not None else DEFAULT_RETRY_AFTER
        logger.warning("%s: SignalWire unavailable (%s, status %s): %s", route, type(error).__name__, status, error)
        answer = refusal(
            503, "SignalWire is unavailable: try again later", "unavailable", headers={"Retry-After": str(retry_after)}
        )
    else:
        logger.error("%s: the mint failed (%s, status %s): %s", route, type(error).__name__, status, error)
        answer = refusal(502, "the token could not be made", "mint_failed")
    return attrs.evolve(answer, error_type=type(error).__name__)
