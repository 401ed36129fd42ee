"""Turning an error response into a typed :class:`ApiError`: a pure function, no I/O.

It understands every error body SignalWire documents and never raises on a body it does not understand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from ._errors import (
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
from ._http import Response

__all__ = ["decode_error", "parse_retry_after"]

_ERROR_CLASSES: Mapping[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Signalwire-Request-Id", "X-Amzn-Requestid")
_EXCERPT_LENGTH = 120


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _ERROR_CLASSES.get(status, ApiError)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(seconds, 0.0)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _code(value: Any) -> str | int | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    return _text(value)


def _detail(entry: Any) -> ErrorDetail | None:
    if isinstance(entry, str):
        return ErrorDetail(message=entry)
    if not isinstance(entry, dict):
        return None
    return ErrorDetail(
        message=_text(entry.get("message")) or _text(entry.get("detail")) or "",
        type=_text(entry.get("type")),
        code=_code(entry.get("code")),
        attribute=_text(entry.get("attribute")),
        url=_text(entry.get("url")),
    )


def _excerpt(body: bytes) -> str:
    text = " ".join(re.sub(r"<[^>]*>", " ", body.decode("utf-8", "replace")).split())
    return text[:_EXCERPT_LENGTH] + ("…" if len(text) > _EXCERPT_LENGTH else "")


def _fields_from_body(response: Response) -> dict[str, Any]:
    """The message, code, attribute, more_info and errors held by the body, whatever its documented shape."""
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
        shape = "an empty body" if not response.body.strip() else f"a body that is not a JSON object ({content_type})"
        excerpt = _excerpt(response.body)
        message = f"the API answered with {shape}" + (f": {excerpt!r}" if excerpt else "")
        return {"message": message}

    entries = data.get("errors")
    if isinstance(entries, list):
        # The platform API: {"errors": [{type, code, message, attribute, url}, ...]} or {"errors": ["..."]}.
        errors = tuple(d for d in map(_detail, entries) if d is not None)
        first = errors[0] if errors else ErrorDetail(message="")
        return {
            "message": "; ".join(e.message for e in errors if e.message) or "the API gave an empty error list",
            "code": first.code,
            "attribute": first.attribute,
            "more_info": first.url,
            "errors": errors,
        }
    if "error" in data and _text(data["error"]):
        # {"error": "Unauthorized"}: the platform API's terse form.
        return {"message": _text(data["error"]), "errors": (ErrorDetail(message=str(data["error"])),)}

    # The compatibility API's {code, message, more_info, status} and the flat {type, code, message, attribute, url}.
    detail = _detail(data)
    assert detail is not None  # data is a dict
    more_info = _text(data.get("more_info")) or detail.url
    has_content = detail.message or detail.code is not None
    return {
        "message": detail.message or "the API gave no error message",
        "code": detail.code,
        "attribute": detail.attribute,
        "more_info": more_info,
        "errors": (attrs.evolve(detail, url=more_info),) if has_content else (),
    }


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return None


def decode_error(response: Response) -> ApiError:
    """The typed error for a response whose status is not a success."""
    fields = _fields_from_body(response)
    request = response.request
    return error_class(response.status)(
        fields.pop("message"),
        status=response.status,
        request_id=_request_id(response.headers),
        method=request.method,
        url=str(request.url),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        headers=response.headers,
        **fields,
    )
