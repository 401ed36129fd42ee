"""Recipe: traces and metrics of every call, exported by OpenTelemetry's SDK (here to the console).

``pip install '.[otel]' opentelemetry-sdk`` from a checkout; in production, swap the console exporters for OTLP
ones (``opentelemetry-exporter-otlp``) and ``SimpleSpanProcessor`` for ``BatchSpanProcessor``.
Run it: ``python examples/otel_console.py`` (offline, against a fake space). Each span is printed as JSON when it
ends: the page's span, a ``chat_tokens.create`` span per call under it, and a ``POST /api/chat/tokens`` span per
attempt under that. The metrics are printed once, at exit.
"""

from __future__ import annotations

import asyncio

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from signalwire_tokens.telemetry import Telemetry
from signalwire_tokens.testing import FakeSignalWire


def configure_opentelemetry() -> tuple[TracerProvider, MeterProvider]:
    """What an application does once at startup: the global providers, with their exporters."""
    resource = Resource.create({"service.name": "token-backend"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


async def main() -> None:
    tracer_provider, meter_provider = configure_opentelemetry()
    tracer = trace.get_tracer("token-backend")
    async with FakeSignalWire() as fake, fake.client(telemetry=Telemetry()) as client:
        fake.fail(503)  # the first attempt fails: its call shows two attempt spans, the second a resend
        with tracer.start_as_current_span("GET /chat-tokens"):
            for member in ("alice", "bob"):
                await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}}, member_id=member)
        minted = fake.chat_tokens_minted
    meter_provider.shutdown()  # exports the metrics one last time
    tracer_provider.shutdown()
    print(f"minted {minted} chat tokens (the first after a 503)")


if __name__ == "__main__":
    asyncio.run(main())
