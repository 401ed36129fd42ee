"""Tracing: one INTERNAL span per call, named after its operation, and one CLIENT span per attempt under it,
following OpenTelemetry's HTTP semantic conventions (read from the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from yarl import URL

from signalwire_tokens import (
    ApiError,
    ConnectionLostError,
    InvalidRequestError,
    LocalRateLimit,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens.telemetry import Telemetry
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID
from .support import READ, RecordingTransport, VirtualTime

pytest.importorskip("opentelemetry.sdk", reason="the telemetry tests need opentelemetry-sdk (the test group)")

from opentelemetry.trace import SpanKind, StatusCode

from .otel_support import Exported

LAML = "/api/laml/2010-04-01/Accounts/{AccountSid}/tokens"


async def test_a_503_then_a_success_is_one_call_span_with_two_attempt_spans_under_it(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.fail(503)
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [call] = otel.calls()
    first, second = otel.attempts()
    assert call.name == "chat_tokens.create" and call.kind is SpanKind.INTERNAL
    assert call.status.status_code is StatusCode.OK
    for attempt in (first, second):
        assert attempt.name == "POST /api/chat/tokens" and attempt.kind is SpanKind.CLIENT
        assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
        assert attempt.context.trace_id == call.context.trace_id
    assert first.attributes is not None and second.attributes is not None
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert first.attributes["http.response.status_code"] == 503 and first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["http.response.status_code"] == 200 and "error.type" not in second.attributes
    assert second.status.status_code is StatusCode.UNSET, "a CLIENT span's success leaves the status unset"


async def test_an_attempt_span_has_the_conventions_attributes_and_the_full_url(
    fake: FakeSignalWire, otel: Exported
) -> None:
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [attempt] = otel.attempts()
    assert dict(attempt.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": client.base_url.port,
        "url.full": f"{fake.url}/api/chat/tokens",
        "url.template": "/api/chat/tokens",
        "http.response.status_code": 200,
    }


async def test_a_call_that_gives_up_has_an_error_status_and_its_exception_class_as_error_type(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.fail(503, times=4)
    async with fake.client(telemetry=otel.telemetry) as client:
        with pytest.raises(ServerError):
            await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [call] = otel.calls()
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes is not None and call.attributes["error.type"] == "ServerError"
    assert [dict(a.attributes or {}).get("http.request.resend_count") for a in otel.attempts()] == [None, 1, 2, 3]


async def test_a_refused_request_is_an_error_of_its_attempt_and_of_the_call(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.fail(422)
    async with fake.client(telemetry=otel.telemetry) as client:
        with pytest.raises(UnprocessableEntityError):
            await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [call] = otel.calls()
    [attempt] = otel.attempts()
    assert dict(call.attributes or {})["error.type"] == "UnprocessableEntityError"
    assert dict(attempt.attributes or {})["error.type"] == "422", "4xx is an error of a CLIENT span"
    assert attempt.status.status_code is StatusCode.ERROR


async def test_a_lost_connection_is_the_attempts_error_type_without_a_status_code(
    fake: FakeSignalWire, otel: Exported
) -> None:
    fake.reset()
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    lost, answered = otel.attempts()
    assert lost.attributes is not None and lost.attributes["error.type"] == ConnectionLostError.__name__
    assert "http.response.status_code" not in lost.attributes
    assert lost.status.status_code is StatusCode.ERROR
    assert dict(answered.attributes or {})["http.response.status_code"] == 200


async def test_a_delete_that_finds_its_token_gone_after_a_lost_attempt_is_a_success(
    fake: FakeSignalWire, otel: Exported
) -> None:
    async with fake.client(telemetry=otel.telemetry) as client:
        token = await client.api_tokens.create(name="bot", permissions=["chat"])
        fake.reset(operation="api_tokens.delete", after_processing=True)
        await client.api_tokens.delete(token.id)  # deleted by the lost attempt: the retry's 404 means done
    delete = next(span for span in otel.calls() if span.name == "api_tokens.delete")
    assert delete.status.status_code is StatusCode.OK and "error.type" not in (delete.attributes or {})
    assert [dict(a.attributes or {}).get("error.type") for a in otel.attempts()[1:]] == ["ConnectionLostError", "404"]


async def _every_operation(client: SignalWireClient) -> None:
    token = await client.api_tokens.create(name="bot", permissions=["chat"])
    await client.api_tokens.update(token.id, name="renamed")
    await client.api_tokens.delete(token.id)
    token = await client.project_tokens.create(name="bot", permissions=["chat"])
    await client.project_tokens.update(token.id, name="renamed")
    await client.project_tokens.delete(token.id)
    await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    await client.pubsub_tokens.create(ttl=5, channels={"lobby": READ})


async def test_the_video_operations_are_named_after_their_path_templates(fake: FakeSignalWire, otel: Exported) -> None:
    conference = fake.add_conference(tokens=3)
    async with fake.client(telemetry=otel.telemetry) as client:
        await client.video.room_tokens.create(room_name="standup")
        listed = [token async for token in client.video.conference_tokens.list(conference, page_size=2)]
        await client.video.conference_tokens.get(listed[0].id)
        reset = await client.video.conference_tokens.reset(listed[0].id)
    names = [(call.name, attempt.name) for call, attempt in zip(otel.calls(), otel.attempts(), strict=True)]
    assert names == [
        ("video.room_tokens.create", "POST /api/video/room_tokens"),
        ("video.conference_tokens.list", "GET /api/video/conferences/{id}/conference_tokens"),
        ("video.conference_tokens.list", "GET /api/video/conferences/{id}/conference_tokens"),
        ("video.conference_tokens.get", "GET /api/video/conference_tokens/{id}"),
        ("video.conference_tokens.reset", "POST /api/video/conference_tokens/{id}/reset"),
    ]
    assert all(conference not in name and listed[0].id not in name for pair in names for name in pair)
    assert otel.total("signalwire_tokens.tokens_minted", operation="video.room_tokens.create") == 1
    assert otel.total("signalwire_tokens.tokens_minted", operation="video.conference_tokens.reset") == 1
    exported = repr([(s.name, dict(s.attributes or {}), s.events) for s in otel.spans()])
    assert reset.token not in exported and listed[1].token not in exported


async def test_spans_are_named_after_the_operation_and_the_specs_path_template_never_an_id(
    fake: FakeSignalWire, otel: Exported
) -> None:
    async with fake.client(telemetry=otel.telemetry) as client:
        await _every_operation(client)
    names = [(call.name, attempt.name) for call, attempt in zip(otel.calls(), otel.attempts(), strict=True)]
    assert names == [
        ("api_tokens.create", f"POST {LAML}"),
        ("api_tokens.update", f"PATCH {LAML}/{{token_id}}"),
        ("api_tokens.delete", f"DELETE {LAML}/{{token_id}}"),
        ("project_tokens.create", "POST /api/project/tokens"),
        ("project_tokens.update", "PATCH /api/project/tokens/{token_id}"),
        ("project_tokens.delete", "DELETE /api/project/tokens/{token_id}"),
        ("chat_tokens.create", "POST /api/chat/tokens"),
        ("pubsub_tokens.create", "POST /api/pubsub/tokens"),
    ]
    assert [dict(a.attributes or {})["url.template"] for a in otel.attempts()] == [name.split()[1] for _, name in names]


async def test_a_base_url_with_a_path_keeps_it_in_the_template(otel: Exported) -> None:
    base_url = "http://127.0.0.1:8080/proxy"
    transport = RecordingTransport()
    async with SignalWireClient(
        None, PROJECT_ID, API_TOKEN, base_url=base_url, transport=transport, telemetry=otel.telemetry
    ) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [attempt] = otel.attempts()
    assert attempt.name == "POST /proxy/api/chat/tokens"


async def test_a_path_outside_the_spec_is_named_by_its_method_alone(otel: Exported) -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(telemetry=otel.telemetry) as client:
        with pytest.raises(ApiError):
            await client.send("GET", client.url("/api/chat/tokens/lookup").with_query(id="42"), "custom.get")
    [attempt] = otel.attempts()
    assert attempt.name == "GET"
    assert "url.template" not in (attempt.attributes or {})
    assert dict(attempt.attributes or {})["url.full"].endswith("/api/chat/tokens/lookup?id=42")


async def test_a_method_the_conventions_do_not_know_is_reported_as_other(otel: Exported) -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(telemetry=otel.telemetry) as client:
        with contextlib.suppress(ApiError):
            await client.send("BREW", client.url("/coffee"), "custom.brew")
    [attempt] = otel.attempts()
    assert attempt.name == "HTTP"
    assert dict(attempt.attributes or {})["http.request.method"] == "_OTHER"
    assert dict(attempt.attributes or {})["http.request.method_original"] == "BREW"


async def test_credentials_in_a_url_never_reach_url_full(otel: Exported) -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(telemetry=otel.telemetry) as client:
        url = client.url("/api/chat/tokens").with_user("someone").with_password("hunter2")
        with contextlib.suppress(ApiError):
            await client.send("GET", url, "custom.get")
    [attempt] = otel.attempts()
    assert dict(attempt.attributes or {})["url.full"] == f"{client.base_url}/api/chat/tokens"


async def test_a_request_refused_at_the_last_hop_is_an_error_of_its_attempt(otel: Exported) -> None:
    async with FakeSignalWire(in_memory=True) as fake, fake.client(telemetry=otel.telemetry) as client:
        with pytest.raises(InvalidRequestError, match="refusing to send credentials"):
            await client.send("GET", URL("gopher://elsewhere.example/tokens"), "custom.get")
    [attempt] = otel.attempts()
    assert dict(attempt.attributes or {}) == {
        "http.request.method": "GET",
        "server.address": "elsewhere.example",
        "url.full": "gopher://elsewhere.example/tokens",
        "error.type": "InvalidRequestError",
    }
    assert fake.requests == [], "nothing was sent"


async def test_the_call_span_is_a_child_of_the_callers_current_span(fake: FakeSignalWire, otel: Exported) -> None:
    tracer = otel.tracer_provider.get_tracer("my-app")
    async with fake.client(telemetry=otel.telemetry) as client:
        with tracer.start_as_current_span("GET /chat-token") as page:
            await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [call] = otel.calls()
    assert call.parent is not None and call.parent.span_id == page.get_span_context().span_id


async def test_a_span_a_users_middleware_makes_is_a_child_of_the_call_span(
    fake: FakeSignalWire, otel: Exported
) -> None:
    tracer = otel.tracer_provider.get_tracer("my-app")

    async def audited(request: Any, call_next: Any) -> Any:
        with tracer.start_as_current_span("audit"):
            return await call_next(request)

    async with fake.client(telemetry=otel.telemetry, middlewares=[audited]) as client:
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    [call] = otel.calls()
    [audit] = [span for span in otel.spans() if span.name == "audit"]
    assert audit.parent is not None and audit.parent.span_id == call.context.span_id


async def test_a_call_the_caller_cancels_is_not_an_error(fake: FakeSignalWire, otel: Exported) -> None:
    fake.delay(60)  # cut short when the fake closes
    async with fake.client(telemetry=otel.telemetry) as client:
        call = asyncio.ensure_future(client.chat_tokens.create(ttl=5, channels={"lobby": READ}))
        await fake.wait_for_requests(1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    [span] = otel.calls()
    [attempt] = otel.attempts()
    for cancelled in (span, attempt):
        assert cancelled.status.status_code is StatusCode.UNSET and "error.type" not in (cancelled.attributes or {})
    assert otel.points("http.client.request.duration") == [], "an abandoned attempt's duration is not the server's"


async def test_the_rate_limiters_wait_is_an_event_on_the_call_span_with_the_seconds_waited(otel: Exported) -> None:
    time = VirtualTime()
    limiter = LocalRateLimit(1, period=10.0, clock=time, sleep=time.sleep)
    async with FakeSignalWire(in_memory=True) as fake, fake.client(rate_limit=limiter, telemetry=otel.telemetry) as c:
        await time.run(*(c.chat_tokens.create(ttl=5, channels={"lobby": READ}) for _ in range(2)))
    first, second = sorted(otel.calls(), key=lambda span: len(span.events))
    assert first.events == ()
    [wait] = second.events
    assert wait.name == "signalwire_tokens.rate_limit.wait"
    # The period and the limiter's 2 % margin for arrivals.
    assert dict(wait.attributes or {}) == {
        "signalwire_tokens.wait.seconds": pytest.approx(10.2),
        "signalwire_tokens.attempt": 1,
    }
    assert all(attempt.events == () for attempt in otel.attempts()), "the attempt starts after the wait"


async def test_without_a_wait_a_limited_call_has_no_event(otel: Exported) -> None:
    async with (
        FakeSignalWire(in_memory=True) as fake,
        fake.client(rate_limit=LocalRateLimit(10, period=1.0), telemetry=otel.telemetry) as client,
    ):
        await client.chat_tokens.create(ttl=5, channels={"lobby": READ})
    assert [span.events for span in otel.spans()] == [(), ()]


def test_telemetry_is_checked_at_construction() -> None:
    with pytest.raises(
        InvalidRequestError, match=r"telemetry must be a signalwire_tokens\.telemetry\.Telemetry"
    ) as caught:
        SignalWireClient("example", PROJECT_ID, API_TOKEN, telemetry=object())  # type: ignore[arg-type]
    assert caught.value.field == "telemetry"


def test_a_client_made_without_telemetry_says_so(otel: Exported) -> None:
    assert SignalWireClient("example", PROJECT_ID, API_TOKEN).telemetry is None
    assert SignalWireClient("example", PROJECT_ID, API_TOKEN, telemetry=otel.telemetry).telemetry is otel.telemetry


def test_providers_are_checked(otel: Exported) -> None:

    with pytest.raises(InvalidRequestError) as caught:
        Telemetry(tracer_provider=otel.meter_provider)  # type: ignore[arg-type]
    assert caught.value.field == "tracer_provider"
    with pytest.raises(InvalidRequestError) as caught:
        Telemetry(meter_provider=otel.tracer_provider)  # type: ignore[arg-type]
    assert caught.value.field == "meter_provider"
    assert repr(otel.telemetry) == "Telemetry(tracer_provider=TracerProvider, meter_provider=MeterProvider)"
    assert repr(Telemetry()) == "Telemetry()"


async def test_telemetry_on_the_global_providers_works_before_the_application_sets_any(fake: FakeSignalWire) -> None:
    async with fake.client(telemetry=Telemetry(), retry=RetryPolicy.disabled()) as client:
        token = await client.project_tokens.create(name="bot", permissions=["chat"])
        await client.project_tokens.delete(token.id)
    assert [request.method for request in fake.requests] == ["POST", "DELETE"]
