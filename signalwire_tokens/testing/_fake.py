"""An in-process fake SignalWire space on loopback: the four token endpoints as documented, plus injected faults."""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import hashlib
import hmac
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal

import attrs
from aiohttp import web

from .._client import SignalWireClient
from .._models import (
    MAX_CHANNEL_NAME,
    MAX_CHANNELS,
    MAX_MEMBER_ID,
    MAX_STATE_CHARS,
    MAX_TTL_MINUTES,
    Permission,
    state_size,
)
from .._retry import RetryPolicy
from .._validate import mask

__all__ = ["FakeSignalWire", "RecordedRequest"]

Operation = Literal["api_tokens.create", "api_tokens.update", "api_tokens.delete", "chat_tokens.create"]
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PERMISSIONS = frozenset(p.value for p in Permission)
_COMPAT_ERRORS = "https://signalwire.com/docs/compatibility-api/reference/errors"
_PLATFORM_ERRORS = "https://signalwire.com/docs/apis/error-codes"


async def _no_wait(_seconds: float) -> None:
    """The fake's clients retry without waiting: tests stay fast, and the waits are not what they test."""


@attrs.frozen
class RecordedRequest:
    """A request as the fake space received it (headers included, so tests can check the wire)."""

    operation: str
    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        from urllib.parse import parse_qsl

        return parse_qsl(self.body.decode(), keep_blank_values=True)


@attrs.define
class _Fault:
    kind: Literal["status", "reset", "delay"]
    operation: str | None
    remaining: int
    status: int = 500
    body: bytes | None = None
    headers: Mapping[str, str] = attrs.Factory(dict)
    delay: float = 0.0
    after_processing: bool = False
    label: str = ""


_CHAOS_KINDS = ("500", "502", "503", "429", "reset", "reset_after_processing", "slow")


@attrs.define
class _Chaos:
    rate: float
    rng: random.Random
    operation: str | None
    retry_after: str
    slow: float

    def pick(self, operation: str) -> _Fault | None:
        if self.operation not in (None, operation) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(_CHAOS_KINDS)
        if kind == "429":
            return _Fault("status", None, 1, status=429, headers={"Retry-After": self.retry_after}, label=kind)
        if kind.startswith("reset"):
            return _Fault("reset", None, 1, after_processing=kind != "reset", label=kind)
        if kind == "slow":
            return _Fault("delay", None, 1, delay=self.slow * self.rng.random(), label=kind)
        return _Fault("status", None, 1, status=int(kind), label=kind)


@attrs.define
class _Limits:
    """The rate-limited mode: 429 beyond ``per_second`` (a token bucket) or beyond ``max_in_flight``."""

    per_second: float | None
    max_in_flight: int | None
    retry_after: str
    tokens: float = 0.0
    updated: float = 0.0

    def admit(self, now: float, in_flight: int) -> bool:
        if self.max_in_flight is not None and in_flight > self.max_in_flight:
            return False
        if self.per_second is None:
            return True
        self.tokens = min(self.per_second, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _Refusal(Exception):
    """A documented error answer, raised by a validator and turned into a response by the handler."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _compat_error(status: int, code: int, message: str) -> _Refusal:
    return _Refusal(status, {"code": code, "message": message, "more_info": _COMPAT_ERRORS, "status": status})


def _compat_invalid(attribute: str, message: str, code: str = "invalid_parameter") -> _Refusal:
    return _Refusal(
        422,
        {"type": "validation_error", "code": code, "message": message, "attribute": attribute, "url": _COMPAT_ERRORS},
    )


def _chat_invalid(attribute: str, message: str, code: str = "invalid_parameter") -> _Refusal:
    entry = {"type": "validation_error", "code": code, "message": message, "attribute": attribute}
    return _Refusal(422, {"errors": [{**entry, "url": _PLATFORM_ERRORS}]})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(data: Mapping[str, Any]) -> str:
    """A JWT segment: compact JSON, base64url without padding (as SignalWire's tokens have)."""
    return _b64url(json.dumps(data, separators=(",", ":")).encode())


class FakeSignalWire:
    """A fake SignalWire space served by aiohttp on ``127.0.0.1`` (a random free port unless ``port`` is given).

    ``keep_requests`` bounds :attr:`requests` to about the latest N, for a fake that runs for a long time.

    It checks Basic auth and input the way the API documents, answers with the documented bodies, keeps the API
    tokens it creates, mints JWT-shaped chat tokens, records every request in :attr:`requests`, and injects faults
    on demand (:meth:`fail`, :meth:`reset`, :meth:`delay`)::

        async with FakeSignalWire() as fake, fake.client() as client:
            token = await client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})
    """

    def __init__(
        self,
        *,
        project_id: str | None = None,
        api_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_requests: int | None = None,
    ) -> None:
        self.project_id = project_id or str(uuid.uuid4())
        # None keeps every request (tests); a number keeps about the latest ones (a long-running serve).
        self._keep = keep_requests
        self.api_token = api_token or f"PT{secrets.token_hex(24)}"
        self._host = host
        self._port = port
        self._signing_key = secrets.token_bytes(32)
        self._expected_auth = "Basic " + base64.b64encode(f"{self.project_id}:{self.api_token}".encode()).decode()
        #: Every request received, in order of arrival.
        self.requests: list[RecordedRequest] = []
        #: The API tokens that exist, by id: ``{"id", "name", "permissions", "token"}``.
        self.api_tokens: dict[str, dict[str, Any]] = {}
        #: How many chat tokens were minted.
        self.chat_tokens_minted = 0
        self._faults: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self._limits: _Limits | None = None
        self._in_flight = 0
        #: Arrival times (``loop.time()``) of every request, for checking pacing.
        self.arrivals: list[float] = []
        #: How many faults of each kind were injected, e.g. ``{"503": 12, "reset": 3}``.
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> FakeSignalWire:
        self._closing = asyncio.Event()
        app = web.Application()
        compat = "/api/laml/2010-04-01/Accounts/{account_sid}/tokens"
        app.router.add_post(compat, self._route("api_tokens.create", self._create_api_token))
        app.router.add_patch(compat + "/{token_id}", self._route("api_tokens.update", self._update_api_token))
        app.router.add_delete(compat + "/{token_id}", self._route("api_tokens.delete", self._delete_api_token))
        app.router.add_post("/api/chat/tokens", self._route("chat_tokens.create", self._create_chat_token))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        self._closing.set()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeSignalWire:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def client(self, **options: Any) -> SignalWireClient:
        """A client bound to this fake space; retries skip their waits unless ``retry=`` says otherwise."""
        if not self.url:
            raise RuntimeError("start the FakeSignalWire (async with, or await start()) before making a client")
        options.setdefault("retry", RetryPolicy(sleep=_no_wait))
        return SignalWireClient(None, self.project_id, self.api_token, base_url=self.url, **options)

    def __repr__(self) -> str:
        return f"FakeSignalWire(url={self.url!r}, project_id={self.project_id!r}, api_token={mask(self.api_token)})"

    # -- faults ------------------------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        operation: Operation | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of ``operation``, or any) with ``status``, ``headers`` and ``body``.

        A dict body is sent as JSON; with no body, the endpoint's documented error shape is used.
        """
        encoded = json.dumps(body).encode() if isinstance(body, Mapping) else body
        encoded = encoded.encode() if isinstance(encoded, str) else encoded
        self._faults.append(
            _Fault(
                "status", operation, times, status=status, body=encoded, headers=dict(headers or {}), label=str(status)
            )
        )

    def reset(self, *, times: int = 1, operation: Operation | None = None, after_processing: bool = False) -> None:
        """Drop the connection without answering; ``after_processing`` does so after acting on the request."""
        self._faults.append(
            _Fault(
                "reset",
                operation,
                times,
                after_processing=after_processing,
                label="reset_after_processing" if after_processing else "reset",
            )
        )

    def delay(self, seconds: float, *, times: int = 1, operation: Operation | None = None) -> None:
        """Wait ``seconds`` before handling the next ``times`` requests."""
        self._faults.append(_Fault("delay", operation, times, delay=seconds, label="slow"))

    def chaos(
        self,
        rate: float,
        *,
        seed: int | None = None,
        operation: Operation | None = None,
        retry_after: float = 1,
        slow: float = 0.02,
    ) -> None:
        """From now on, give a random ``rate`` (0..1) of requests a fault: a 500, 502 or 503; a 429 with
        ``Retry-After``; a connection reset before or after acting on the request; or an answer up to ``slow``
        seconds late. Faults queued with :meth:`fail`, :meth:`reset` and :meth:`delay` come first."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be in 0..1, got {rate!r}")
        self._chaos = _Chaos(rate, random.Random(seed), operation, f"{retry_after:g}", slow)

    def rate_limit(
        self, *, per_second: float | None = None, max_in_flight: int | None = None, retry_after: float = 1
    ) -> None:
        """Answer 429 (with ``Retry-After``) to requests beyond ``per_second`` or ``max_in_flight``, as SignalWire
        does past its rate limits. ``fake.rate_limit()`` with no limits turns the mode off."""
        if per_second is None and max_in_flight is None:
            self._limits = None
            return
        now = asyncio.get_running_loop().time()
        self._limits = _Limits(per_second, max_in_flight, f"{retry_after:g}", per_second or 0.0, now)

    def clear_faults(self) -> None:
        """Drop queued faults and stop :meth:`chaos`."""
        self._faults.clear()
        self._chaos = None

    def _take_fault(self, operation: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.operation in (None, operation):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return self._chaos.pick(operation) if self._chaos is not None else None

    # -- request handling --------------------------------------------------------------------------------------

    def _route(
        self, operation: str, handler: Callable[[web.Request, bytes], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            self._in_flight += 1
            try:
                return await handle_one(request)
            finally:
                self._in_flight -= 1

        async def handle_one(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            now = asyncio.get_running_loop().time()
            self.arrivals.append(now)
            self.requests.append(
                RecordedRequest(
                    operation, request.method, request.path, dict(request.headers), body, request.content_type
                )
            )
            if self._keep is not None and len(self.requests) > 2 * self._keep:
                del self.requests[: -self._keep], self.arrivals[: -self._keep]
            if self._limits is not None and not self._limits.admit(now, self._in_flight):
                self.faults_injected["rate_limited"] += 1
                throttled = _Fault("status", None, 1, status=429, headers={"Retry-After": self._limits.retry_after})
                return self._fault_response(operation, throttled)
            fault = self._take_fault(operation)
            if fault is not None:
                self.faults_injected[fault.label] += 1
            if fault is not None and fault.kind == "delay":
                # Cut short when the fake closes, so closing never waits for a delay to run out.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            if fault is not None and fault.kind == "status":
                return self._fault_response(operation, fault)
            if fault is not None and fault.kind == "reset" and not fault.after_processing:
                return self._drop(request)
            try:
                self._check_auth(operation, request)
                response = await handler(request, body)
            except _Refusal as refusal:
                response = web.json_response(refusal.body, status=refusal.status)
            if fault is not None and fault.kind == "reset":
                return self._drop(request)
            return response

        return handle

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        # Nothing reaches the client: the connection is gone.
        return web.Response(status=500)

    @staticmethod
    def _fault_response(operation: str, fault: _Fault) -> web.Response:
        body = fault.body
        headers = dict(fault.headers)
        if body is None:
            reason = web.Response(status=fault.status).reason
            if operation.startswith("api_tokens."):
                data: dict[str, Any] = {"code": fault.status, "message": reason, "more_info": _COMPAT_ERRORS}
                data["status"] = fault.status
            else:
                data = {"error": reason}
            body = json.dumps(data).encode()
            headers.setdefault("Content-Type", "application/json")
        return web.Response(status=fault.status, body=body, headers=headers)

    def _check_auth(self, operation: str, request: web.Request) -> None:
        authorized = hmac.compare_digest(request.headers.get("Authorization", ""), self._expected_auth)
        if operation.startswith("api_tokens."):
            if not authorized or request.match_info["account_sid"] != self.project_id:
                raise _compat_error(401, 20003, "Authentication Failed")
        elif not authorized:
            raise _Refusal(401, {"error": "Unauthorized"})

    # -- compatibility API tokens ------------------------------------------------------------------------------

    @staticmethod
    def _check_name(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise _compat_invalid("name", "Name must be present", "missing_required_parameter")
        return value

    @staticmethod
    def _check_permissions(value: Any, *, required: bool) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise _compat_invalid("permissions", "Permissions must be a list of strings")
        if required and not value:
            raise _compat_invalid("permissions", "Permissions must be present", "missing_required_parameter")
        unknown = [p for p in value if p not in _PERMISSIONS]
        if unknown:
            raise _compat_invalid("permissions", f"Invalid permissions: {', '.join(unknown)}")
        return value

    async def _create_api_token(self, request: web.Request, body: bytes) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            raise _compat_error(400, 400, "Expected an application/x-www-form-urlencoded body")
        form = await request.post()
        unknown = set(form) - {"name", "permissions", "subproject_id"}
        if unknown:
            raise _compat_invalid(sorted(unknown)[0], f"Unknown parameter: {sorted(unknown)[0]}")
        name = self._check_name(form.get("name"))
        permissions = self._check_permissions(form.getall("permissions", []), required=True)
        subproject = form.get("subproject_id")
        if subproject is not None and not (isinstance(subproject, str) and _UUID.fullmatch(subproject)):
            raise _compat_invalid("subproject_id", "Subproject must be a valid UUID")
        token: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "permissions": permissions,
            "token": f"PT{secrets.token_hex(24)}",
        }
        self.api_tokens[token["id"]] = token
        return web.json_response(token)

    def _existing_token(self, request: web.Request) -> dict[str, Any]:
        token = self.api_tokens.get(request.match_info["token_id"])
        if token is None:
            raise _compat_error(404, 20404, "The requested resource was not found")
        return token

    async def _update_api_token(self, request: web.Request, body: bytes) -> web.Response:
        try:
            data = json.loads(body)
        except ValueError:
            raise _compat_error(400, 400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _compat_error(400, 400, "The request body must be a JSON object")
        unknown = set(data) - {"name", "permissions"}
        if unknown:
            raise _compat_invalid(sorted(unknown)[0], f"Unknown parameter: {sorted(unknown)[0]}")
        token = self._existing_token(request)
        if "name" in data:
            token["name"] = self._check_name(data["name"])
        if "permissions" in data:
            token["permissions"] = self._check_permissions(data["permissions"], required=False)
        return web.json_response(token)

    async def _delete_api_token(self, request: web.Request, body: bytes) -> web.Response:
        self._existing_token(request)
        del self.api_tokens[request.match_info["token_id"]]
        return web.Response(status=204)

    # -- chat tokens -------------------------------------------------------------------------------------------

    async def _create_chat_token(self, request: web.Request, body: bytes) -> web.Response:
        try:
            data = json.loads(body)
        except ValueError:
            raise _Refusal(400, {"error": "Bad Request"}) from None
        if not isinstance(data, dict):
            raise _Refusal(400, {"error": "Bad Request"})
        unknown = set(data) - {"ttl", "channels", "member_id", "state"}
        if unknown:
            raise _chat_invalid(sorted(unknown)[0], f"Unknown parameter: {sorted(unknown)[0]}")
        ttl = data.get("ttl")
        if ttl is None:
            raise _chat_invalid("ttl", "A required parameter is missing", "missing_required_parameter")
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL_MINUTES:
            raise _chat_invalid("ttl", f"ttl must be an integer between 1 and {MAX_TTL_MINUTES}")
        channels = self._check_channels(data.get("channels"))
        member_id = data.get("member_id", str(uuid.uuid4()))
        if not isinstance(member_id, str) or len(member_id) > MAX_MEMBER_ID:
            raise _chat_invalid("member_id", f"member_id must be a string of at most {MAX_MEMBER_ID} characters")
        state = data.get("state", {})
        if not isinstance(state, dict):
            raise _chat_invalid("state", "state must be a JSON object")
        if state_size(state) > MAX_STATE_CHARS:
            raise _chat_invalid("state", f"state must be at most {MAX_STATE_CHARS} characters")
        self.chat_tokens_minted += 1
        return web.json_response({"token": self._jwt(ttl, channels, member_id, state)})

    @staticmethod
    def _check_channels(channels: Any) -> dict[str, dict[str, bool]]:
        if channels is None:
            raise _chat_invalid("channels", "A required parameter is missing", "missing_required_parameter")
        if not isinstance(channels, dict) or not 1 <= len(channels) <= MAX_CHANNELS:
            raise _chat_invalid("channels", f"channels must be an object of 1 to {MAX_CHANNELS} channels")
        for name, perms in channels.items():
            if len(name) > MAX_CHANNEL_NAME or not name or name.startswith("sw_"):
                raise _chat_invalid("channels", f"Invalid channel name: {name[:40]}")
            if (
                not isinstance(perms, dict)
                or set(perms) - {"read", "write"}
                or not all(isinstance(v, bool) for v in perms.values())
                or not any(perms.values())
            ):
                raise _chat_invalid("channels", f"Channel {name[:40]} needs read and/or write")
        return channels

    def _jwt(self, ttl: int, channels: Mapping[str, Mapping[str, bool]], member_id: str, state: Any) -> str:
        now = int(time.time())
        header = {"typ": "VRT", "alg": "HS512"}
        claims = {
            "iat": now,
            "exp": now + ttl * 60,
            "jti": str(uuid.uuid4()),
            "sub": self.project_id,
            "member_id": member_id,
            "ch": {name: dict(perms) for name, perms in channels.items()},
            "s": state,
        }
        signing_input = f"{_segment(header)}.{_segment(claims)}"
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha512).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def decode_chat_token(self, token: str) -> dict[str, Any]:
        """The claims of a chat token this fake minted, after checking its signature."""
        try:
            signing_input, _, signature = token.rpartition(".")
            expected = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha512).digest()
            padded = signature + "=" * (-len(signature) % 4)
            if not hmac.compare_digest(base64.urlsafe_b64decode(padded), expected):
                raise ValueError("bad signature")
            payload = signing_input.split(".")[1]
            claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, IndexError, binascii.Error):
            raise ValueError("not a chat token minted by this fake space") from None
        return claims
