"""SignalWireClient: configuration, credentials, the session's lifecycle and the assembled middleware chain."""

from __future__ import annotations

import os
import platform
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._budget import TokenBucket
from ._chain import Credentials, EncodeBody, build_chain
from ._config import check_api_token, check_project_id, resolve_base_url
from ._errors import InvalidRequestError
from ._http import NO_EXTENSIONS, PROJECT_BASIC, Body, Extensions, Middleware, Request, Response, Security, Transport
from ._options import check_middlewares, check_rate_limit, check_session, check_telemetry, check_transport
from ._pacing import pace
from ._ratelimit import RateLimiter, RateLimitGate
from ._retry import RetryPolicy
from ._retry_middleware import RetryMiddleware
from ._transport import AiohttpTransport
from ._validate import check_int, check_seconds
from ._version import __version__
from .resources import ApiTokens, ChatTokens, Fabric, ProjectTokens, PubSubTokens, Video
from .telemetry import Telemetry

__all__ = ["SignalWireClient"]

_ENV = {"space": "SIGNALWIRE_SPACE", "project_id": "SIGNALWIRE_PROJECT_ID", "api_token": "SIGNALWIRE_API_TOKEN"}
_USER_AGENT = f"signalwire-tokens/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class SignalWireClient:
    """An asyncio client for SignalWire's token APIs, safe to share between any number of tasks.

    Every call runs through one middleware chain::

        middlewares -> body encoding -> retry -> error decoding -> rate limit -> attempt_middlewares
            -> credentials -> transport

    ``middlewares`` see each call once, however many attempts it takes; ``attempt_middlewares`` see every attempt
    and its raw response (an error status included, before it becomes an exception). Credentials are added last,
    and only to a request for the client's own origin, so no middleware can send them elsewhere. ``transport``
    replaces the aiohttp transport with any :class:`Transport` (the fake space's in-memory one, a test double);
    the client closes it when it closes. ``rate_limit`` (a :class:`RateLimiter`: :class:`LocalRateLimit` for one
    process, ``RedisRateLimit`` for a fleet) holds every attempt of a POST, PUT or PATCH until the window allows it;
    the client closes it too. ``telemetry`` (a :class:`~signalwire_tokens.telemetry.Telemetry`) adds a span per call
    before ``middlewares`` and a span per attempt just before credentials.

    :meth:`with_options` gives a view with another ``timeout`` or ``retry`` that shares all of this client's
    machinery (pool, limiter, telemetry, middlewares); this client keeps owning it.
    """

    #: Every request path is appended to it: the space's https URL, or ``base_url``.
    base_url: URL
    project_id: str
    #: Seconds one attempt may take.
    timeout: float
    retry: RetryPolicy
    rate_limit: RateLimiter | None
    telemetry: Telemetry | None
    api_tokens: ApiTokens
    project_tokens: ProjectTokens
    chat_tokens: ChatTokens
    pubsub_tokens: PubSubTokens
    #: ``video.room_tokens`` and ``video.conference_tokens``.
    video: Video
    #: ``fabric.subscriber_tokens``, ``guest_tokens``, ``embed_tokens`` and ``invite_tokens`` (Call Fabric).
    fabric: Fabric

    def __init__(
        self,
        space: str | None,
        project_id: str,
        api_token: str,
        *,
        base_url: str | URL | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        middlewares: Sequence[Middleware] = (),
        attempt_middlewares: Sequence[Middleware] = (),
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        transport: Transport | None = None,
        rate_limit: RateLimiter | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.base_url = resolve_base_url(space, base_url)
        self.project_id = check_project_id(project_id)
        retry = RetryPolicy() if retry is None else retry
        if not isinstance(retry, RetryPolicy):
            raise InvalidRequestError(f"retry must be a RetryPolicy, got {type(retry).__name__}", field="retry")
        session = check_session(session)
        self.retry = retry
        self.timeout = check_seconds("timeout", timeout, positive=True)
        check_int("max_connections", max_connections, minimum=1)
        credentials = Credentials.basic(self.base_url.origin(), self.project_id, check_api_token(api_token))
        self.rate_limit = check_rate_limit(rate_limit, self.project_id)
        # Only a client with a limiter has the gate in its chain: without one, a call costs nothing more.
        gate = [RateLimitGate(self.rate_limit)] if self.rate_limit is not None else []
        # The same for telemetry: without it, the chain has no span middleware at all.
        self.telemetry = check_telemetry(telemetry)
        call_spans = [self.telemetry._call_spans] if self.telemetry is not None else []
        attempt_spans = [self.telemetry._attempt_spans] if self.telemetry is not None else []
        self._transport: Transport = (
            AiohttpTransport(max_connections=max_connections, session=session)
            if transport is None
            else check_transport(transport, session)
        )
        # Retry splits the chain in two: a view made by with_options puts its own retry between the same halves.
        self._above_retry: tuple[Middleware, ...] = (
            *call_spans,  # outermost: the call's span holds everything the client does for it
            *check_middlewares("middlewares", middlewares),
            EncodeBody(),
        )
        self._below_retry = build_chain(
            [
                pace,  # a batch's own pacing first, then the client's window on top
                *gate,
                *check_middlewares("attempt_middlewares", attempt_middlewares),
                *attempt_spans,  # nearest the wire: after every wait, and the request as it is sent
                credentials,
            ],
            self._transport,
        )
        self._use_retry(RetryMiddleware(retry))
        self._headers = CIMultiDictProxy(CIMultiDict({"Accept": "application/json", "User-Agent": _USER_AGENT}))
        self._closed = False
        #: The client whose machinery a view made by with_options shares; None for a client that owns its own.
        self._parent: SignalWireClient | None = None
        #: Closed with the client, before its transport (the token caches made from it). Weak: a cache its user
        #: dropped is not kept alive by the client.
        self._closables: weakref.WeakSet[_Closable] = weakref.WeakSet()
        self._add_resources()

    def _use_retry(self, retry: RetryMiddleware) -> None:
        self._retry = retry
        self._handler = build_chain([*self._above_retry, retry], self._below_retry)

    def _add_resources(self) -> None:
        self.api_tokens = ApiTokens(self)
        self.project_tokens = ProjectTokens(self)
        self.chat_tokens = ChatTokens(self)
        self.pubsub_tokens = PubSubTokens(self)
        self.video = Video(self)
        self.fabric = Fabric(self)

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **overrides: Any) -> SignalWireClient:
        """A client configured from SIGNALWIRE_SPACE, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN, and
        SIGNALWIRE_BASE_URL when set (same rules as ``base_url``: an unchanged application can be pointed at a
        local fake space). Keyword arguments override the environment (and pass any other constructor option).
        """
        env = os.environ if environ is None else environ
        if overrides.get("base_url") is None and env.get("SIGNALWIRE_BASE_URL"):
            overrides["base_url"] = env["SIGNALWIRE_BASE_URL"]
        settings = {name: overrides.pop(name, None) or env.get(var) or None for name, var in _ENV.items()}
        needed = [name for name in ("project_id", "api_token") if settings[name] is None]
        if settings["space"] is None and overrides.get("base_url") is None:
            needed.insert(0, "space")
        if needed:
            missing = ", ".join(_ENV[name] for name in needed)
            raise InvalidRequestError(
                f"set {missing} in the environment (or pass them as keyword arguments)", field=needed[0]
            )
        return cls(settings["space"], settings["project_id"], settings["api_token"], **overrides)  # type: ignore[arg-type]

    def url(self, path: str) -> URL:
        """The absolute URL of an API path such as ``/api/chat/tokens``."""
        return self.base_url.with_path(self.base_url.path.rstrip("/") + path, encoded=True)

    def send(
        self,
        method: str,
        url: URL,
        operation: str,
        *,
        body: Body = None,
        idempotent: bool = True,
        extensions: Extensions = NO_EXTENSIONS,
        security: Security = PROJECT_BASIC,
    ) -> Awaitable[Response]:
        """Run one call through the chain (await the result); the resources use this, and so can a user for
        another endpoint of the same origin. ``security`` is the credentials the operation takes (the project's Basic
        by default), added at the last hop. A plain function returning the chain's awaitable: one coroutine less
        per call."""
        if self._closed or (self._parent is not None and self._parent._closed):
            raise RuntimeError("the SignalWireClient is closed")
        return self._handler(
            Request(
                method, url, operation, idempotent, self._headers, body, 1, None, self.timeout, extensions, security
            )
        )

    @property
    def retry_budget(self) -> TokenBucket | None:
        """The retry budget this client's calls share (None when the policy has no budget)."""
        return self._retry.bucket

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called (on this client, or on the client a view was made from): the client
        sends nothing more."""
        return self._closed or (self._parent is not None and self._parent._closed)

    def with_options(self, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> SignalWireClient:
        """A view of this client with another ``timeout`` and/or ``retry`` policy (None: this client's), for some
        calls only::

            await client.with_options(timeout=5.0, retry=RetryPolicy.disabled()).chat_tokens.create(...)

        The view shares everything else with this client: the connection pool (the transport), the rate limiter,
        the telemetry, the middlewares and the credentials. A view given ``retry=`` has that policy's own retry
        budget; without it, the view shares this client's budget too. This client keeps owning what is shared:
        closing the view only stops the view (it sends nothing more); closing this client closes the transport,
        the limiter and the token caches made from it or from any of its views, and stops every view. A view of a
        view is a view of the same client. Making one costs no I/O.
        """
        owner = self._parent if self._parent is not None else self
        view = object.__new__(SignalWireClient)
        view.__dict__.update(self.__dict__)
        if timeout is not None:
            view.timeout = check_seconds("timeout", timeout, positive=True)
        if retry is not None:
            if not isinstance(retry, RetryPolicy):
                raise InvalidRequestError(f"retry must be a RetryPolicy, got {type(retry).__name__}", field="retry")
            view.retry = retry
            view._use_retry(RetryMiddleware(retry))
        view._closed = False
        view._parent = owner
        view._add_resources()
        return view

    async def aclose(self) -> None:
        """Close the token caches made from this client, its rate limiter, then the transport, whether the client
        made it or was given it (a ``session=`` passed in is left open). Safe to call twice. A view made by
        :meth:`with_options` owns none of these: closing it only stops the view."""
        if not self._closed:
            self._closed = True
            if self._parent is not None:
                return
            for closable in list(self._closables):
                await closable.aclose()
            if self.rate_limit is not None:
                await self.rate_limit.aclose()
            await self._transport.aclose()

    async def __aenter__(self) -> SignalWireClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"SignalWireClient(base_url={str(self.base_url)!r}, project_id={self.project_id!r})"
