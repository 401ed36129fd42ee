"""The only code that touches aiohttp: a :class:`Request` in, a :class:`Response` out."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request

import aiohttp
from yarl import URL

from ._config import is_loopback
from ._errors import ConnectError, ConnectionLostError, TransportError
from ._http import Request, Response
from ._loop_closer import LoopCloser
from ._timeouts import Limit, attempt_limit, timeout_error

__all__ = ["AiohttpTransport"]

log = logging.getLogger("signalwire_tokens")

# aiohttp rounds timeouts above this many seconds up to a whole second; rounding would blur which limit fired first.
_NO_ROUNDING = 1e9


def _client_timeout(seconds: float | None) -> aiohttp.ClientTimeout:
    # The connect limit (pool wait included) is shorter than the whole attempt's, so that a request stuck before
    # leaving fails as a connect timeout, known to be safe to retry. The 10 % margin keeps the order of the two
    # timers even on a loaded event loop, where a 1 % margin was seen to lose the race.
    if seconds is None:
        return aiohttp.ClientTimeout(total=None, connect=None)
    return aiohttp.ClientTimeout(total=seconds, connect=seconds * 0.9, ceil_threshold=_NO_ROUNDING)


def _translate(error: BaseException, request: Request, seconds: float | None, limit: Limit) -> TransportError:
    """Our error for an aiohttp one, saying whether the request can have left and which time limit was hit.

    The aiohttp exception is described, not chained: some carry the request's headers (the credentials).
    """
    method, url = request.method, str(request.url)
    if isinstance(error, (aiohttp.ConnectionTimeoutError, asyncio.TimeoutError)) and seconds is not None:
        return timeout_error(request, seconds, limit, connecting=isinstance(error, aiohttp.ConnectionTimeoutError))
    if isinstance(error, aiohttp.ClientHttpProxyError):
        # aiohttp's message holds the proxy's URL, with the password HTTPS_PROXY may carry: status and reason only.
        return ConnectError(
            f"the proxy refused the tunnel: HTTP {error.status} {error.message}", method=method, url=url
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return ConnectError(f"could not connect: {error.os_error}", method=method, url=url)
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return ConnectionLostError("the server closed the connection before answering", method=method, url=url)
    return ConnectionLostError(f"the connection failed: {type(error).__name__}: {error}", method=method, url=url)


class EnvironmentProxies:
    """The proxy for each request, from ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` as urllib reads them
    (``getproxies`` when the session is made, ``proxy_bypass`` at an origin's first request). Resolved here rather
    than by aiohttp's ``trust_env``, which would also read credentials from ``~/.netrc`` and add them to requests
    meant to go without.

    A plain-http request (the client allows one only to a loopback host) goes through a proxy only on loopback too:
    anywhere else, its Basic credentials would cross the network in clear text, and a remote proxy cannot reach
    this machine's loopback anyway.
    """

    def __init__(self, proxies: dict[str, str]) -> None:
        self._proxies = proxies
        # Per origin: a client talks to one origin, so each request costs one dict lookup.
        self._by_origin: dict[tuple[str, str | None, int | None], URL | None] = {}

    @classmethod
    def from_environment(cls) -> EnvironmentProxies:
        """The proxies the environment names now."""
        return cls(urllib.request.getproxies())

    def for_url(self, url: URL) -> URL | None:
        """The proxy to send a request for ``url`` through, or None to connect directly."""
        key = (url.scheme, url.host, url.port)
        try:
            return self._by_origin[key]
        except KeyError:
            proxy = self._by_origin[key] = self._resolve(url)
            return proxy

    def _resolve(self, url: URL) -> URL | None:
        configured = self._proxies.get(url.scheme)
        if not configured or url.host is None:
            return None
        if urllib.request.proxy_bypass(url.host):
            return None
        proxy = URL(configured if "://" in configured else f"http://{configured}")
        if url.scheme == "http" and not is_loopback(proxy.host):
            return None
        return proxy


class AiohttpTransport:
    """Sends requests over one ``aiohttp.ClientSession`` per event loop, made lazily in the running loop.

    A session belongs to the loop it was made in. Used from a later loop (two ``asyncio.run`` calls, pytest's loop
    per test), the transport makes a fresh session there; the earlier one was closed when its loop shut down. A
    session passed in is the caller's: used as it is (its own proxy settings included), never closed here. With a
    session of its own, the transport sends each request through the proxy the environment names for it
    (:class:`EnvironmentProxies`, read when the session is made).
    """

    def __init__(self, *, max_connections: int, session: aiohttp.ClientSession | None = None) -> None:
        # The client's timeout is the same for every call: its ClientTimeout is made once.
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}
        self._max_connections = max_connections
        self._shared = session
        self._session = session
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: LoopCloser | None = None
        self._closed = False
        self._proxies: EnvironmentProxies | None = None

    def _open(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        """The session for ``loop``, made now: no await between the check and the assignment, so concurrent first
        calls share one session."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        self._loop = loop
        if self._shared is not None:
            return self._shared
        self._proxies = EnvironmentProxies.from_environment()
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections), cookie_jar=aiohttp.DummyCookieJar()
        )
        # aiohttp silently repeats a DELETE once when the connection drops. That hidden attempt would hide an
        # unknown outcome from the retry layer (a 404 after it means "deleted"), so retries stay ours alone.
        # There is no public switch; a shared session keeps aiohttp's behaviour.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._closer = LoopCloser(session.close)
        self._session = session
        return session

    async def __call__(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        session = self._session if self._loop is loop else self._open(loop)
        assert session is not None
        seconds, limit = attempt_limit(request, loop.time())
        if limit == "timeout":
            timeout = self._timeouts.get(seconds)
            if timeout is None:
                timeout = self._timeouts[seconds] = _client_timeout(seconds)
        else:
            timeout = _client_timeout(seconds)
        started = time.perf_counter()
        try:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
                timeout=timeout,
                proxy=None if self._proxies is None else self._proxies.for_url(request.url),
            ) as raw:
                body = await raw.read()
                response = Response(
                    raw.status, raw.headers, body, request, request.attempt, time.perf_counter() - started
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            failure = _translate(error, request, seconds, limit)
        else:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %d (attempt %d, %.1f ms)",
                    request.method,
                    request.url.path,
                    response.status,
                    request.attempt,
                    response.elapsed * 1000,
                )
            return response
        log.debug(
            "%s %s failed: %s (attempt %d, %.1f ms)",
            request.method,
            request.url.path,
            failure.message,
            request.attempt,
            (time.perf_counter() - started) * 1000,
        )
        # Raised outside the except block so the aiohttp exception is not even the implicit __context__.
        raise failure

    async def aclose(self) -> None:
        """Close the session this transport made (a shared one is left open). Safe to call twice."""
        self._closed = True
        closer, self._closer, self._session, self._loop = self._closer, None, None, None
        if closer is not None:
            await closer.aclose()
