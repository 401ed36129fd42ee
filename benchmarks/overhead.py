"""The middleware chain's own cost: mint chat tokens through a client whose transport answers at once, without a
network, so what is left is the library (validation, encoding, the chain, decoding, the batch machinery).

Then telemetry's cost per call: the same call through a client with ``telemetry=`` (OpenTelemetry's SDK, a batch
span processor and a periodic metric reader whose exporters drop everything) and one without, in alternating
rounds of the same run, so both meet the same machine state; the medians of the rounds are compared.

    python benchmarks/overhead.py [--n 20000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from signalwire_tokens import ChatTokenRequest, Request, Response, SignalWireClient

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
BODY = json.dumps({"token": "eyJ0eXAiOiJWUlQiLCJhbGciOiJIUzUxMiJ9.eyJpYXQiOjE3OTU1MDc0OTJ9.c2lnbmF0dXJl"}).encode()
HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
CHANNELS = {"lobby": {"read": True, "write": True}}


class NullTransport:
    """A Transport that answers every request at once with a minted token."""

    async def __call__(self, request: Request) -> Response:
        return Response(200, HEADERS, BODY, request, request.attempt)

    async def aclose(self) -> None:
        pass


async def measure(n: int) -> dict[str, float]:
    results = {}
    async with SignalWireClient("example", PROJECT_ID, "PTbench", transport=NullTransport()) as client:
        for name, run in {
            "chat_tokens.create (one call)": lambda: client.chat_tokens.create(ttl=60, channels=CHANNELS),
        }.items():
            await run()
            started = time.perf_counter()
            for _ in range(n):
                await run()
            results[name] = (time.perf_counter() - started) / n * 1e6
        request = ChatTokenRequest(ttl=60, channels=CHANNELS)
        started = time.perf_counter()
        for _ in range(n):
            await client.chat_tokens.mint(request)
        results["chat_tokens.mint (prepared request)"] = (time.perf_counter() - started) / n * 1e6
        started = time.perf_counter()
        for _ in range(n):
            ChatTokenRequest(ttl=60, channels=CHANNELS)
        results["ChatTokenRequest(...) alone"] = (time.perf_counter() - started) / n * 1e6
        requests = (ChatTokenRequest(ttl=60, channels=CHANNELS) for _ in range(n))
        started = time.perf_counter()
        async for _item in client.chat_tokens.create_many(requests, concurrency=64):
            pass
        results["create_many, per token (concurrency 64)"] = (time.perf_counter() - started) / n * 1e6
    return results


def opentelemetry_sdk() -> Any:
    """The Telemetry an application would configure, with exporters that drop everything (None without the SDK)."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    except ImportError:
        return None
    from signalwire_tokens.telemetry import Telemetry

    class NoSpans(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class NoMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 0, **kwargs: Any) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kwargs: Any) -> None:
            pass

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(NoSpans()))
    meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(NoMetrics(), 60_000)])
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider), (tracer_provider, meter_provider)


async def measure_telemetry(n: int, rounds: int) -> dict[str, float] | None:
    configured = opentelemetry_sdk()
    if configured is None:
        return None
    telemetry, providers = configured
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    from signalwire_tokens.telemetry import Telemetry

    # The library's own share: the same middlewares over the API's no-op providers (what Telemetry() costs in an
    # application that has not configured OpenTelemetry).
    no_op = Telemetry(tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())
    clients = {
        "off": SignalWireClient("example", PROJECT_ID, "PTbench", transport=NullTransport()),
        "no-op": SignalWireClient("example", PROJECT_ID, "PTbench", transport=NullTransport(), telemetry=no_op),
        "on": SignalWireClient("example", PROJECT_ID, "PTbench", transport=NullTransport(), telemetry=telemetry),
    }
    timings: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():  # warm-up
        for _ in range(n // 10):
            await client.chat_tokens.create(ttl=60, channels=CHANNELS)
    names = list(clients)
    for round_ in range(rounds):
        for name in names[round_ % 3 :] + names[: round_ % 3]:  # the order rotates every round
            client = clients[name]
            started = time.perf_counter()
            for _ in range(n):
                await client.chat_tokens.create(ttl=60, channels=CHANNELS)
            timings[name].append((time.perf_counter() - started) / n * 1e6)
    for client in clients.values():
        await client.aclose()
    for provider in providers:
        provider.shutdown()
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of the telemetry comparison")
    args = parser.parse_args()
    for name, micros in asyncio.run(measure(args.n)).items():
        print(f"{name:45s} {micros:7.1f} µs")
    telemetry = asyncio.run(measure_telemetry(args.n, args.rounds))
    if telemetry is None:
        print("telemetry: skipped (pip install opentelemetry-sdk)")
        return
    off, no_op, on = telemetry["off"], telemetry["no-op"], telemetry["on"]
    print(f"{'chat_tokens.create, telemetry off':45s} {off:7.1f} µs  (medians of {args.rounds} rotating rounds)")
    print(f"{'chat_tokens.create, telemetry, no-op providers':45s} {no_op:7.1f} µs  (the library's own share)")
    print(f"{'chat_tokens.create, telemetry on (SDK)':45s} {on:7.1f} µs  (2 spans, 1 histogram point, 1 counter)")
    print(f"{'telemetry cost per call (SDK)':45s} {on - off:7.1f} µs  (+{(on - off) / off:.0%})")


if __name__ == "__main__":
    main()
