"""SyncSignalWireClient: the async client, blocking, for code that has no event loop of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from .._budget import TokenBucket
from .._client import SignalWireClient
from .._errors import InvalidRequestError
from .._http import NO_EXTENSIONS, PROJECT_BASIC, Body, Extensions, Middleware, Response, Security, Transport
from .._ratelimit import RateLimiter
from .._retry import RetryPolicy
from ..resources._channel_models import ChatToken, ChatTokenRequest, PubSubToken, PubSubTokenRequest
from ..telemetry import Telemetry
from ._fabric import SyncFabric
from ._portal import Portal
from ._resources import SyncChannelTokens, SyncTokenAdmin
from ._video import SyncVideo

__all__ = ["SyncSignalWireClient"]


def _refuse_session(session: object) -> None:
    if session is not None:
        raise InvalidRequestError(
            "a SyncSignalWireClient takes no session: an aiohttp session belongs to the event loop it was made in, "
            "and this client runs its own loop, with a session of its own (size its pool with max_connections)",
            field="session",
        )


class SyncSignalWireClient:
    """A blocking :class:`SignalWireClient`, for scripts and for Django and Flask views: the same constructor, the
    same resources with the same arguments, the same results and the very same exceptions; each call returns when
    it is done::

        with SyncSignalWireClient.from_env() as client:
            chat = client.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}})

    Every call runs on one event loop in a daemon thread of the client's own, started by the first call and
    stopped by :meth:`close` (or ``with``): one connection pool, reused by every call. Any number of threads may
    share one client, and their calls run concurrently on that loop. A Ctrl-C during a call cancels it on the loop
    and leaves the client usable. Inside a running event loop every call raises ``RuntimeError``: there, use
    :class:`SignalWireClient` and await. ``session=`` is refused: a session belongs to the loop it was made in.
    :meth:`with_options` gives a view with another ``timeout`` or ``retry`` on the same loop, pool and limiter.
    """

    api_tokens: SyncTokenAdmin
    project_tokens: SyncTokenAdmin
    chat_tokens: SyncChannelTokens[ChatTokenRequest, ChatToken]
    pubsub_tokens: SyncChannelTokens[PubSubTokenRequest, PubSubToken]
    video: SyncVideo
    fabric: SyncFabric

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
        _refuse_session(session)
        client = SignalWireClient(
            space,
            project_id,
            api_token,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            middlewares=middlewares,
            attempt_middlewares=attempt_middlewares,
            max_connections=max_connections,
            transport=transport,
            rate_limit=rate_limit,
            telemetry=telemetry,
        )
        self._adopt(client)

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **overrides: Any) -> SyncSignalWireClient:
        """A client configured from SIGNALWIRE_SPACE, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN, and
        SIGNALWIRE_BASE_URL when set, by the rules of :meth:`SignalWireClient.from_env` (keyword arguments override
        the environment and pass any other constructor option)."""
        _refuse_session(overrides.get("session"))
        client = cls.__new__(cls)
        client._adopt(SignalWireClient.from_env(environ=environ, **overrides))
        return client

    def _adopt(self, client: SignalWireClient, portal: Portal | None = None) -> None:
        self._client = client
        #: Whether this client owns its portal (its loop and thread); a view made by with_options shares its
        #: parent's.
        self._owner = portal is None
        self._portal = Portal(type(self).__name__, client.aclose) if portal is None else portal
        self.api_tokens = SyncTokenAdmin(self._portal, client.api_tokens)
        self.project_tokens = SyncTokenAdmin(self._portal, client.project_tokens)
        self.chat_tokens = SyncChannelTokens(self._portal, client.chat_tokens)
        self.pubsub_tokens = SyncChannelTokens(self._portal, client.pubsub_tokens)
        self.video = SyncVideo(self._portal, client.video)
        self.fabric = SyncFabric(self._portal, client.fabric)

    def with_options(self, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> SyncSignalWireClient:
        """A view of this client with another ``timeout`` and/or ``retry`` policy (None: this client's), by the
        rules of :meth:`SignalWireClient.with_options`: it runs on this client's loop and thread and shares its
        pool, rate limiter, telemetry and middlewares; closing the view only stops the view, closing this client
        stops every view of it."""
        view = type(self).__new__(type(self))
        view._adopt(self._client.with_options(timeout=timeout, retry=retry), self._portal)
        return view

    # -- the async client's configuration, as it is ------------------------------------------------------------------

    @property
    def base_url(self) -> URL:
        """Every request path is appended to it: the space's https URL, or ``base_url``."""
        return self._client.base_url

    @property
    def project_id(self) -> str:
        """The project the client acts for."""
        return self._client.project_id

    @property
    def timeout(self) -> float:
        """Seconds one attempt may take."""
        return self._client.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every call."""
        return self._client.retry

    @property
    def rate_limit(self) -> RateLimiter | None:
        """The rate limiter every POST, PUT and PATCH attempt waits for, or None."""
        return self._client.rate_limit

    @property
    def retry_budget(self) -> TokenBucket | None:
        """The retry budget this client's calls share, from every thread (None when the policy has no budget)."""
        return self._client.retry_budget

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (on this client, or on the client a view was made from): the client
        sends nothing more."""
        return self._portal.closed or self._client.closed

    def url(self, path: str) -> URL:
        """The absolute URL of an API path such as ``/api/chat/tokens``."""
        return self._client.url(path)

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
    ) -> Response:
        """Run one call through the chain and return its response (another endpoint of the client's origin)."""
        return self._portal.run(
            self._client.send,
            method,
            url,
            operation,
            body=body,
            idempotent=idempotent,
            extensions=extensions,
            security=security,
        )

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client as ``SignalWireClient.aclose`` does (its token caches, its rate limiter, its transport),
        then stop its loop and join its thread. Safe to call twice. A client dropped without being closed is closed
        when it is collected, or at exit. A view made by :meth:`with_options` owns none of it: closing one only
        stops the view."""
        if self._owner:
            self._portal.close()
        elif not self.closed:
            self._portal.run(self._client.aclose)

    def __enter__(self) -> SyncSignalWireClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self.base_url)!r}, project_id={self.project_id!r})"
