"""Error decoding is a pure function: every documented body shape, and anything else, becomes a typed ApiError."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalwire_tokens import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ErrorDetail,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from signalwire_tokens._decode import decode_error, parse_retry_after

from .conftest import make_request, make_response

COMPAT_401 = {
    "code": 20003,
    "message": "Authentication failed",
    "more_info": "https://signalwire.com/docs/compatibility-api/reference/errors",
    "status": 401,
}
FLAT_422 = {
    "type": "validation_error",
    "code": "invalid_parameter",
    "message": "Name must be present",
    "attribute": "name",
    "url": "https://signalwire.com/docs/apis/error-codes",
}


def decode(status: int, body: object, headers: dict[str, str] | None = None) -> ApiError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decode_error(make_response(status, raw, headers=headers))


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (301, ApiError),
        (302, ApiError),
        (409, ApiError),
        (418, ApiError),
    ],
)
def test_status_maps_to_its_class(status: int, cls: type[ApiError]) -> None:
    error = decode(status, {"error": "x"})
    assert type(error) is cls
    assert error.status == status


def test_compatibility_body() -> None:
    error = decode(401, COMPAT_401)
    assert isinstance(error, AuthenticationError)
    assert (error.code, error.message, error.more_info) == (20003, "Authentication failed", COMPAT_401["more_info"])
    assert error.attribute is None
    assert error.errors == (ErrorDetail("Authentication failed", None, 20003, None, COMPAT_401["more_info"]),)


def test_flat_token_validation_body() -> None:
    error = decode(422, FLAT_422)
    assert (error.code, error.attribute, error.message) == ("invalid_parameter", "name", "Name must be present")
    assert error.more_info == FLAT_422["url"]
    assert error.errors == (
        ErrorDetail("Name must be present", "validation_error", "invalid_parameter", "name", FLAT_422["url"]),
    )


def test_platform_errors_list_keeps_every_entry_in_order() -> None:
    second = {**FLAT_422, "attribute": "ttl", "code": "missing_required_parameter", "message": "ttl is required"}
    error = decode(422, {"errors": [FLAT_422, second]})
    assert [e.attribute for e in error.errors] == ["name", "ttl"]
    assert error.attribute == "name"
    assert error.code == "invalid_parameter"
    assert error.more_info == FLAT_422["url"]
    assert "Name must be present" in error.message
    assert "ttl is required" in error.message


def test_platform_errors_entry_with_null_attribute() -> None:
    error = decode(422, {"errors": [{**FLAT_422, "attribute": None}]})
    assert error.attribute is None


def test_errors_as_strings() -> None:
    error = decode(400, {"errors": ["Channels is invalid", "Ttl is too long"]})
    assert [e.message for e in error.errors] == ["Channels is invalid", "Ttl is too long"]
    assert error.message == "Channels is invalid; Ttl is too long"
    assert error.code is None


def test_terse_error_body() -> None:
    error = decode(401, {"error": "Unauthorized"})
    assert error.message == "Unauthorized"
    assert error.errors == (ErrorDetail("Unauthorized"),)


def test_html_body_says_so_with_an_excerpt() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>" + b"x" * 500
    error = decode(502, page, {"Content-Type": "text/html"})
    assert isinstance(error, ServerError)
    assert "not a JSON object" in error.message
    assert "text/html" in error.message
    assert "502 Bad Gateway" in error.message
    assert len(error.message) < 250
    assert "<h1>" not in error.message


def test_empty_body() -> None:
    error = decode(503, b"")
    assert "empty body" in error.message


def test_json_that_is_not_an_object() -> None:
    assert "not a JSON object" in decode(500, [1, 2]).message
    assert "not a JSON object" in decode(500, b"null").message


def test_an_empty_object_still_gives_a_message() -> None:
    error = decode(500, {})
    assert error.message == "the API gave no error message"
    assert error.errors == ()


def test_request_id_method_and_url() -> None:
    request = make_request("PATCH", "https://example.signalwire.com/api/laml/x")
    error = decode_error(make_response(404, b"{}", headers={"x-request-id": "req-123"}, request=request))
    assert (error.request_id, error.method, error.url) == (
        "req-123",
        "PATCH",
        "https://example.signalwire.com/api/laml/x",
    )
    assert "req-123" in str(error)
    assert "PATCH https://example.signalwire.com/api/laml/x" in str(error)


def test_retry_after_seconds_and_http_date() -> None:
    assert decode(429, {}, {"Retry-After": "7"}).retry_after == 7.0
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:00", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert decode(429, {}).retry_after is None


def test_str_and_repr() -> None:
    error = decode(422, FLAT_422)
    assert str(error).startswith("HTTP 422: Name must be present, code=invalid_parameter, attribute=name")
    assert (
        repr(error) == "UnprocessableEntityError(status=422, code='invalid_parameter', message='Name must be present')"
    )


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_bodies = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["errors", "error", "code", "message", "attribute", "url", "more_info", "status", "type", "x"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@given(st.integers(300, 599), json_bodies)
def test_any_json_body_decodes(status: int, body: object) -> None:
    error = decode(status, json.dumps(body).encode())
    assert isinstance(error, ApiError)
    assert isinstance(error.message, str)
    assert error.message
    assert all(isinstance(e, ErrorDetail) for e in error.errors)
    str(error)
    repr(error)


@given(
    st.integers(300, 599),
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["Retry-After", "Content-Type", "X-Request-Id"]), st.text(max_size=40)),
)
def test_any_bytes_and_headers_decode(status: int, body: bytes, headers: dict[str, str]) -> None:
    error = decode(status, body, headers)
    assert isinstance(error, ApiError)
    assert error.message
    assert error.retry_after is None or error.retry_after >= 0
