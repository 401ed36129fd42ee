"""Each built-in middleware driven with a fake ``call_next``; encoding and auth also as pure functions."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from yarl import URL

from signalwire_tokens import (
    ApiError,
    AuthenticationError,
    ConnectError,
    ConnectionLostError,
    FormBody,
    InvalidRequestError,
    JsonBody,
    NotFoundError,
    RateLimitError,
    Request,
    RequestTimeoutError,
    Response,
    RetryPolicy,
    ServerError,
    SignalWireClient,
    UnprocessableEntityError,
)
from signalwire_tokens._chain import Credentials, EncodeBody, build_chain, encode_request
from signalwire_tokens._retry_middleware import RetryMiddleware
from signalwire_tokens.testing import FakeSignalWire

from .conftest import API_TOKEN, PROJECT_ID, FakeNext, RecordingSleep, make_request, make_response
from .support import error_response

ORIGIN = URL("https://example.signalwire.com")


# -- encoding (pure) -----------------------------------------------------------------------------------------------


def test_form_encoding_repeats_keys_and_sets_the_content_type() -> None:
    fields = (("name", "John Doe's Token"), ("permissions", "calling"), ("permissions", "fax"))
    encoded = encode_request(make_request(body=FormBody(fields)))
    assert encoded.body == b"name=John+Doe%27s+Token&permissions=calling&permissions=fax"
    assert encoded.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_json_encoding_is_compact_utf8() -> None:
    encoded = encode_request(make_request(body=JsonBody({"ttl": 60, "state": {"name": "Zoë"}})))
    assert encoded.body == '{"ttl":60,"state":{"name":"Zoë"}}'.encode()
    assert encoded.headers["Content-Type"] == "application/json"


def test_bytes_and_empty_bodies_pass_through_untouched() -> None:
    for body in (None, b"raw"):
        request = make_request(body=body)
        assert encode_request(request) is request


async def test_encode_body_middleware_hands_bytes_on() -> None:
    call_next = FakeNext(make_response())
    await EncodeBody()(make_request(body=JsonBody({"a": 1})), call_next)
    assert call_next.requests[0].body == b'{"a":1}'


# -- auth header -----------------------------------------------------------------------------------------------------


async def test_auth_adds_basic_credentials_built_by_hand() -> None:
    auth = Credentials.basic(ORIGIN, PROJECT_ID, API_TOKEN)
    call_next = FakeNext(make_response())
    await auth(make_request(), call_next)
    header = call_next.requests[0].headers["Authorization"]
    assert header == "Basic " + base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode()


async def test_auth_refuses_another_origin() -> None:
    auth = Credentials.basic(ORIGIN, PROJECT_ID, API_TOKEN)
    call_next = FakeNext(make_response())
    for url in (
        "https://evil.example.com/api/chat/tokens",
        "http://example.signalwire.com/api",
        "https://example.signalwire.com:8443/",
    ):
        with pytest.raises(InvalidRequestError, match="refusing to send credentials"):
            await auth(make_request(url=url), call_next)
    assert call_next.requests == []


def test_auth_repr_hides_the_header() -> None:
    auth = Credentials.basic(ORIGIN, PROJECT_ID, API_TOKEN)
    assert base64.b64encode(f"{PROJECT_ID}:{API_TOKEN}".encode()).decode() not in repr(auth)
    assert API_TOKEN not in repr(auth)


def test_request_repr_leaves_headers_and_body_out() -> None:
    request = make_request(body=b"secret-body").with_header("Authorization", "Basic c2VjcmV0")
    assert "c2VjcmV0" not in repr(request)
    assert "secret-body" not in repr(request)
    assert (
        repr(make_response(body=b'{"token":"eyJsecret"}'))
        == "Response(status=200, operation='chat_tokens.create', attempt=1)"
    )


def test_with_header_makes_a_new_request() -> None:
    request = make_request()
    changed = request.with_header("X-Trace", "1")
    assert "X-Trace" not in request.headers
    assert changed.headers["x-trace"] == "1"


# -- error decoding --------------------------------------------------------------------------------------------------


# The retry layer decodes each attempt's answer: the layers below it see every raw Response.


async def test_a_2xx_answer_passes_through_the_retry_layer_as_it_is() -> None:
    response = make_response(204, b"")
    assert await RetryMiddleware(RetryPolicy.disabled())(make_request(), FakeNext(response)) is response


@pytest.mark.parametrize("status", [301, 400, 404, 422, 500])
async def test_any_other_answer_becomes_its_typed_error(status: int) -> None:
    with pytest.raises(ApiError) as info:
        await RetryMiddleware(RetryPolicy.disabled())(
            make_request(), FakeNext(make_response(status, b'{"error":"no"}'))
        )
    assert info.value.status == status


# -- retry ---------------------------------------------------------------------------------------------------------


def retry(sleep: RecordingSleep, **kwargs: float) -> RetryMiddleware:
    return RetryMiddleware(RetryPolicy(sleep=sleep, **kwargs))  # type: ignore[arg-type]


async def test_an_error_answer_from_below_is_retried_like_a_raised_one(sleep: RecordingSleep) -> None:
    ok = make_response()
    call_next = FakeNext(make_response(503, b'{"error":"busy"}'), ok)
    assert await retry(sleep)(make_request(), call_next) is ok
    assert [r.attempt for r in call_next.requests] == [1, 2]


@pytest.mark.parametrize(
    "failure",
    [
        lambda: ConnectError("refused"),
        lambda: RequestTimeoutError("slow"),
        lambda: ConnectionLostError("reset"),
        *[lambda s=s: error_response(s) for s in (429, 500, 502, 503, 504)],  # type: ignore[misc]
    ],
)
async def test_idempotent_requests_retry_every_transient_failure(failure, sleep: RecordingSleep) -> None:  # type: ignore[no-untyped-def]
    ok = make_response()
    call_next = FakeNext(failure(), failure(), ok)
    assert await retry(sleep)(make_request(), call_next) is ok
    assert [r.attempt for r in call_next.requests] == [1, 2, 3]
    assert len(sleep.waits) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
async def test_other_statuses_are_not_retried(status: int, sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(status), make_response())
    with pytest.raises(ApiError):
        await retry(sleep)(make_request(), call_next)
    assert len(call_next.requests) == 1


async def test_gives_up_after_max_attempts_with_the_last_error(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(500))
    with pytest.raises(ServerError):
        await retry(sleep, max_attempts=3)(make_request(), call_next)
    assert len(call_next.requests) == 3


async def test_disabled_policy_makes_one_attempt() -> None:
    call_next = FakeNext(error_response(503))
    with pytest.raises(ServerError):
        await RetryMiddleware(RetryPolicy.disabled())(make_request(), call_next)
    assert len(call_next.requests) == 1


async def test_backoff_is_exponential_capped_and_jittered(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(500))
    with pytest.raises(ServerError):
        await retry(sleep, max_attempts=7, initial_backoff=1.0, max_backoff=8.0)(make_request(), call_next)
    ceilings = [1, 2, 4, 8, 8, 8]
    assert len(sleep.waits) == 6
    for wait, ceiling in zip(sleep.waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_backoff_jitter_varies() -> None:
    policy = RetryPolicy()
    assert len({policy.backoff(3) for _ in range(20)}) > 1


async def test_retry_after_seconds_sets_the_wait(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(429, {"Retry-After": "7"}), make_response())
    await retry(sleep)(make_request(), call_next)
    assert sleep.waits == [7.0]


async def test_retry_after_http_date_sets_the_wait(sleep: RecordingSleep) -> None:
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    call_next = FakeNext(error_response(503, {"Retry-After": when}), make_response())
    await retry(sleep)(make_request(), call_next)
    assert 18 <= sleep.waits[0] <= 20


async def test_a_retry_after_beyond_the_cap_is_raised_at_once(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(429, {"Retry-After": "61"}), make_response())
    with pytest.raises(RateLimitError) as info:
        await retry(sleep)(make_request(), call_next)
    assert info.value.retry_after == 61
    assert len(call_next.requests) == 1
    assert sleep.waits == []


async def test_retry_after_within_a_custom_cap_is_waited(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(429, {"Retry-After": "120"}), make_response())
    await retry(sleep, max_retry_after=300)(make_request(), call_next)
    assert sleep.waits == [120.0]


NON_IDEMPOTENT = {"idempotent": False, "operation": "api_tokens.create"}


@pytest.mark.parametrize(
    "failure",
    [lambda: ConnectError("refused"), lambda: error_response(429), lambda: error_response(503)],
)
async def test_non_idempotent_requests_retry_only_where_the_api_cannot_have_acted(
    failure, sleep: RecordingSleep
) -> None:  # type: ignore[no-untyped-def]
    ok = make_response()
    call_next = FakeNext(failure(), ok)
    assert await retry(sleep)(make_request(**NON_IDEMPOTENT), call_next) is ok
    assert len(call_next.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        lambda: RequestTimeoutError("slow"),
        lambda: ConnectionLostError("reset"),
        *[lambda s=s: error_response(s) for s in (500, 502, 504)],  # type: ignore[misc]
    ],
)
async def test_non_idempotent_ambiguous_failures_are_not_retried_and_say_so(failure, sleep: RecordingSleep) -> None:  # type: ignore[no-untyped-def]
    call_next = FakeNext(failure(), make_response())
    with pytest.raises((ApiError, RequestTimeoutError, ConnectionLostError)) as info:
        await retry(sleep)(make_request(**NON_IDEMPOTENT), call_next)
    assert len(call_next.requests) == 1
    assert info.value.outcome_unknown
    assert "the API may have acted on the request" in str(info.value)


async def test_non_idempotent_refusals_do_not_claim_an_unknown_outcome(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(422))
    with pytest.raises(UnprocessableEntityError) as info:
        await retry(sleep)(make_request(**NON_IDEMPOTENT), call_next)
    assert not info.value.outcome_unknown
    assert "may have acted" not in str(info.value)


async def test_a_404_after_an_unknown_outcome_is_flagged(sleep: RecordingSleep) -> None:
    call_next = FakeNext(ConnectionLostError("reset"), error_response(404))
    with pytest.raises(NotFoundError) as info:
        await retry(sleep)(make_request("DELETE"), call_next)
    assert info.value.after_unknown_outcome


async def test_a_404_after_a_safe_failure_is_not_flagged(sleep: RecordingSleep) -> None:
    call_next = FakeNext(error_response(503), error_response(404))
    with pytest.raises(NotFoundError) as info:
        await retry(sleep)(make_request("DELETE"), call_next)
    assert not info.value.after_unknown_outcome


async def test_cancellation_propagates_unchanged(sleep: RecordingSleep) -> None:
    call_next = FakeNext(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await retry(sleep)(make_request(), call_next)
    assert len(call_next.requests) == 1


async def test_programming_errors_are_not_retried(sleep: RecordingSleep) -> None:
    call_next = FakeNext(KeyError("bug"))
    with pytest.raises(KeyError):
        await retry(sleep)(make_request(), call_next)
    assert len(call_next.requests) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"initial_backoff": -1},
        {"max_backoff": "8"},
        {"max_retry_after": -0.1},
        {"initial_backoff": 10, "max_backoff": 1},
    ],
)
def test_policy_values_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.initial_backoff, policy.max_backoff, policy.max_retry_after) == (
        4,
        0.5,
        8.0,
        60.0,
    )
    assert RetryPolicy.disabled().max_attempts == 1


# -- the chain -------------------------------------------------------------------------------------------------------


async def test_chain_runs_outermost_first_and_unwinds_in_reverse() -> None:
    seen: list[str] = []

    def tag(name: str):  # type: ignore[no-untyped-def]
        async def middleware(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
            seen.append(f"{name}>")
            response = await call_next(request.with_header("X-" + name, "1"))
            seen.append(f"<{name}")
            return response

        return middleware

    transport = FakeNext(make_response())
    handler = build_chain([tag("a"), tag("b")], transport)
    await handler(make_request())
    assert seen == ["a>", "b>", "<b", "<a"]
    assert {"X-a", "X-b"} <= set(transport.requests[0].headers)


def test_json_helper_on_response() -> None:
    assert make_response(body=json.dumps({"token": "t"}).encode()).json() == {"token": "t"}


async def test_the_default_sleep_is_asyncio_sleep_looked_up_when_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    call_next = FakeNext(error_response(503, {"Retry-After": "30"}), make_response())
    await RetryMiddleware(RetryPolicy())(make_request(), call_next)
    assert waits == [30.0]


def test_header_cache_reuses_by_identity_and_stays_bounded() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    from signalwire_tokens._http import HeaderCache

    cache = HeaderCache()
    base = CIMultiDictProxy(CIMultiDict({"Accept": "application/json"}))
    first = cache.add(base, "Authorization", "Basic x")
    assert cache.add(base, "Authorization", "Basic x") is first
    assert first["Authorization"] == "Basic x"
    assert "Authorization" not in base
    others = [CIMultiDictProxy(CIMultiDict({"n": str(n)})) for n in range(100)]
    for other in others:
        cache.add(other, "X", "1")
    assert cache.add(base, "Authorization", "Basic x") is not first, "bounded: old entries were let go"


async def test_each_client_sends_its_own_credentials_however_calls_interleave(fake: FakeSignalWire) -> None:
    """Header sets are cached per client (they hold the Authorization header): nothing is shared between clients."""
    right = fake.client()
    wrong = SignalWireClient(None, fake.project_id, "PT" + "0" * 48, base_url=fake.url, retry=RetryPolicy.disabled())
    async with right, wrong:
        for _ in range(3):
            await right.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
            with pytest.raises(AuthenticationError):
                await wrong.chat_tokens.create(ttl=1, channels={"c": {"read": True}})
    sent = [request.headers["Authorization"] for request in fake.requests]
    assert sent[0::2] == [sent[0]] * 3 and sent[1::2] == [sent[1]] * 3 and sent[0] != sent[1]
