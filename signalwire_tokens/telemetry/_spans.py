"""The two middlewares a client with telemetry has: one span per call at the top of the chain, one CLIENT span
per attempt at the bottom, next to the wire.

The call's span reaches the layers below on the request (``request.extensions.observer``), not through ambient
state: the attempts name it as their parent, and the rate limiter reports its waits to it.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast

import attrs
from opentelemetry import context, trace
from opentelemetry.context import _SUPPRESS_HTTP_INSTRUMENTATION_KEY, _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from yarl import URL

from .._errors import NotFoundError
from .._http import Handler, Request, Response
from ._metrics import MINTING_OPERATIONS, Instruments
from ._semconv import ERROR_TYPE, HTTP_RESEND_COUNT, HTTP_STATUS_CODE, Endpoint, endpoint, is_error_status

__all__ = ["RATE_LIMIT_WAIT", "AttemptSpans", "CallSpans"]

#: The event on a call's span for each wait the client's rate limiter imposed on one of its attempts.
RATE_LIMIT_WAIT = "signalwire_tokens.rate_limit.wait"
WAIT_SECONDS = "signalwire_tokens.wait.seconds"
ATTEMPT = "signalwire_tokens.attempt"

# The keys OpenTelemetry's instrumentations look for in the current context before they make a span or record a
# metric. Set inside our attempt span, around the transport alone, they keep aiohttp's instrumentation from counting
# the same attempt again (without our resend count). The HTTP key is the one meant for this, and the one
# aiohttp-client checks since 0.60b0 (``is_http_instrumentation_enabled``); releases before it, which go with the
# older APIs this extra allows, check only the general key. Nothing but the transport runs under them. Both live in
# the API (private by name, but the ones the instrumentations share), so no instrumentation package is needed.
_SUPPRESSED = ((_SUPPRESS_HTTP_INSTRUMENTATION_KEY, True), (_SUPPRESS_INSTRUMENTATION_KEY, True))


def _sending(span: Span) -> context.Context:
    """The context the transport runs in: ``span`` current, other instrumentations of the attempt suppressed."""
    ctx = trace.set_span_in_context(span)
    for key, value in _SUPPRESSED:
        ctx = context.set_value(key, value, ctx)
    return ctx


class _Call:
    """One call's span, as the layers below see it (a :class:`~signalwire_tokens._http.CallObserver`)."""

    __slots__ = ("context", "span")

    def __init__(self, span: Span, parent: context.Context) -> None:
        self.span = span
        #: The context whose current span is the call's: the parent of its attempts.
        self.context = parent

    def waited(self, request: Request, seconds: float) -> None:
        # On the call's span, not the attempt's: the wait comes before the attempt starts, and an attempt span
        # (and the duration histogram, which should match it) measures the HTTP request alone.
        self.span.add_event(RATE_LIMIT_WAIT, {WAIT_SECONDS: seconds, ATTEMPT: request.attempt})


class CallSpans:
    """The chain's first middleware: an INTERNAL span named after the operation (``chat_tokens.create``) around the
    whole call, a child of the caller's current span, made current so the user's middlewares nest under it."""

    def __init__(self, tracer: Tracer, instruments: Instruments) -> None:
        self._tracer = tracer
        self._instruments = instruments

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        span = self._tracer.start_span(request.operation, kind=SpanKind.INTERNAL)
        call = _Call(span, trace.set_span_in_context(span))
        token = context.attach(call.context)
        try:
            response = await call_next(request.replace(extensions=attrs.evolve(request.extensions, observer=call)))
        except Exception as error:
            if isinstance(error, NotFoundError) and error.after_unknown_outcome and request.method == "DELETE":
                # delete's documented success: the token is gone, and the attempt that deleted it was lost.
                span.set_status(StatusCode.OK)
            else:
                span.set_attribute(ERROR_TYPE, type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
            raise
        else:
            span.set_status(StatusCode.OK)
            if request.operation in MINTING_OPERATIONS:
                self._instruments.tokens_minted.add(1, self._instruments.operation(request.operation))
            return response
        finally:
            # A cancelled call (the caller stopped it: a batch closed early) leaves the status unset, as the
            # conventions ask: it is not an error of the call.
            context.detach(token)
            span.end()


class AttemptSpans:
    """The middleware just above credentials: a CLIENT span per attempt, as the request goes on the wire (after
    every wait and every middleware that could change it), a child of the call's span, with the duration metric."""

    def __init__(self, tracer: Tracer, instruments: Instruments) -> None:
        self._tracer = tracer
        self._instruments = instruments
        # A client sends to a handful of URLs (updates and deletes add one per token id): their names and
        # attributes are worked out once each.
        self._endpoints: dict[tuple[str, URL], Endpoint] = {}

    def _endpoint(self, request: Request) -> Endpoint:
        key = (request.method, request.url)
        found = self._endpoints.get(key)
        if found is None:
            if len(self._endpoints) >= 256:
                self._endpoints.clear()
            found = self._endpoints[key] = endpoint(request.method, request.url)
        return found

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        where = self._endpoint(request)
        attributes = where.span_attributes
        if request.attempt > 1:
            attributes = {**attributes, HTTP_RESEND_COUNT: request.attempt - 1}
            self._instruments.retries.add(1, self._instruments.operation(request.operation))
        # The call's span, put on the request by CallSpans, which is always above this middleware in a chain.
        call = cast(_Call, request.extensions.observer)
        span = self._tracer.start_span(where.span_name, call.context, SpanKind.CLIENT, attributes)
        token = context.attach(_sending(span))
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            # Stopped by the caller (a batch closed early): the conventions ask for no error, and the duration of
            # an attempt nobody waited for is not the server's.
            context.detach(token)
            span.end()
            raise
        except Exception as error:
            context.detach(token)
            self._end(span, time.perf_counter() - started, where, request, None, type(error).__name__)
            raise
        context.detach(token)
        status = response.status
        error_type = str(status) if is_error_status(status) else None
        self._end(span, time.perf_counter() - started, where, request, status, error_type)
        return response

    def _end(
        self,
        span: Span,
        seconds: float,
        where: Endpoint,
        request: Request,
        status: int | None,
        error_type: str | None,
    ) -> None:
        if status is not None:
            span.set_attribute(HTTP_STATUS_CODE, status)
        if error_type is not None:
            # The status code says why (4xx, 5xx), or error.type names the transport's failure: no description.
            span.set_attribute(ERROR_TYPE, error_type)
            span.set_status(StatusCode.ERROR)
        span.end()
        self._instruments.attempt_done(seconds, where.metric_attributes, request.operation, status, error_type)
