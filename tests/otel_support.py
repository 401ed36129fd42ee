"""OpenTelemetry's SDK with its in-memory exporters, for the telemetry tests. Providers are passed to
``Telemetry`` explicitly: the global ones are never set, so no test leaks spans into another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from signalwire_tokens.telemetry import Telemetry

SCOPE = "signalwire_tokens"


class Exported:
    """A Telemetry whose spans and metrics land in memory, and ways to read them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.telemetry = Telemetry(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def spans(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()

    def ours(self) -> list[ReadableSpan]:
        """The spans the library made (not the test's own, nor another instrumentation's)."""
        return [span for span in self.spans() if getattr(span.instrumentation_scope, "name", None) == SCOPE]

    def calls(self) -> list[ReadableSpan]:
        return [span for span in self.ours() if span.kind is SpanKind.INTERNAL]

    def attempts(self) -> list[ReadableSpan]:
        """The library's CLIENT spans, in the order they started."""
        return sorted((span for span in self.ours() if span.kind is SpanKind.CLIENT), key=start_time)

    def metrics(self) -> list[tuple[str, Metric]]:
        """Every metric collected now, with the name of the instrumentation scope that made it."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            (scope.scope.name, metric)
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]

    def points(self, name: str) -> list[Any]:
        return [point for _, metric in self.metrics() if metric.name == name for point in metric.data.data_points]

    def total(self, name: str, **attributes: Any) -> int:
        """The sum of a counter's points whose attributes include ``attributes``."""
        return sum(point.value for point in self.points(name) if _includes(point.attributes, attributes))

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def start_time(span: ReadableSpan) -> int:
    assert span.start_time is not None
    return span.start_time


def _includes(attributes: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    return all((attributes or {}).get(key) == value for key, value in wanted.items())
