"""What OpenTelemetry's HTTP semantic conventions say an attempt's span and metric carry, worked out from a
request: plain data, no OpenTelemetry import, so it can be tested (and costs the same) with or without the SDK.

Attribute names are written out rather than imported from ``opentelemetry-semantic-conventions``: the ``otel``
extra is ``opentelemetry-api`` alone, and these names are stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs
from yarl import URL

from ._paths import url_template

__all__ = [
    "ERROR_TYPE",
    "HTTP_REQUEST_METHOD",
    "HTTP_RESEND_COUNT",
    "HTTP_STATUS_CODE",
    "OPERATION",
    "Attributes",
    "Endpoint",
    "endpoint",
    "is_error_status",
]

HTTP_REQUEST_METHOD = "http.request.method"
HTTP_REQUEST_METHOD_ORIGINAL = "http.request.method_original"
HTTP_STATUS_CODE = "http.response.status_code"
HTTP_RESEND_COUNT = "http.request.resend_count"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
URL_FULL = "url.full"
URL_TEMPLATE = "url.template"
#: The library's own attribute on its counters: which call (``chat_tokens.create``, ...).
OPERATION = "operation"

# RFC 9110's methods, PATCH (RFC 5789) and QUERY: the conventions' "known" methods. Any other is reported as _OTHER.
KNOWN_METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"})

Attributes = Mapping[str, str | int]


@attrs.frozen
class Endpoint:
    """What every attempt of one method on one URL has in common: its span name and its attributes."""

    #: ``{method} {url.template}``, or the method alone for a path the spec does not have.
    span_name: str
    #: The attempt span's attributes known before it is sent (``url.full`` included).
    span_attributes: Attributes
    #: The duration histogram's attributes known before it is sent (no ``url.full``: too many values).
    metric_attributes: Attributes


def _full_url(url: URL) -> str:
    # The conventions forbid credentials in url.full. The library never puts any in a URL; a user's client.send
    # could, so they are dropped here rather than trusted to be absent.
    return str(url.with_user(None)) if url.user is not None or url.password is not None else str(url)


def endpoint(method: str, url: URL) -> Endpoint:
    """The span name and attributes of an attempt of ``method`` on ``url`` (an absolute URL)."""
    known = method in KNOWN_METHODS
    reported = method if known else "_OTHER"
    template = url_template(url.raw_path)
    common: dict[str, str | int] = {HTTP_REQUEST_METHOD: reported, SERVER_ADDRESS: url.host or ""}
    if url.port is not None:
        common[SERVER_PORT] = url.port
    if template is not None:
        common[URL_TEMPLATE] = template
    span = {**common, URL_FULL: _full_url(url)}
    if not known:
        span[HTTP_REQUEST_METHOD_ORIGINAL] = method
    prefix = method if known else "HTTP"
    name = f"{prefix} {template}" if template is not None else prefix
    return Endpoint(name, MappingProxyType(span), MappingProxyType(common))


def is_error_status(status: int) -> bool:
    """Whether an answer's status makes a CLIENT span an error: 4xx and 5xx, as the conventions say."""
    return status >= 400
