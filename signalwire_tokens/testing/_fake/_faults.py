"""Faults on demand: queued ones (a status, a reset, a delay), random chaos, and a sliding-window rate limit."""

from __future__ import annotations

import collections
import math
import random
from collections.abc import Mapping
from typing import Literal

import attrs

from ._bodies import Answer, Family, error_answer

__all__ = ["Chaos", "Fault", "FaultQueue", "SlidingWindow"]

_CHAOS_KINDS = ("500", "502", "503", "429", "reset", "reset_after_processing", "slow")


@attrs.define
class Fault:
    """One injected fault, for the next ``remaining`` requests of ``operation`` (None: any operation)."""

    kind: Literal["status", "reset", "delay"]
    operation: str | None
    remaining: int
    #: How it is counted in ``faults_injected``.
    label: str
    status: int = 500
    #: None: the documented error body of the operation's family.
    body: bytes | None = None
    headers: Mapping[str, str] = attrs.Factory(dict)
    delay: float = 0.0
    after_processing: bool = False

    def answer(self, family: Family) -> Answer:
        """The answer of a status fault."""
        if self.body is None:
            return error_answer(family, self.status, self.headers)
        return Answer(self.status, self.headers, self.body)


@attrs.define
class Chaos:
    """Random faults: a ``rate`` (0..1) of the requests of ``operation`` (None: any) get one of the kinds above."""

    rate: float
    rng: random.Random
    operation: str | None
    retry_after: str
    slow: float

    def pick(self, operation: str) -> Fault | None:
        """A random fault for a request of ``operation``, or None (most of the time, by ``rate``)."""
        if self.operation not in (None, operation) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(_CHAOS_KINDS)
        if kind == "429":
            return Fault("status", None, 1, kind, status=429, headers={"Retry-After": self.retry_after})
        if kind.startswith("reset"):
            return Fault("reset", None, 1, kind, after_processing=kind != "reset")
        if kind == "slow":
            return Fault("delay", None, 1, kind, delay=self.slow * self.rng.random())
        return Fault("status", None, 1, kind, status=int(kind))


class FaultQueue:
    """Queued faults first, in the order they were asked for, then chaos."""

    def __init__(self) -> None:
        self._queued: list[Fault] = []
        self.chaos: Chaos | None = None

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` behind the ones already queued."""
        self._queued.append(fault)

    def clear(self) -> None:
        """Forget every queued fault, and chaos."""
        self._queued.clear()
        self.chaos = None

    def take(self, operation: str) -> Fault | None:
        """The fault for the next request of ``operation``, if any; a queued fault counts one use down."""
        for fault in self._queued:
            if fault.operation in (None, operation):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._queued.remove(fault)
                return fault
        return self.chaos.pick(operation) if self.chaos is not None else None


@attrs.define
class SlidingWindow:
    """SignalWire's documented rate limit: at most ``limit`` POST, PUT and PATCH requests in any ``period`` seconds.

    Only admitted requests take a place: a refused one does not push the window further out.
    """

    limit: int
    period: float
    _starts: collections.deque[float] = attrs.field(factory=collections.deque, init=False)

    @staticmethod
    def applies_to(method: str) -> bool:
        """Whether the window counts a request of ``method``: SignalWire documents GET and DELETE as effectively
        unlimited."""
        return method in ("POST", "PUT", "PATCH")

    def admit(self, now: float) -> int | None:
        """None when a request may start at ``now`` (it takes a place); else its ``Retry-After``: the whole seconds
        (at least 1) until the oldest start leaves the window."""
        while self._starts and self._starts[0] <= now - self.period:
            self._starts.popleft()
        if len(self._starts) < self.limit:
            self._starts.append(now)
            return None
        return max(1, math.ceil(self._starts[0] + self.period - now))
