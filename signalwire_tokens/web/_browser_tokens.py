"""``BrowserTokens``: the backend half of a SignalWire web app as one mount, for aiohttp and for any ASGI
framework. It checks its configuration when made (an :class:`~signalwire_tokens.InvalidRequestError` naming the
argument) and builds the core its adapters share."""

from __future__ import annotations

import math
import random as _random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._client import SignalWireClient
from .._errors import InvalidRequestError
from ._asgi import AsgiApp, asgi_app
from ._core import Core, Identify
from ._memory_store import MemoryTokenStore
from ._minting import Minter
from ._origins import Origins
from ._routes import ChannelsPolicy, GuestPolicy, RoomsPolicy, mounted_routes
from ._spans import RouteSpans
from ._store import TokenStore

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["BrowserTokens"]


def _callable(name: str, value: Any, *, optional: bool = True) -> None:
    if (value is not None or not optional) and not callable(value):
        what = "an async function" + (" or None" if optional else "")
        raise InvalidRequestError(f"{name} must be {what}, got {type(value).__name__}", field=name)


def _per_subscriber(value: Any) -> tuple[int, float]:
    problem = "per_subscriber must be (requests, seconds), such as (20, 60.0)"
    if not isinstance(value, tuple) or len(value) != 2:
        raise InvalidRequestError(f"{problem}, got {value!r}", field="per_subscriber")
    limit, period = value
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidRequestError(f"{problem}: requests must be an int >= 1, got {limit!r}", field="per_subscriber")
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not math.isfinite(period) or period <= 0:
        raise InvalidRequestError(f"{problem}: seconds must be > 0, got {period!r}", field="per_subscriber")
    return limit, float(period)


def _expiry_jitter(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise InvalidRequestError(
            f"expiry_jitter must be a share of the SAT's life, 0 <= expiry_jitter < 1, got {value!r}",
            field="expiry_jitter",
        )
    return float(value)


class BrowserTokens:
    """Token endpoints for browsers: ``POST fabric/token``, ``fabric/refresh`` and, each when its policy is given,
    ``fabric/guest``, ``video/token`` and ``chat/token``, mounted with :meth:`aiohttp_app` or :meth:`asgi_app`.

    ``client`` (a :class:`~signalwire_tokens.SignalWireClient`) mints, with its retries, limiter and telemetry.
    ``identify(request)`` is the app's sign-in: a :class:`~signalwire_tokens.web.Subscriber`, or None (401).
    ``store`` keeps each subscriber's refresh token (:class:`~signalwire_tokens.web.MemoryTokenStore` by default).
    ``allowed_origins``: the pages that may ask (``scheme://host[:port]``); none given, the request's own origin.
    ``rooms(subscriber, room_name)``, ``channels(subscriber, body)`` and ``guest_addresses(request)`` are the app's
    policies (None from one: 403). ``per_subscriber=(requests, seconds)`` limits each subscriber (each client
    address for ``fabric/guest``): past it, 429 with ``Retry-After``. ``expiry_jitter`` shortens every SAT's two
    hours by a random share of up to that much, so sessions begun together do not all refresh together.

    Behind a reverse proxy that ends TLS, the request's own origin and client address are the proxy's view unless
    the server is told (uvicorn's ``--proxy-headers``, aiohttp's ``aiohttp-remotes``); name the page in
    ``allowed_origins`` then.

    Two keyword-only extras serve tests: ``clock`` (POSIX seconds, deciding ``expire_at`` and a stored SAT's
    freshness) and ``random`` (a function returning a float in [0, 1), the jitter's draw).
    """

    def __init__(
        self,
        client: SignalWireClient,
        *,
        identify: Identify,
        store: TokenStore | None = None,
        allowed_origins: Iterable[str] = (),
        rooms: RoomsPolicy | None = None,
        channels: ChannelsPolicy | None = None,
        guest_addresses: GuestPolicy | None = None,
        per_subscriber: tuple[int, float] = (20, 60.0),
        expiry_jitter: float = 0.1,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not isinstance(client, SignalWireClient):
            raise InvalidRequestError(
                f"client must be a SignalWireClient (the async one), got {type(client).__name__}", field="client"
            )
        _callable("identify", identify, optional=False)
        for name, policy in (("rooms", rooms), ("channels", channels), ("guest_addresses", guest_addresses)):
            _callable(name, policy)
        _callable("clock", clock, optional=False)
        _callable("random", random, optional=False)
        #: Where the refresh tokens live and requests are counted: ``store``, or a new :class:`MemoryTokenStore`.
        self.store: TokenStore = MemoryTokenStore() if store is None else store
        if not isinstance(self.store, TokenStore):
            raise InvalidRequestError(
                f"store must be a TokenStore (MemoryTokenStore()), got {type(store).__name__}", field="store"
            )
        minter = Minter(client, self.store, expiry_jitter=_expiry_jitter(expiry_jitter), clock=clock, random=random)
        routes = mounted_routes(client, minter, rooms=rooms, channels=channels, guest_addresses=guest_addresses)
        #: The routes this mount answers, such as ``("fabric/token", "fabric/refresh")``.
        self.routes: tuple[str, ...] = tuple(routes)
        self._core = Core(
            routes,
            identify=identify,
            store=self.store,
            origins=Origins(allowed_origins),
            per_subscriber=_per_subscriber(per_subscriber),
            spans=RouteSpans(client.telemetry),
        )

    def __repr__(self) -> str:
        return f"BrowserTokens(routes={list(self.routes)}, store={self.store!r})"

    def aiohttp_app(self) -> web.Application:
        """An aiohttp sub-application with the routes: ``app.add_subapp("/signalwire", tokens.aiohttp_app())``."""
        from ._aiohttp import aiohttp_app

        return aiohttp_app(self._core)

    def asgi_app(self) -> AsgiApp:
        """A plain ASGI 3 application with the routes: ``app.mount("/signalwire", tokens.asgi_app())`` in FastAPI,
        Starlette or any ASGI framework."""
        return asgi_app(self._core)
