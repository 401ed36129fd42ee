"""Telemetry and secrecy of the browser endpoints: one span per route call, through the client's telemetry, with
the route and the outcome; the client's own spans nest under it. No answer, log record or span holds the API token,
a refresh token, the Basic header or (in a span) the subscriber's reference; a SAT appears only in the answer that
hands it out."""

from __future__ import annotations

import base64
import logging
import time

import pytest
from opentelemetry.trace import StatusCode

from signalwire_tokens.testing import FakeSignalWire, fast_retries
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore

from .otel_support import Exported
from .web_support import ADAPTERS, ALICE, FINGERPRINT, identify, serve

ROUTE = "signalwire_tokens.web.route"
OUTCOME = "signalwire_tokens.web.outcome"
STATUS = "http.response.status_code"
METHOD = "http.request.method"
HTTP_ROUTE = "http.route"
ERROR = "error.type"


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_one_span_per_route_call_with_route_and_outcome(
    adapter: str, fake: FakeSignalWire, otel: Exported
) -> None:
    async with fake.client(telemetry=otel.telemetry) as client:
        tokens = BrowserTokens(client, identify=identify)
        async with serve(tokens, adapter) as browser:
            await browser.post("fabric/token")
            await browser.post("fabric/token", user=None)
            fake.fail(500, times=10)
            with fast_retries(max_attempts=1):
                await browser.post("fabric/token")
    web = [span for span in otel.ours() if span.name.startswith("web ")]
    assert [(span.name, dict(span.attributes or {}), span.status.status_code) for span in web] == [
        (
            "web fabric/token",
            {ROUTE: "fabric/token", HTTP_ROUTE: "fabric/token", METHOD: "POST", OUTCOME: "minted", STATUS: 200},
            StatusCode.OK,
        ),
        (
            "web fabric/token",
            {ROUTE: "fabric/token", HTTP_ROUTE: "fabric/token", METHOD: "POST", OUTCOME: "signed_out", STATUS: 401},
            StatusCode.OK,
        ),
        (
            "web fabric/token",
            {
                ROUTE: "fabric/token",
                HTTP_ROUTE: "fabric/token",
                METHOD: "POST",
                OUTCOME: "mint_failed",
                STATUS: 502,
                ERROR: "ServerError",
            },
            StatusCode.ERROR,
        ),
    ]
    # The client's call span for the mint is a child of the route's span.
    (create,) = [span for span in otel.calls() if span.name == "fabric.subscriber_tokens.create"][:1]
    assert create.parent is not None and create.parent.span_id == web[0].context.span_id


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_no_answer_log_or_span_holds_a_secret(
    adapter: str, fake: FakeSignalWire, otel: Exported, caplog: pytest.LogCaptureFixture
) -> None:
    now = [time.time()]
    address = fake.fabric.add_address()

    async def guests(_request: object) -> list[str]:
        return [address]

    replies = []
    with caplog.at_level(logging.DEBUG):
        async with fake.client(telemetry=otel.telemetry) as client:
            store = MemoryTokenStore(clock=lambda: now[0])
            tokens = BrowserTokens(client, identify=identify, store=store, guest_addresses=guests, clock=lambda: now[0])
            async with serve(tokens, adapter) as browser:
                replies.append(await browser.post("fabric/token"))
                replies.append(await browser.post("fabric/token", {"fingerprint": FINGERPRINT}))
                replies.append(await browser.post("fabric/guest"))
                now[0] += 1.7 * 3600
                replies.append(await browser.post("fabric/refresh"))
                fake.fail(422, operation="fabric.subscriber_tokens.refresh")
                now[0] += 1.7 * 3600
                replies.append(await browser.post("fabric/refresh"))
                fake.fail(500, times=10)
                with fast_retries(max_attempts=1):
                    replies.append(await browser.post("fabric/token"))
    basic = base64.b64encode(f"{fake.project_id}:{fake.api_token}".encode()).decode()
    refresh_tokens = list(fake.fabric.refresh_tokens)
    sats = list(fake.fabric.access_tokens)
    assert len(refresh_tokens) >= 4 and len(sats) >= 4
    never_anywhere = [fake.api_token, basic, *refresh_tokens]
    bodies = [reply.body.decode() for reply in replies]
    logs = [record.getMessage() + str(record.args) for record in caplog.records]
    spans = [
        f"{span.name} {dict(span.attributes or {})} {[(e.name, dict(e.attributes or {})) for e in span.events]}"
        f" {span.status.description}"
        for span in otel.spans()
    ]
    for secret in never_anywhere:
        for text in (*bodies, *logs, *spans):
            assert secret not in text
    for sat in sats:
        for text in (*logs, *spans):
            assert sat not in text
    for text in spans:
        assert ALICE not in text
