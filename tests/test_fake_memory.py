"""The fake space in memory: no socket, nothing to start, and a Transport anyone can hand to a client."""

from __future__ import annotations

import pytest
from yarl import URL

from signalwire_tokens import JsonBody, Request, RequestTimeoutError, RetryPolicy, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire

READ = {"read": True}


async def test_an_in_memory_fake_works_without_being_started() -> None:
    fake = FakeSignalWire(in_memory=True)
    assert fake.url == "http://localhost"
    async with fake.client() as client:
        token = await client.chat_tokens.create(ttl=1, channels={"c": READ})
    assert client.closed
    assert fake.decode_chat_token(token.token)["sub"] == fake.project_id
    assert [r.path for r in fake.requests] == ["/api/chat/tokens"]
    assert await fake.start() is fake and fake.url == "http://localhost", "starting opens nothing"
    await fake.close()


async def test_its_transport_serves_a_client_made_by_hand() -> None:
    async with FakeSignalWire(in_memory=True) as fake:
        transport = fake.transport()
        async with SignalWireClient(None, fake.project_id, fake.api_token, base_url=fake.url, transport=transport) as c:
            token = await c.api_tokens.create("n", ["chat"])
        assert list(fake.api_tokens) == [token.id]
        assert fake.requests[0].headers["authorization"].startswith("Basic ")
        assert fake.requests[0].content_type == "application/x-www-form-urlencoded"
        await transport.aclose()


async def test_a_closed_transport_refuses_to_send() -> None:
    async with FakeSignalWire(in_memory=True) as fake:
        transport = fake.transport()
        await transport.aclose()
        request = Request("POST", URL(fake.url) / "api/chat/tokens", "chat_tokens.create", True, body=b"{}")
        with pytest.raises(RuntimeError, match="closed"):
            await transport(request)
    assert fake.requests == []


async def test_a_body_must_be_encoded_before_the_transport() -> None:
    async with FakeSignalWire(in_memory=True) as fake:
        body = JsonBody({"ttl": 1, "channels": {"c": READ}})
        request = Request("POST", URL(fake.url) / "api/chat/tokens", "chat_tokens.create", True, body=body)
        with pytest.raises(TypeError, match="bytes"):
            await fake.transport()(request)


@pytest.mark.parametrize("in_memory", [False, True], ids=["loopback", "in_memory"])
async def test_the_space_acts_on_a_request_whose_client_gave_up(in_memory: bool) -> None:
    """Like a server, it does not learn that the client stopped waiting: why a timed-out create is not repeated."""
    async with FakeSignalWire(in_memory=in_memory) as fake:
        fake.delay(0.2)
        async with fake.client(timeout=0.02, retry=RetryPolicy.disabled()) as client:
            with pytest.raises(RequestTimeoutError):
                await client.api_tokens.create("n", ["chat"])
    assert len(fake.api_tokens) == 1
