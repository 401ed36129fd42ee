from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest
from multidict import CIMultiDict
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from yarl import URL

from signalwire_tokens import ApiError, FormBody, JsonBody, Request, Response, RetryPolicy, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire, RecordedRequest

if TYPE_CHECKING:
    from .otel_support import Exported
    from .support import ThreadedFake

PROJECT_ID = "ea14556a-984f-11ee-b9d1-0242ac120002"
API_TOKEN = "PT037258e533e87ac63174ee136ed0798dc85d4f4f9e6d7191"
TOKEN_ID = "9a7fc048-984f-11ee-b9d1-0242ac120002"
SPEC = OpenAPI.from_file_path(str(Path(__file__).parent / "spec" / "openapi-tokens.yaml"))
SPEC_HOST = "https://example.signalwire.com"


def make_request(
    method: str = "POST",
    url: str = "https://example.signalwire.com/api/chat/tokens",
    *,
    operation: str = "chat_tokens.create",
    idempotent: bool = True,
    body: Any = None,
    **kwargs: Any,
) -> Request:
    return Request(method, URL(url), operation, idempotent, body=body, **kwargs)


def make_response(
    status: int = 200,
    body: bytes = b"{}",
    *,
    headers: dict[str, str] | None = None,
    request: Request | None = None,
    attempt: int = 1,
) -> Response:
    return Response(status, CIMultiDict(headers or {}), body, request or make_request(), attempt)


class FakeNext:
    """A fake ``call_next``: answers with the outcomes given, in order, and records what it was called with."""

    def __init__(self, *outcomes: Response | BaseException | Callable[[Request], Response]) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome(request)
        return outcome


class RecordingSleep:
    """An injectable sleep that records the waits and never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignalWire]:
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN) as server:
        yield server


@pytest.fixture
def otel() -> Iterator[Exported]:
    """A Telemetry exporting to memory (OpenTelemetry's SDK, which the test and e2e dependency groups install)."""
    pytest.importorskip("opentelemetry.sdk", reason="the telemetry tests need opentelemetry-sdk (the test group)")
    from .otel_support import Exported

    exported = Exported()
    yield exported
    exported.shutdown()


@pytest.fixture
async def client(fake: FakeSignalWire) -> AsyncIterator[SignalWireClient]:
    async with fake.client() as c:
        yield c


@pytest.fixture(params=["loopback", "in_memory"])
async def each_fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeSignalWire]:
    """A started fake space, once on loopback and once in memory: what both adapters must do alike."""
    in_memory = request.param == "in_memory"
    async with FakeSignalWire(project_id=PROJECT_ID, api_token=API_TOKEN, in_memory=in_memory) as server:
        yield server


async def send_raw(
    fake: FakeSignalWire,
    method: str,
    path: str,
    body: FormBody | JsonBody | bytes | None = None,
    *,
    content_type: str | None = None,
) -> Response:
    """One attempt through a client of ``fake`` (``content_type`` replacing the one the body would have), and the
    answer as it came, an error status included."""
    answers: list[Response] = []

    async def keep_answer(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if content_type is not None:
            request = request.with_header("Content-Type", content_type)
        answers.append(await call_next(request))
        return answers[-1]

    async with fake.client(retry=RetryPolicy.disabled(), attempt_middlewares=[keep_answer]) as client:
        with contextlib.suppress(ApiError):
            await client.send(method, client.url(path), "raw", body=body)
    return answers[0]


def spec_request(recorded: RecordedRequest) -> MockRequest:
    # The headers carry the Authorization header, which the spec's Basic security scheme requires.
    return MockRequest(
        SPEC_HOST,
        recorded.method.lower(),
        recorded.path,
        args=dict(parse_qsl(recorded.query)),
        headers=dict(recorded.headers),
        data=recorded.body,
        content_type=recorded.content_type,
    )


def assert_request_matches_spec(recorded: RecordedRequest) -> None:
    result = SPEC.unmarshal_request(spec_request(recorded))
    assert not result.errors, [repr(e) + str(getattr(e, "__cause__", "")) for e in result.errors]


def assert_response_matches_spec(recorded: RecordedRequest, status: int, body: bytes) -> None:
    response = MockResponse(body, status_code=status, content_type="application/json" if body else "")
    result = SPEC.unmarshal_response(spec_request(recorded), response)
    assert not result.errors, [repr(e) + str(getattr(e, "__cause__", "")) for e in result.errors]


Step = Callable[[], Awaitable[Any]]


class RedisServer:
    """A real ``redis-server`` on a free loopback port, with no persistence, for the fleet tests."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start it; after :meth:`kill`, again on the same port and empty, as a restart without persistence. Returns
        once it answers."""
        command = ["redis-server", "--save", "", "--appendonly", "no", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)

    def kill(self) -> None:
        """Stop it at once, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)")
    server = RedisServer()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def space() -> Iterator[ThreadedFake]:
    """A fake space on an event loop of its own in a thread: for code that runs its own loop (the command line,
    the sync client)."""
    from .support import ThreadedFake

    threaded = ThreadedFake()
    yield threaded
    threaded.close()


@pytest.fixture
def creds(space: ThreadedFake, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The command line's credentials for ``space``: the project id and API token in the environment, its URL as
    the options to add."""
    monkeypatch.delenv("SIGNALWIRE_SPACE", raising=False)
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", space.fake.project_id)
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", space.fake.api_token)
    return ["--base-url", space.fake.url]
