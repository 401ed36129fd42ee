"""OpenTelemetry tracing and metrics for a :class:`~signalwire_tokens.SignalWireClient` (the ``otel`` extra:
``opentelemetry-api`` only; the application brings the SDK and its exporters).

This module imports without OpenTelemetry installed; :class:`Telemetry` says which extra to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import InvalidRequestError
from .._http import Middleware
from .._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Tracer, TracerProvider

__all__ = ["Telemetry"]

_INSTALL = "pip install 'signalwire-tokens[otel]'"
#: The instrumentation scope of every span and metric the library makes.
SCOPE = "signalwire_tokens"


def _require_extra() -> None:
    try:
        from opentelemetry import metrics, trace  # noqa: F401
    except ImportError as error:
        raise ImportError(f"Telemetry needs the otel extra: {_INSTALL} ({error})") from error


def _check_provider(name: str, provider: Any, kind: type) -> None:
    if provider is not None and not isinstance(provider, kind):
        raise InvalidRequestError(
            f"{name} must be an OpenTelemetry {kind.__name__} (or None for the global one), got"
            f" {type(provider).__name__}",
            field=name,
        )


class Telemetry:
    """Traces and metrics for every call of the clients given it (``SignalWireClient(telemetry=Telemetry())``).

    Each call is an INTERNAL span named after its operation (``chat_tokens.create``), with one CLIENT span per
    attempt under it that follows OpenTelemetry's HTTP semantic conventions; the client's rate-limit waits are
    events on the call's span. Metrics: ``http.client.request.duration`` (seconds, per attempt) and the counters
    ``signalwire_tokens.retries``, ``signalwire_tokens.throttled`` (429 answers) and
    ``signalwire_tokens.tokens_minted``, each by ``operation``. Inside an attempt's span, OpenTelemetry's other
    instrumentations (aiohttp's among them) are suppressed, so nothing is counted twice. No attribute, event or
    metric ever holds the API token, the ``Authorization`` header or a minted token.

    ``tracer_provider`` and ``meter_provider`` default to the global ones (through OpenTelemetry's proxies, so
    providers the application sets after making this object are used too).
    """

    def __init__(
        self, *, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        _require_extra()
        from opentelemetry import metrics, trace

        from ._metrics import Instruments
        from ._spans import AttemptSpans, CallSpans

        _check_provider("tracer_provider", tracer_provider, trace.TracerProvider)
        _check_provider("meter_provider", meter_provider, metrics.MeterProvider)
        tracer = trace.get_tracer(SCOPE, __version__, tracer_provider)
        instruments = Instruments(metrics.get_meter(SCOPE, __version__, meter_provider))
        self._providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
        self._tracer = tracer
        # The client places both: the call's span first in its chain, the attempts' just above credentials. The
        # attempt middleware relies on the call middleware above it (it reads the call's span off the request).
        self._call_spans: Middleware = CallSpans(tracer, instruments)
        self._attempt_spans: Middleware = AttemptSpans(tracer, instruments)

    @property
    def tracer(self) -> Tracer:
        """The tracer of the library's spans (scope ``signalwire_tokens``), for the layers above a client that make
        spans of their own, such as :mod:`signalwire_tokens.web`'s one per route call."""
        return self._tracer

    def __repr__(self) -> str:
        shown = [f"{name}={type(p).__name__}" for name, p in self._providers.items() if p is not None]
        return f"Telemetry({', '.join(shown)})"
