"""The client's options beyond where requests go and with which credentials (``_config``): checked once, when the
client is made, each refused with the field it came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import aiohttp

from ._errors import InvalidRequestError
from ._http import Middleware, Transport
from ._ratelimit import RateLimiter
from .telemetry import Telemetry

__all__ = ["check_middlewares", "check_rate_limit", "check_session", "check_telemetry", "check_transport"]


def check_middlewares(name: str, middlewares: Any) -> tuple[Middleware, ...]:
    if isinstance(middlewares, (str, bytes)) or not isinstance(middlewares, Sequence):
        raise InvalidRequestError(f"{name} must be a sequence of middlewares", field=name)
    for middleware in middlewares:
        if not callable(middleware):
            raise InvalidRequestError(f"{name} must hold callables, got {type(middleware).__name__}", field=name)
    return tuple(middlewares)


def check_session(session: Any) -> aiohttp.ClientSession | None:
    if session is None:
        return None
    if not isinstance(session, aiohttp.ClientSession):
        raise InvalidRequestError(
            f"session must be an aiohttp.ClientSession, got {type(session).__name__}", field="session"
        )
    # aiohttp would add a session's own credentials to every request, an embed token's too, which goes without any.
    if session.auth is not None or "Authorization" in session.headers:
        raise InvalidRequestError(
            "session must carry no credentials of its own (auth= or an Authorization header): the client applies"
            " each operation's credentials itself, and sends none where the API asks for none",
            field="session",
        )
    # trust_env makes aiohttp read ~/.netrc too, and add its login to requests (an embed token's included).
    if session.trust_env:
        raise InvalidRequestError(
            "session must not trust the environment (trust_env=True): aiohttp would add a ~/.netrc login to its"
            " requests, those meant to carry no credentials included. For a proxy, give the session proxy= (aiohttp's"
            " own), or pass no session: the client's own session takes HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the"
            " environment, and never reads .netrc",
            field="session",
        )
    return session


def check_transport(transport: Any, session: Any) -> Transport:
    if not (callable(transport) and callable(getattr(transport, "aclose", None))):
        raise InvalidRequestError(
            "transport must be a Transport: an async callable (Request -> Response) with an aclose() method",
            field="transport",
        )
    if session is not None:
        raise InvalidRequestError(
            "give transport or session, not both: a session belongs to the aiohttp transport", field="transport"
        )
    return cast(Transport, transport)


def check_rate_limit(rate_limit: Any, project_id: str) -> RateLimiter | None:
    if rate_limit is None:
        return None
    if not isinstance(rate_limit, RateLimiter):
        raise InvalidRequestError(
            "rate_limit must be a RateLimiter (LocalRateLimit, RedisRateLimit, or an object with async acquire(request)"
            f" and aclose()), got {type(rate_limit).__name__}",
            field="rate_limit",
        )
    # A limiter shared through a store keys its window by project (RedisRateLimit): the client tells it which.
    bind_project = getattr(rate_limit, "bind_project", None)
    if callable(bind_project):
        bind_project(project_id)
    return rate_limit


def check_telemetry(telemetry: Any) -> Telemetry | None:
    if telemetry is not None and not isinstance(telemetry, Telemetry):
        raise InvalidRequestError(
            f"telemetry must be a signalwire_tokens.telemetry.Telemetry, got {type(telemetry).__name__}",
            field="telemetry",
        )
    return telemetry
