"""One span per route call, through the client's telemetry: the route and the outcome (the status and a word),
never the token, the reference or anything the page sent. The client's own spans for the mint nest under it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from ._answer import Answer

if TYPE_CHECKING:
    from ..telemetry import Telemetry

__all__ = ["OUTCOME", "ROUTE", "RouteSpans"]

ROUTE = "signalwire_tokens.web.route"
OUTCOME = "signalwire_tokens.web.outcome"
_STATUS = "http.response.status_code"
_METHOD = "http.request.method"
#: OpenTelemetry's name for the route matched, below the mount (``fabric/token``), as the conventions ask.
_HTTP_ROUTE = "http.route"
_ERROR_TYPE = "error.type"

#: What a span context hands its body: a function to call with the answer before the span ends.
Record = Callable[[Answer], None]


class RouteSpans:
    """The spans of one mount: none without telemetry (and OpenTelemetry is then never imported). ``enabled`` says
    whether there are any: without, the core calls its route directly, so a mount without telemetry pays nothing
    for it."""

    def __init__(self, telemetry: Telemetry | None) -> None:
        self._tracer = None if telemetry is None else telemetry.tracer
        self.enabled = self._tracer is not None

    @contextlib.asynccontextmanager
    async def span(self, route: str, method: str) -> AsyncIterator[Record]:
        """A span named ``web <route>`` around the body, current while it runs; the body records its answer. Only
        when :attr:`enabled`."""
        assert self._tracer is not None
        from opentelemetry.trace import SpanKind, StatusCode

        with self._tracer.start_as_current_span(
            f"web {route}",
            kind=SpanKind.INTERNAL,
            attributes={ROUTE: route, _HTTP_ROUTE: route, _METHOD: method},
            record_exception=False,
        ) as span:

            def record(answer: Answer) -> None:
                span.set_attribute(_STATUS, answer.status)
                span.set_attribute(OUTCOME, answer.outcome)
                if answer.status >= 500:
                    # As OpenTelemetry's HTTP conventions ask of a server's 5xx: what failed, else the status.
                    span.set_attribute(_ERROR_TYPE, answer.error_type or str(answer.status))
                span.set_status(StatusCode.ERROR if answer.status >= 500 else StatusCode.OK)

            yield record
