"""An in-process fake SignalWire space: the token endpoints as documented, plus injected faults.

One :class:`._space.Space` holds the documented API (state, auth, validation, bodies, faults, the record of
requests); two thin adapters serve it: an aiohttp server on loopback and an in-memory transport.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from ..._client import SignalWireClient
from ..._retry import RetryPolicy
from ..._validate import check_int, check_seconds, mask
from ._fabric_state import FabricSpace
from ._faults import Chaos, Fault, SlidingWindow
from ._memory import InMemoryServer, InMemoryTransport
from ._recorder import RecordedRequest
from ._server import LoopbackServer
from ._space import OperationName, Space
from ._video import new_conference_secret

__all__ = ["FabricSpace", "FakeSignalWire", "RecordedRequest"]


async def _no_wait(_seconds: float) -> None:
    """The fake's clients retry without waiting: tests stay fast, and the waits are not what they test."""


class FakeSignalWire:
    """A fake SignalWire space, served by aiohttp on ``host`` (a random free port unless ``port`` is given) or, with
    ``in_memory=True``, through an in-memory transport with no socket at all.

    It checks Basic auth and input the way the API documents, answers with the documented bodies, keeps the API
    tokens it creates, mints JWT-shaped chat tokens, records every request in :attr:`requests`, and injects faults
    on demand (:meth:`fail`, :meth:`reset`, :meth:`delay`, :meth:`chaos`, :meth:`rate_limit`)::

        async with FakeSignalWire() as fake, fake.client() as client:
            token = await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})

    ``keep_requests`` bounds :attr:`requests` to about the latest N, for a fake that runs for a long time;
    ``latency`` delays every answer by that many seconds, like a real API's round trip.
    """

    def __init__(
        self,
        *,
        project_id: str | None = None,
        api_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_requests: int | None = None,
        in_memory: bool = False,
        latency: float = 0.0,
    ) -> None:
        api_token = api_token or f"PT{secrets.token_hex(24)}"
        self._space = Space(project_id or str(uuid.uuid4()), api_token, keep_requests)
        self._space.latency = check_seconds("latency", latency)
        self._in_memory = InMemoryServer(self._space)
        self._loopback = None if in_memory else LoopbackServer(self._space, host, port)
        #: Where the space answers: set by :meth:`start` on loopback; the client allows http:// for localhost only.
        self.url = "http://localhost" if in_memory else ""

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    async def start(self) -> FakeSignalWire:
        """Open the space (in memory there is nothing to open: the fake works from its creation)."""
        self._space.reopen()
        if self._loopback is not None:
            self.url = await self._loopback.start()
        return self

    async def close(self) -> None:
        """Stop serving; delays under way are cut short."""
        self._space.closing.set()
        await self._in_memory.close()
        if self._loopback is not None:
            await self._loopback.close()

    async def __aenter__(self) -> FakeSignalWire:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def transport(self) -> InMemoryTransport:
        """A new in-memory :class:`Transport` to this space (for ``SignalWireClient(transport=...)``)."""
        return InMemoryTransport(self._in_memory)

    def client(self, **options: Any) -> SignalWireClient:
        """A client bound to this fake space; retries skip their waits unless ``retry=`` says otherwise."""
        if not self.url:
            raise RuntimeError("start the FakeSignalWire (async with, or await start()) before making a client")
        options.setdefault("retry", RetryPolicy(sleep=_no_wait))
        if self._loopback is None:
            options.setdefault("transport", self.transport())
        return SignalWireClient(None, self.project_id, self.api_token, base_url=self.url, **options)

    def __repr__(self) -> str:
        return f"FakeSignalWire(url={self.url!r}, project_id={self.project_id!r}, api_token={mask(self.api_token)})"

    # -- what it holds and received ----------------------------------------------------------------------------------

    @property
    def project_id(self) -> str:
        return self._space.project_id

    @property
    def api_token(self) -> str:
        return self._space.api_token

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order of arrival (about the latest ``keep_requests`` if given)."""
        return self._space.recorder.requests

    @property
    def arrivals(self) -> list[float]:
        """The arrival time (``loop.time()``) of each request in :attr:`requests`, for checking pacing."""
        return self._space.recorder.arrivals

    @property
    def api_tokens(self) -> dict[str, dict[str, Any]]:
        """The API tokens that exist, by id: ``{"id", "name", "permissions", "token"}``."""
        return self._space.tokens.api_tokens

    @property
    def chat_tokens_minted(self) -> int:
        return self._space.tokens.chat_tokens_minted

    @property
    def pubsub_tokens_minted(self) -> int:
        return self._space.tokens.pubsub_tokens_minted

    @property
    def room_tokens_minted(self) -> int:
        return self._space.tokens.room_tokens_minted

    @property
    def fabric(self) -> FabricSpace:
        """The Call Fabric side: ``subscribers``, ``add_address()``, ``add_click_to_call()``, what each minted token is
        (``token(sat)``), ``minted`` by operation, and the ``clock`` that makes tokens expire."""
        return self._space.tokens.fabric

    def add_conference(self, tokens: int = 2, *, scopes: Sequence[str] = ("room.self.audio_mute",)) -> str:
        """Add a video conference holding ``tokens`` conference tokens (named ``Token 1`` ...), and return its id,
        for ``client.video.conference_tokens``. (The API makes conferences elsewhere; the fake only holds them.)"""
        conference_id = str(uuid.uuid4())
        ids = [str(uuid.uuid4()) for _ in range(check_int("tokens", tokens, minimum=0))]
        for n, token_id in enumerate(ids, 1):
            token = {"id": token_id, "name": f"Token {n}", "token": new_conference_secret(), "scopes": list(scopes)}
            self._space.tokens.conference_tokens[token_id] = token
        self._space.tokens.conferences[conference_id] = {"tokens": ids, "page_token": secrets.token_hex(8)}
        return conference_id

    @property
    def conference_tokens(self) -> dict[str, dict[str, Any]]:
        """Every conference token, by id: ``{"id", "name", "token", "scopes"}``, its current value included."""
        return self._space.tokens.conference_tokens

    @property
    def conference_token_resets(self) -> int:
        """How many times a conference token was reset (each one a new value)."""
        return self._space.tokens.conference_token_resets

    @property
    def faults_injected(self) -> Counter[str]:
        """How many faults of each kind were injected, e.g. ``{"503": 12, "reset": 3, "rate_limited": 2}``."""
        return self._space.faults_injected

    @property
    def throttled(self) -> int:
        """How many 429s the space answered: its :meth:`rate_limit`, ``fail(429)`` and :meth:`chaos` alike."""
        return self._space.throttled

    async def wait_for_requests(self, n: int, *, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until ``n`` requests have arrived since the fake was made, and return :attr:`requests`.

        Raises ``TimeoutError`` (saying how many arrived) when they have not within ``timeout`` seconds.
        """
        return await self._space.recorder.wait_for(check_int("n", n, minimum=0), check_seconds("timeout", timeout))

    def decode_chat_token(self, token: str) -> dict[str, Any]:
        """The claims of a chat token this fake minted, after checking its signature."""
        return self._space.tokens.signer.decode(token)

    def decode_room_token(self, token: str) -> dict[str, Any]:
        """The claims of a room token this fake minted, after checking its signature: ``r`` the room, ``u`` the
        user, ``s`` the permissions, ``jf``/``ju``/``rat`` the join and removal times (POSIX seconds), ..."""
        return self._space.tokens.signer.decode(token)

    # -- faults ------------------------------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        operation: OperationName | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of ``operation``, or any) with ``status``, ``headers`` and ``body``.

        With no body, the documented error body of the operation's endpoint for that status is sent. A dict body is
        sent as JSON, text and bytes as they are (``application/octet-stream`` unless ``headers`` say otherwise).
        """
        headers = dict(headers or {})
        if isinstance(body, Mapping):
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(body)
        elif body is not None:
            headers.setdefault("Content-Type", "application/octet-stream")
        encoded = body.encode() if isinstance(body, str) else body
        self._add(Fault("status", operation, times, str(status), status=status, body=encoded, headers=headers))

    def reset(self, *, times: int = 1, operation: OperationName | None = None, after_processing: bool = False) -> None:
        """Drop the connection without answering; ``after_processing`` does so after acting on the request."""
        label = "reset_after_processing" if after_processing else "reset"
        self._add(Fault("reset", operation, times, label, after_processing=after_processing))

    def delay(self, seconds: float, *, times: int = 1, operation: OperationName | None = None) -> None:
        """Wait ``seconds`` before handling the next ``times`` requests (cut short when the fake closes)."""
        self._add(Fault("delay", operation, times, "slow", delay=check_seconds("seconds", seconds)))

    def _add(self, fault: Fault) -> None:
        check_int("times", fault.remaining, minimum=1)
        self._space.faults.add(fault)

    def chaos(
        self,
        rate: float,
        *,
        seed: int | None = None,
        operation: OperationName | None = None,
        retry_after: float = 1,
        slow: float = 0.02,
    ) -> None:
        """From now on, give a random ``rate`` (0..1) of requests a fault: a 500, 502 or 503; a 429 with
        ``Retry-After``; a connection reset before or after acting on the request; or an answer up to ``slow``
        seconds late. Faults queued with :meth:`fail`, :meth:`reset` and :meth:`delay` come first."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be in 0..1, got {rate!r}")
        self._space.faults.chaos = Chaos(rate, random.Random(seed), operation, f"{retry_after:g}", slow)

    def rate_limit(self, limit: int | None = 13_800, period: float = 10.0) -> None:
        """Limit POST, PUT and PATCH requests to ``limit`` in any ``period`` seconds, as SignalWire documents (GET and
        DELETE are never limited). Beyond it the space answers 429 with ``Retry-After``: the whole seconds until the
        oldest admitted request leaves the window. ``rate_limit(None)`` lifts the limit.

        A batch waits out each 429 for as long as its ``Retry-After`` says, but a client from :meth:`client` skips
        retry waits: against a window it retries at once until a place frees. To see the waits, give it a policy
        whose ``sleep`` waits (``retry=RetryPolicy()``, or a sleep scaled to a short ``period``)."""
        if limit is None:
            self._space.window = None
            return
        self._space.window = SlidingWindow(
            check_int("limit", limit, minimum=1), check_seconds("period", period, positive=True)
        )

    def observe(self, callback: Callable[[RecordedRequest, int | None, float], object]) -> None:
        """Call ``callback(request, status, seconds)`` after each answer (``status`` None: the connection was
        dropped), e.g. to log what the space answers."""
        self._space.observers.append(callback)

    def clear_faults(self) -> None:
        """Drop queued faults and stop :meth:`chaos` (the rate limit stays)."""
        self._space.faults.clear()
