"""Type-checked use of the public API (mypy --strict runs over this file; pytest does not collect it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from signalwire_tokens import (
    ApiError,
    ApiToken,
    BatchItem,
    BatchProgress,
    ChannelPermissions,
    ChatToken,
    ChatTokenRequest,
    Handler,
    Permission,
    RateLimitError,
    Request,
    Response,
    RetryBudget,
    RetryPolicy,
    SignalWireClient,
)
from signalwire_tokens.testing import FakeSignalWire, fast_retries


async def timing(request: Request, call_next: Handler) -> Response:
    response = await call_next(request)
    elapsed: float = response.elapsed
    attempt: int = response.attempt
    assert elapsed >= 0 and attempt >= 1
    return response


async def requests() -> AsyncIterator[ChatTokenRequest]:
    yield ChatTokenRequest(ttl=60, channels={"lobby": ChannelPermissions(read=True)})


async def usage() -> None:
    async with FakeSignalWire() as fake:
        client: SignalWireClient = fake.client(middlewares=[timing], retry=RetryPolicy(max_attempts=2))
        async with client:
            token: ApiToken = await client.api_tokens.create("ci", [Permission.CHAT, "fax"])
            token = await client.api_tokens.update(token.id, permissions=["video"])
            await client.api_tokens.delete(token.id)
            chat: ChatToken = await client.chat_tokens.create(ttl=5, channels={"a": {"read": True}}, state={"k": 1})
            expires: datetime = chat.expires_at
            assert expires.tzinfo is not None

            def report(progress: BatchProgress) -> None:
                assert progress.done >= progress.failed

            stream = client.chat_tokens.create_many(
                requests(), concurrency=4, max_rate=100.0, progress=report, ordered=True
            )
            limit: float = stream.flow.limit
            assert limit >= 1
            async for item in stream:
                batch_item: BatchItem = item
                if item.token is not None:
                    jwt: str = item.token.token
                    assert jwt
                elif isinstance(batch_item.error, RateLimitError):
                    wait: float | None = batch_item.error.retry_after
                    assert wait is None or wait >= 0
                elif isinstance(batch_item.error, ApiError):
                    status: int = batch_item.error.status
                    assert status >= 300
    from_env: SignalWireClient = SignalWireClient.from_env(environ={}, base_url="http://127.0.0.1:1")
    await from_env.aclose()
    policy = RetryPolicy(deadline=10.0, budget=RetryBudget(capacity=100))
    with fast_retries(max_attempts=2):
        assert policy.budget is not None
