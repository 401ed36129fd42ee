"""The library's own immutable request and response, and the middleware signature.

They are deliberately not aiohttp's, so the chain runs the same under aioresponses, the fake space or the real
API, and a test can build and inspect them with no event loop.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

if TYPE_CHECKING:
    from ._pacing import FlowControl

__all__ = [
    "CallObserver",
    "Extensions",
    "FormBody",
    "Handler",
    "JsonBody",
    "Middleware",
    "Request",
    "Response",
    "Security",
    "Transport",
]


# One encoder, made once: json.dumps with any non-default option builds a new encoder on every call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dump_json(data: Any) -> str:
    """The compact JSON the library sends: the body encoder writes it, and the ``state`` limit is measured on it."""
    return _JSON.encode(data)


def freeze_headers(headers: Mapping[str, str] | None) -> CIMultiDictProxy[str]:
    """Headers as a read-only, case-insensitive set (as given when they already are one)."""
    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers or {}))


def add_header(headers: CIMultiDictProxy[str], name: str, value: str) -> CIMultiDictProxy[str]:
    """``headers`` plus one header (replacing any of that name), as a new read-only set."""
    copy = CIMultiDict(headers)
    copy[name] = value
    return CIMultiDictProxy(copy)


class HeaderCache:
    """Remembers ``add_header`` results by the identity of the source set: a client's calls mostly add the same
    header to the same client-wide set. Each client owns its caches, so a closed client's credentials are not kept
    by anything shared; an entry holds its source, so an id cannot be reused while it is cached."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str, str], tuple[CIMultiDictProxy[str], CIMultiDictProxy[str]]] = {}

    def add(self, headers: CIMultiDictProxy[str], name: str, value: str) -> CIMultiDictProxy[str]:
        key = (id(headers), name, value)
        cached = self._entries.get(key)
        if cached is not None and cached[0] is headers:
            return cached[1]
        result = add_header(headers, name, value)
        if len(self._entries) >= 64:
            self._entries.clear()
        self._entries[key] = (headers, result)
        return result


@attrs.frozen
class FormBody:
    """An ``application/x-www-form-urlencoded`` body; a key may repeat (``permissions=a&permissions=b``)."""

    fields: tuple[tuple[str, str], ...]


@attrs.frozen
class JsonBody:
    """An ``application/json`` body: already-unstructured data (dicts, lists, strings, numbers, booleans)."""

    data: Any = attrs.field(hash=False)


Body = FormBody | JsonBody | bytes | None
_KEEP: Any = object()  # "unchanged", where None is a meaningful value


class CallObserver(Protocol):
    """What the layers below are told about one call while it runs (the telemetry's call span, when the client
    has telemetry). Reported only where the observer is present: a call without one pays nothing."""

    def waited(self, request: Request, seconds: float) -> None:
        """The client's rate limiter held this attempt (``request.attempt``) for ``seconds`` before it could start."""


@attrs.frozen
class Extensions:
    """Per-call facts that travel with a request down the chain, like httpx's ``Request.extensions`` but typed.

    A batch's flow control rides here, so it paces that batch's own requests and nothing else: a context variable
    would also reach a call another client makes from inside the batch's input generator.
    """

    #: The batch this call belongs to: its pacing and its concurrency that backs off on 429.
    flow: FlowControl | None = None
    #: Who is told what happens to this call on its way (the rate limiter reports its waits here), or None.
    observer: CallObserver | None = None


NO_EXTENSIONS = Extensions()


def _masked(secret: str | None) -> str:
    return "None" if secret is None else "'***'"


@attrs.frozen
class Security:
    """Which credentials a request carries: its operation's ``security`` in the spec, stated where the operation is
    defined and read by the chain's last link (nothing is inferred from the URL). ``"basic"``: the project's Basic
    credentials (every operation but two); ``"none"``: no ``Authorization`` header at all (``security: [{}]``);
    ``"bearer"``: ``Authorization: Bearer <bearer>``, a subscriber's access token (``SignalWireBearerAuth``), and
    never the project's credentials. The bearer token is a secret: the repr never shows it."""

    scheme: Literal["basic", "none", "bearer"] = "basic"
    bearer: str | None = attrs.field(default=None, repr=_masked)

    def __attrs_post_init__(self) -> None:
        if (self.scheme == "bearer") != (self.bearer is not None) or self.scheme not in ("basic", "none", "bearer"):
            raise ValueError("Security: a bearer token goes with the 'bearer' scheme, and only with it")

    @classmethod
    def bearer_token(cls, token: str) -> Security:
        """``Authorization: Bearer <token>`` (a subscriber access token), never the project's credentials."""
        return cls("bearer", token)


#: The project's Basic credentials: the spec's default security.
PROJECT_BASIC = Security()
#: No credentials at all (``security: [{}]``).
NO_CREDENTIALS = Security("none")


@attrs.frozen
class Request:
    """One call to the API, as it travels down the middleware chain.

    A middleware changes a request by making a new one: ``attrs.evolve(request, ...)`` or :meth:`with_header`.
    ``body`` is a :class:`FormBody` or :class:`JsonBody` above the encoding middleware and ``bytes`` below it.
    """

    method: str
    url: URL
    operation: str
    idempotent: bool
    headers: CIMultiDictProxy[str] = attrs.field(factory=lambda: freeze_headers(None), converter=freeze_headers)
    body: Body = attrs.field(default=None, repr=False)
    #: 1 for the first attempt; the retry middleware numbers the later ones.
    attempt: int = 1
    #: When the whole call must be over, in ``loop.time()`` seconds; an attempt gets no more than what is left.
    deadline: float | None = None
    #: Seconds one attempt may take (the client's ``timeout``); a transport enforces it, see ``attempt_limit``.
    timeout: float | None = None
    #: Facts of this call for the layers below (a batch's flow control), carried here rather than in ambient state.
    extensions: Extensions = NO_EXTENSIONS
    #: The credentials this request's operation takes, added at the last hop (the project's Basic by default).
    security: Security = PROJECT_BASIC

    def replace(
        self,
        *,
        headers: CIMultiDictProxy[str] | None = None,
        body: Body = _KEEP,
        attempt: int | None = None,
        deadline: float | None = None,
        extensions: Extensions | None = None,
    ) -> Request:
        """A copy with the fields middlewares change: ``attrs.evolve`` without its per-call introspection (this
        runs several times per call). For any other field, use ``attrs.evolve``."""
        return Request(
            self.method,
            self.url,
            self.operation,
            self.idempotent,
            self.headers if headers is None else headers,
            self.body if body is _KEEP else body,
            self.attempt if attempt is None else attempt,
            self.deadline if deadline is None else deadline,
            self.timeout,
            self.extensions if extensions is None else extensions,
            self.security,
        )

    def with_header(self, name: str, value: str) -> Request:
        """A copy with one header set (replacing any of that name)."""
        return self.replace(headers=add_header(self.headers, name, value))

    def __repr__(self) -> str:
        # Headers are left out on purpose: they hold the Authorization header.
        return f"Request({self.method} {self.url.path}, operation={self.operation!r}, attempt={self.attempt})"


@attrs.frozen
class Response:
    """What the transport read: the status, headers and whole body of one attempt."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(converter=freeze_headers)
    body: bytes = attrs.field(repr=False)
    request: Request
    attempt: int = 1
    #: Seconds from sending the request to reading the whole body.
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body, decoded as JSON (``ValueError`` when it is not JSON)."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Response(status={self.status}, operation={self.request.operation!r}, attempt={self.attempt})"


Handler = Callable[[Request], Awaitable[Response]]
"""What a middleware calls to go on down the chain (``call_next``): the rest of the chain, as one async function."""
Middleware = Callable[[Request, Handler], Awaitable[Response]]
"""``async def mw(request, call_next) -> Response``: sees a request (a new one made with ``attrs.evolve`` to change
it) and returns the response ``call_next`` gave, or one of its own."""


class Transport(Protocol):
    """What sends a request and reads its whole answer: the aiohttp transport, the fake space's in-memory one, or
    yours. It raises a :class:`TransportError` when there is no answer; it never adds credentials (the chain's
    last link does). ``aclose`` releases what it holds; the client calls it when it closes."""

    async def __call__(self, request: Request) -> Response:
        """Send ``request`` and read its whole answer."""
        ...

    async def aclose(self) -> None:
        """Release what the transport holds (its connections); the client calls it once, when it closes."""
        ...
