"""Telemetry that is safe to turn on: no secret in anything exported, nothing counted twice when aiohttp's own
instrumentation is installed too, and no cost or import error without the ``otel`` extra."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

import aiohttp
import pytest

from signalwire_tokens import AuthenticationError, ChatTokenRequest
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID
from .support import READ

pytest.importorskip("opentelemetry.sdk", reason="the telemetry tests need opentelemetry-sdk (the test group)")

from .otel_support import SCOPE, Exported


async def test_no_exported_span_event_or_metric_holds_a_secret(fake: FakeSignalWire, otel: Exported) -> None:
    minted: list[str] = []
    async with fake.client(telemetry=otel.telemetry) as client:
        fake.fail(503)
        api_token = await client.api_tokens.create(name="bot", permissions=["chat"])
        await client.api_tokens.update(api_token.id, name="renamed")
        project_token = await client.project_tokens.create(name="bot", permissions=["chat"])
        minted += [api_token.token, project_token.token]
        minted.append((await client.chat_tokens.create(ttl=5, channels={"lobby": READ}, member_id="alice")).token)
        minted.append((await client.pubsub_tokens.create(ttl=5, channels={"lobby": READ})).token)
        requests = [ChatTokenRequest(ttl=5, channels={"lobby": READ}, member_id=f"m{n}") for n in range(3)]
        minted += [item.token.token async for item in client.chat_tokens.create_many(requests) if item.ok]
        fake.fail(401)
        with pytest.raises(AuthenticationError):
            await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    basic = base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()
    # A JWT's first part is its header, the same for every token: its claims and signature are what is secret.
    secrets = [API_TOKEN, basic, *minted, *(part for token in minted for part in token.split(".")[1:])]
    assert len(minted) == 7 and all(secrets)
    exported = "\n".join(span.to_json() for span in otel.spans())
    data = otel.reader.get_metrics_data()
    assert data is not None and len(otel.spans()) == 9 + 10, "9 calls, one retried"
    exported += data.to_json()
    assert "Authorization" not in exported and "authorization" not in exported
    for secret in secrets:
        assert secret not in exported


async def test_aiohttps_own_instrumentation_is_suppressed_inside_attempt_spans(
    fake: FakeSignalWire, otel: Exported
) -> None:
    instrumentation = pytest.importorskip(
        "opentelemetry.instrumentation.aiohttp_client",
        reason="needs opentelemetry-instrumentation-aiohttp-client (the test and e2e extras)",
    )
    instrumentor = instrumentation.AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    try:
        fake.fail(503)
        async with fake.client(telemetry=otel.telemetry) as client:  # over loopback: the aiohttp transport
            await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
        # The control: outside the library's spans the instrumentation is live and records this request.
        async with aiohttp.ClientSession() as session, session.get(f"{fake.url}/nowhere") as response:
            await response.read()
    finally:
        instrumentor.uninstrument()
    theirs = [span for span in otel.spans() if span not in otel.ours()]
    assert [span.name for span in theirs] == ["GET"], "only the control request"
    assert (len(otel.calls()), len(otel.attempts())) == (1, 2)
    # Its metrics (releases before 0.55b0 have none) hold the control request alone: no POST of ours.
    their_points = [p for scope, m in otel.metrics() if scope != SCOPE for p in m.data.data_points]
    methods = {p.attributes.get("http.request.method", p.attributes.get("http.method")) for p in their_points}
    assert methods <= {"GET"}


def test_without_the_extra_telemetry_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from signalwire_tokens.telemetry import Telemetry

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'signalwire-tokens\[otel\]'"):
        Telemetry()


def test_without_opentelemetry_the_library_imports_and_runs_as_before() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # nothing of OpenTelemetry can be imported

        import signalwire_tokens
        from signalwire_tokens.telemetry import Telemetry
        from signalwire_tokens.testing import FakeSignalWire

        async def main():
            async with FakeSignalWire(in_memory=True) as fake, fake.client() as client:
                await client.chat_tokens.create(ttl=5, channels={"lobby": {"read": True}})
                print("minted", fake.chat_tokens_minted, "telemetry", client.telemetry)

        asyncio.run(main())
        try:
            Telemetry()
        except ImportError as error:
            print(error)
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "minted 1 telemetry None"
    assert lines[1].startswith("Telemetry needs the otel extra: pip install 'signalwire-tokens[otel]'")
    assert lines[2] == "['opentelemetry']", "only the blocker itself"


async def test_call_fabric_spans_use_the_spec_templates_count_minted_tokens_and_hold_no_secret(
    fake: FakeSignalWire, otel: Exported
) -> None:
    address = fake.fabric.add_address()
    async with fake.client(telemetry=otel.telemetry) as client:
        sat = await client.fabric.subscriber_tokens.create("alice@example.com", password="correct-horse-battery")
        renewed = await client.fabric.subscriber_tokens.refresh(sat)
        guest = await client.fabric.guest_tokens.create([address])
        embed = await client.fabric.embed_tokens.create(fake.fabric.add_click_to_call())
        invite = await client.fabric.invite_tokens.create(address_id=address, subscriber_token=renewed.token)
    names = [span.name for span in otel.attempts()]
    assert names == [
        "POST /api/fabric/subscribers/tokens",
        "POST /api/fabric/subscribers/tokens/refresh",
        "POST /api/fabric/guests/tokens",
        "POST /api/fabric/embeds/tokens",
        "POST /api/fabric/subscriber/invites",
    ]
    assert [span.name for span in otel.calls()] == [
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
        "fabric.guest_tokens.create",
        "fabric.embed_tokens.create",
        "fabric.invite_tokens.create",
    ]
    for operation in ("subscriber_tokens.create", "subscriber_tokens.refresh", "guest_tokens.create"):
        assert otel.total("signalwire_tokens.tokens_minted", operation=f"fabric.{operation}") == 1
    tokens = [sat.token, sat.refresh_token, renewed.token, renewed.refresh_token, guest.token, guest.refresh_token]
    tokens += [embed.token, invite.token]
    # A JWE's first part is its header, the same for every token: the rest is what is secret.
    secrets = ["correct-horse-battery", *(part for token in tokens for part in token.split(".")[1:] if part)]
    data = otel.reader.get_metrics_data()
    assert data is not None
    exported = "\n".join(span.to_json() for span in otel.spans()) + data.to_json()
    assert "Authorization" not in exported and "Bearer" not in exported
    for secret in secrets:
        assert secret not in exported
