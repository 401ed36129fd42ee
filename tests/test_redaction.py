"""Neither the API token, nor the Basic header, nor a minted token appears in logs, reprs, errors or tracebacks."""

from __future__ import annotations

import asyncio
import base64
import logging
import traceback

import pytest

import signalwire_tokens
from signalwire_tokens import GuestToken, RetryPolicy, SignalWireClient, SignalWireError, SubscriberToken
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID

BASIC = base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()


def assert_clean(text: str, minted: list[str]) -> None:
    for secret in (API_TOKEN, BASIC, *minted):
        assert secret not in text


async def test_no_secret_leaks_on_any_path(fake: FakeSignalWire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    seen: list[str] = []
    minted: list[str] = []
    errors: list[BaseException] = []

    def look(*objects: object) -> None:
        for obj in objects:
            seen.extend((repr(obj), str(obj)))

    async with fake.client() as client:
        look(client, client.api_tokens, client.chat_tokens, client.retry, fake)
        api_token = await client.api_tokens.create("n", ["chat"])
        minted.append(api_token.token)
        chat = await client.chat_tokens.create(ttl=1, channels={"c": {"read": True}}, member_id="m")
        minted.append(chat.token)
        look(api_token, chat, *fake.requests)
        async for item in client.chat_tokens.create_many([{"ttl": 1, "channels": {"c": {"read": True}}}]):
            assert item.token is not None
            minted.append(item.token.token)
            look(item)

        fake.fail(500, operation="api_tokens.create")
        fake.reset(operation="chat_tokens.create", times=10)
        fake.delay(1, operation="api_tokens.update")
        failing = [
            client.api_tokens.create("n", ["chat"]),
            client.chat_tokens.create(ttl=1, channels={"c": {"read": True}}),
            client.api_tokens.delete(api_token.id),
            client.api_tokens.delete(api_token.id),
        ]
        for call in failing:
            try:
                await call
            except SignalWireError as error:
                errors.append(error)
    async with SignalWireClient(
        None, PROJECT_ID, API_TOKEN, base_url=fake.url, timeout=0.05, retry=RetryPolicy.disabled()
    ) as slow:
        fake.delay(1)
        try:
            await slow.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
        except SignalWireError as error:
            errors.append(error)
    await fake.close()
    async with SignalWireClient(None, PROJECT_ID, API_TOKEN, base_url=fake.url, retry=RetryPolicy.disabled()) as gone:
        try:
            await gone.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
        except SignalWireError as error:
            errors.append(error)
    try:
        SignalWireClient("example", PROJECT_ID, API_TOKEN + " ")
    except SignalWireError as error:
        errors.append(error)

    assert len(errors) == 6
    for error in errors:
        look(error, error.__cause__, error.__context__, vars(error))
        seen.append("".join(traceback.format_exception(error)))
    seen.extend(record.getMessage() for record in caplog.records)
    assert caplog.records, "DEBUG logging per attempt is on"
    assert_clean("\n".join(seen), minted)


async def test_no_video_token_leaks_from_results_batches_errors_or_logs(
    fake: FakeSignalWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    seen: list[str] = []
    conference = fake.add_conference(tokens=3)
    async with fake.client() as client:
        room = await client.video.room_tokens.create(room_name="standup", user_name="alice")
        items = [item async for item in client.video.room_tokens.create_many([{"room_name": "a"}, {"room_name": "b"}])]
        listed = [token async for token in client.video.conference_tokens.list(conference, page_size=2)]
        reset = await client.video.conference_tokens.reset(listed[0].id)
        fake.fail(500, operation="video.conference_tokens.reset")
        with pytest.raises(SignalWireError) as failed:
            await client.video.conference_tokens.reset(listed[1].id)
        seen.extend(repr(obj) for obj in (room, *items, *listed, reset, client.video, *fake.requests))
    secrets = [room.token, reset.token, *(t.token for t in listed), *(i.token.token for i in items if i.token)]
    assert len(secrets) == 7
    error = failed.value
    seen += [str(error), repr(vars(error)), "".join(traceback.format_exception(error))]
    seen.extend(record.getMessage() for record in caplog.records)
    assert caplog.records, "DEBUG logging per attempt is on"
    assert_clean("\n".join(seen), secrets)


def test_every_public_name_has_a_clean_repr() -> None:
    client = SignalWireClient("example", PROJECT_ID, API_TOKEN)
    for name in signalwire_tokens.__all__:
        obj = getattr(signalwire_tokens, name)
        assert API_TOKEN not in repr(obj)
    assert_clean(repr(client) + str(vars(client)), [])


async def test_no_secret_leaks_from_budget_deadline_and_cli_paths(
    fake: FakeSignalWire, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from signalwire_tokens import RetryBudget
    from signalwire_tokens.cli._batch_run import error_json as _error_json

    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    seen: list[str] = []
    fake.fail(503, times=100)
    policy = RetryPolicy(sleep=lambda _s: asyncio.sleep(0), budget=RetryBudget(capacity=5), deadline=30)
    async with fake.client(retry=policy) as client:
        for _ in range(3):
            try:
                await client.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
            except SignalWireError as error:
                seen.extend(
                    [str(error), repr(error), str(_error_json(error)), "".join(traceback.format_exception(error))]
                )
        seen.append(repr(client.retry_budget))
    fake.clear_faults()
    fake.delay(1)
    async with fake.client(retry=RetryPolicy(deadline=0.05)) as client:
        try:
            await client.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
        except SignalWireError as error:
            seen.extend([str(error), repr(error), "".join(traceback.format_exception(error))])
    seen.extend(record.getMessage() for record in caplog.records)
    assert any("retry budget is exhausted" in text for text in seen)
    assert any("deadline" in text for text in seen)
    assert_clean("\n".join(seen) + capsys.readouterr().out, [])


async def test_no_call_fabric_secret_leaks_from_results_requests_errors_or_logs(
    fake: FakeSignalWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signalwire_tokens")
    seen: list[str] = []
    errors: list[BaseException] = []
    address = fake.fabric.add_address()
    password = "correct-horse-battery-staple"
    async with fake.client() as client:
        sat = await client.fabric.subscriber_tokens.create("alice", password=password)
        renewed = await client.fabric.subscriber_tokens.refresh(sat)
        guest = await client.fabric.guest_tokens.create([address])
        invite = await client.fabric.invite_tokens.create(address_id=address, subscriber_token=renewed.token)
        cache = client.fabric.subscriber_tokens.cache()
        cached = await cache.get("bob", password=password)
        items = [item async for item in client.fabric.subscriber_tokens.create_many([{"reference": "carol"}])]
        fake.fail(500, operation="fabric.subscriber_tokens.create", times=10)
        fake.reset(operation="fabric.subscriber_tokens.refresh", after_processing=True)
        fake.fail(401, operation="fabric.invite_tokens.create")
        for call in (
            client.fabric.subscriber_tokens.create("alice", password=password),
            client.fabric.subscriber_tokens.refresh(renewed),
            client.fabric.invite_tokens.create(address_id=address, subscriber_token=renewed.token),
            client.fabric.subscriber_tokens.refresh(sat.refresh_token),
        ):
            try:
                await call
            except SignalWireError as error:
                errors.append(error)
        seen.extend(repr(obj) for obj in (sat, renewed, guest, invite, cache, cached, *items, *fake.requests))
    assert len(errors) == 4
    for failure in errors:
        seen += [str(failure), repr(vars(failure)), "".join(traceback.format_exception(failure))]
    seen.extend(record.getMessage() for record in caplog.records)
    tokens: list[SubscriberToken | GuestToken] = [sat, renewed, guest, cached]
    tokens += [item.token for item in items if item.token]
    secrets = [password, invite.token, *(t.token for t in tokens), *(t.refresh_token for t in tokens)]
    assert_clean("\n".join(seen), secrets)
