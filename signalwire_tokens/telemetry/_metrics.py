"""The client's instruments: the conventions' ``http.client.request.duration`` per attempt, and the library's own
counters of retries, 429s and tokens minted, each by ``operation``."""

from __future__ import annotations

from opentelemetry.metrics import Meter

from ._semconv import ERROR_TYPE, HTTP_STATUS_CODE, OPERATION, Attributes

__all__ = ["DURATION_BUCKETS", "MINTING_OPERATIONS", "Instruments"]

#: The bucket boundaries the HTTP conventions recommend for ``http.client.request.duration`` (seconds). Given as
#: advice: the SDK's default boundaries are made for milliseconds and would put every attempt in the first bucket.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

#: The calls whose success is a new token: chat and PubSub tokens (batches and the cache mint through these), and
#: API tokens made through either API.
#: The operations whose success is a new token: a conference token's reset gives it a new value.
MINTING_OPERATIONS = frozenset(
    {
        "chat_tokens.create",
        "pubsub_tokens.create",
        "api_tokens.create",
        "project_tokens.create",
        "video.room_tokens.create",
        "video.conference_tokens.reset",
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
        "fabric.guest_tokens.create",
        "fabric.embed_tokens.create",
        "fabric.invite_tokens.create",
    }
)


class Instruments:
    """Made once per :class:`~signalwire_tokens.telemetry.Telemetry`; shared by every client given it."""

    def __init__(self, meter: Meter) -> None:
        self.duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            "signalwire_tokens.retries",
            unit="{retry}",
            description="Attempts sent after a call's first one (retries), by operation.",
        )
        self.throttled = meter.create_counter(
            "signalwire_tokens.throttled",
            unit="{response}",
            description="429 Too Many Requests answers, by operation.",
        )
        self.tokens_minted = meter.create_counter(
            "signalwire_tokens.tokens_minted",
            unit="{token}",
            description="Tokens the API created (chat, PubSub, room, API and Call Fabric tokens; conference token"
            " resets), by operation.",
        )
        # One attribute set per operation, made once: there are a handful, and every attempt needs one.
        self._by_operation: dict[str, Attributes] = {}

    def operation(self, operation: str) -> Attributes:
        attributes = self._by_operation.get(operation)
        if attributes is None:
            if len(self._by_operation) >= 256:  # a user's client.send names its own operations
                self._by_operation.clear()
            attributes = self._by_operation[operation] = {OPERATION: operation}
        return attributes

    def attempt_done(
        self, seconds: float, endpoint: Attributes, operation: str, status: int | None, error_type: str | None
    ) -> None:
        """Record one finished attempt: its duration, and a 429 as such."""
        attributes = dict(endpoint)
        if status is not None:
            attributes[HTTP_STATUS_CODE] = status
        if error_type is not None:
            attributes[ERROR_TYPE] = error_type
        self.duration.record(seconds, attributes)
        if status == 429:
            self.throttled.add(1, self.operation(operation))
