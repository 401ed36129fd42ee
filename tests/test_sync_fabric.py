"""``client.fabric`` of SyncSignalWireClient: subscriber tokens single, refreshed, batched and cached, guest, embed
and invite tokens with the credentials of each operation, blocking, against a fake space on a thread of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from signalwire_tokens import (
    BatchSuccess,
    InvalidRequestError,
    SubscriberToken,
    SubscriberTokenRequest,
    SyncSignalWireClient,
)

from .conftest import assert_request_matches_spec
from .support import ThreadedFake, sync_client


@pytest.fixture
def client(space: ThreadedFake) -> Iterator[SyncSignalWireClient]:
    with sync_client(space) as sync:
        yield sync


def test_subscriber_tokens_are_made_refreshed_and_batched(space: ThreadedFake, client: SyncSignalWireClient) -> None:
    sat = client.fabric.subscriber_tokens.create("alice@example.com", display_name="Alice")
    renewed = client.fabric.subscriber_tokens.refresh(sat)
    prepared = client.fabric.subscriber_tokens.mint(SubscriberTokenRequest("prepared"))
    assert renewed.subscriber_id == sat.subscriber_id and prepared.subscriber_id != sat.subscriber_id
    rows = [SubscriberTokenRequest("a"), {"reference": "b"}, {"reference": "c", "scope": "nope"}]
    items = list(client.fabric.subscriber_tokens.create_many(rows, concurrency=2, ordered=True))
    assert [item.ok for item in items] == [True, True, False]
    assert all(isinstance(item.token, SubscriberToken) for item in items if isinstance(item, BatchSuccess))
    with pytest.raises(InvalidRequestError) as info:
        client.fabric.subscriber_tokens.create("x", fingerprint="short")
    assert info.value.field == "fingerprint"
    for recorded in space.fake.requests:
        assert_request_matches_spec(recorded)


def test_guest_embed_and_invite_tokens_carry_the_credentials_of_their_operation(
    space: ThreadedFake, client: SyncSignalWireClient
) -> None:
    address = space.call(space.fake.fabric.add_address)
    c2c = space.call(space.fake.fabric.add_click_to_call)
    sat = client.fabric.subscriber_tokens.create("bob")
    guest = client.fabric.guest_tokens.create([address])
    embed = client.fabric.embed_tokens.create(c2c)
    invite = client.fabric.invite_tokens.create(address_id=address, subscriber_token=sat.token)
    assert guest.token and embed.token and invite.token
    sent = {r.operation: r.headers.get("Authorization", "") for r in space.fake.requests}
    assert sent["fabric.guest_tokens.create"].startswith("Basic ")
    assert "Authorization" not in space.fake.requests[2].headers
    assert sent["fabric.invite_tokens.create"] == f"Bearer {sat.token}"


def test_the_subscriber_token_cache_blocks_shares_and_refreshes(
    space: ThreadedFake, client: SyncSignalWireClient
) -> None:
    now = [time.time()]
    with client.fabric.subscriber_tokens.cache(clock=lambda: now[0]) as cache:
        first = cache.get("carol", first_name="Carol")
        assert cache.get("carol", first_name="Carol") is first and (cache.hits, cache.misses) == (1, 1)
        now[0] += 2 * 3600 + 60  # expired; its refresh token lives five minutes longer
        renewed = cache.get("carol", first_name="Carol")
        assert renewed.token != first.token and (cache.creates, cache.renewals) == (1, 1)
        assert len(cache) == 1 and "carol" not in repr(cache) and repr(cache).startswith("SyncSubscriberTokenCache(")
        assert cache.invalidate(reference="carol") == 1
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("carol")
    cache.close()
