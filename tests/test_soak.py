"""A bounded fault-injection soak: thousands of calls through a fake space that fails 30 % of the time."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest

from signalwire_tokens import ChatTokenRequest, RateLimitError, RetryBudget, RetryPolicy, SignalWireError
from signalwire_tokens.testing import FakeSignalWire

from .conftest import RecordingSleep

MINTS = 2000
CREATES = 200


@pytest.mark.parametrize("capacity", [500, 10], ids=["default-budget", "small-budget"])
async def test_chat_mints_under_chaos_are_each_accounted_for_once(fake: FakeSignalWire, capacity: int) -> None:
    fake.chaos(0.3, seed=20261124, operation="chat_tokens.create", slow=0.01)
    requests = (ChatTokenRequest(ttl=5, channels={"c": {"read": True}}, member_id=f"m{i}") for i in range(MINTS))
    policy = RetryPolicy(sleep=RecordingSleep(), budget=RetryBudget(capacity=capacity))
    async with fake.client(retry=policy) as client:
        items = [item async for item in client.chat_tokens.create_many(requests, concurrency=64)]
        budget = client.retry_budget
        assert budget is not None

    assert sorted(item.index for item in items) == list(range(MINTS)), "every item exactly once"
    for item in items:
        assert item.request.member_id == f"m{item.index}"
        assert (item.token is None) != (item.error is None)
        if item.token is not None:
            assert fake.decode_chat_token(item.token.token)["member_id"] == f"m{item.index}"
        else:
            assert isinstance(item.error, SignalWireError)
    failures = [item.error for item in items if item.error is not None]
    retries = len(fake.requests) - MINTS
    kinds = set(fake.faults_injected)
    assert kinds == {"500", "502", "503", "429", "reset", "reset_after_processing", "slow"}, kinds
    # The budget: every retry was paid for but the 429s' (in a batch a 429 is a wait: no budget, no attempt spent),
    # refusals surfaced at once and say so, the level stayed in bounds.
    assert fake.throttled > 0
    assert budget.retries_allowed == retries - fake.throttled
    assert not any(isinstance(e, RateLimitError) for e in failures), "a 429 never fails a row of a batch"
    assert sum(bool(e and e.retry_budget_exhausted) for e in failures) == budget.retries_refused
    assert 0 <= budget.available <= budget.budget.capacity
    assert all("retry budget is exhausted" in str(e) or re.search(r"after \d+ attempts", str(e)) for e in failures)
    if capacity == 10:
        assert budget.retries_refused > 0, "a small budget runs dry under 30 % failures"


async def test_api_token_creates_under_chaos_never_create_twice(fake: FakeSignalWire) -> None:
    fake.chaos(0.3, seed=7, operation="api_tokens.create")
    async with fake.client() as client:
        results = await asyncio.gather(
            *(client.api_tokens.create(f"token-{i}", ["chat"]) for i in range(CREATES)), return_exceptions=True
        )
    created = Counter(token["name"] for token in fake.api_tokens.values())
    assert max(created.values()) == 1, "no API token is created twice"
    for i, result in enumerate(results):
        name = f"token-{i}"
        if isinstance(result, BaseException):
            assert isinstance(result, SignalWireError)
            if name in created:
                # The API acted although the call failed: the error must say the token may exist.
                assert result.outcome_unknown
                assert "may have been created" in str(result)
        else:
            assert result.name == name
            assert created[name] == 1
    assert any(isinstance(r, SignalWireError) and r.outcome_unknown for r in results)
