"""The framework-free core of the browser endpoints: an :class:`Incoming` request in, an :class:`~._answer.Answer`
out. It enforces what an app cannot forget, in the contract's order, each refusal before anything is sent to
SignalWire: the page's origin (403), a JSON body (415), a signed-in subscriber (401), a body that fits its route
(400; 413 past :data:`~._bodies.MAX_BODY`), ``per_subscriber`` (429), then the app's policy (403)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from .._errors import SignalWireError
from ._answer import Answer, BodyError, json_answer, refusal
from ._bodies import MAX_BODY, is_json, json_object
from ._failures import failure_answer
from ._origins import Origins
from ._routes import Route
from ._spans import RouteSpans
from ._store import TokenStore
from ._subscriber import Subscriber

__all__ = ["Core", "Identify", "Incoming"]

logger = logging.getLogger("signalwire_tokens.web")

#: ``identify``: ``async (request) -> Subscriber | None``, the app's own sign-in.
Identify = Callable[[Any], Awaitable["Subscriber | None"]]
_ALLOW = {"Allow": "POST, OPTIONS"}


@attrs.frozen
class Incoming:
    """A request as an adapter hands it to the core. ``route``: the path below the mount (``fabric/token``);
    ``headers``: looked up case-insensitively; ``body``: None when it was larger than :data:`~._bodies.MAX_BODY`
    (left unread); ``own_origin``: the request's own ``scheme://host``; ``native``: the framework's request, for
    the app's ``identify`` and ``guest_addresses``."""

    route: str
    method: str
    headers: Mapping[str, str]
    body: bytes | None
    own_origin: str
    client_address: str | None
    native: Any


class Core:
    """The routes of one mount with their rules; :meth:`handle` answers one request."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        identify: Identify,
        store: TokenStore,
        origins: Origins,
        per_subscriber: tuple[int, float],
        spans: RouteSpans,
    ) -> None:
        #: The routes by name (``fabric/token``), as the adapters resolve them.
        self.routes = routes
        self._identify = identify
        self._store = store
        self._origins = origins
        self._limit, self._period = per_subscriber
        self._spans = spans

    async def handle(self, incoming: Incoming) -> Answer:
        """The answer to ``incoming``, whatever happens (an unexpected error of the app's policy included: a 500,
        logged)."""
        route = self.routes.get(incoming.route)
        if route is None:
            return refusal(404, "no such route", "not_found")
        if self._spans.enabled:
            async with self._spans.span(route.name, incoming.method) as record:
                answer = await self._answer(route, incoming)
                record(answer)
        else:
            answer = await self._answer(route, incoming)
        # A token handed out is routine; a refusal is worth a line; a failure is the operator's business.
        level = logging.DEBUG if answer.status < 300 else logging.INFO if answer.status < 500 else logging.WARNING
        logger.log(level, "%s %s: %s (%d)", incoming.method, route.name, answer.outcome, answer.status)
        return answer

    async def _answer(self, route: Route, incoming: Incoming) -> Answer:
        try:
            if incoming.method not in ("POST", "OPTIONS"):
                return refusal(405, "only POST", "method_not_allowed", headers=_ALLOW)
            origin = self._origins.check(incoming.headers, incoming.own_origin)
            if origin is None:
                return refusal(403, "this origin may not ask for tokens", "origin_refused")
            if incoming.method == "OPTIONS":
                headers = {**_ALLOW, **self._origins.preflight(origin, incoming.headers)}
                return Answer(204, {"Cache-Control": "no-store", **headers}, b"", "preflight")
            answer = await self._post(route, incoming)
            return answer.with_headers(self._origins.cors(origin, incoming.own_origin))
        except Exception as error:
            logger.exception("%s: the request failed unexpectedly", route.name)
            return attrs.evolve(refusal(500, "internal error", "internal_error"), error_type=type(error).__name__)

    async def _post(self, route: Route, incoming: Incoming) -> Answer:
        if not is_json(incoming.headers.get("Content-Type")):
            return refusal(415, "the body must be application/json", "not_json")
        subscriber: Subscriber | None = None
        if route.signed_in:
            subscriber = await self._identify(incoming.native)
            if subscriber is None:
                return refusal(401, "sign in first", "signed_out")
            if not isinstance(subscriber, Subscriber):
                raise TypeError(f"identify must return a Subscriber or None, got {type(subscriber).__name__}")
        if incoming.body is None:
            return refusal(413, f"the body must be at most {MAX_BODY} bytes", "too_large")
        try:
            parsed = route.parse(json_object(incoming.body))
        except BodyError as error:
            return refusal(400, str(error), "bad_body", field=error.field)
        key = f"subscriber:{subscriber.reference}" if subscriber is not None else f"address:{incoming.client_address}"
        try:
            wait = await self._store.admit(key, self._limit, self._period)
        except SignalWireError as error:
            # A shared store out of reach (its errors are the library's): never a silent bypass of the limit.
            return failure_answer(route.name, error)
        if wait is not None:
            retry_after = str(max(1, math.ceil(wait)))
            return refusal(429, "too many token requests", "rate_limited", headers={"Retry-After": retry_after})
        try:
            minted = await route.mint(subscriber, parsed, incoming.native)
        except SignalWireError as error:
            return failure_answer(route.name, error)
        if minted is None:
            return refusal(403, "not allowed", "policy_refused")
        token, expires_at = minted
        body: dict[str, Any] = {"token": token}
        if expires_at is not None:
            body["expiresAt"] = math.floor(expires_at.timestamp() * 1000)
        return json_answer(200, body, "minted")
