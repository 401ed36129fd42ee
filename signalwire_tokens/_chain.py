"""The built-in request transforms (body encoding, credentials) and the chain that joins the middlewares.

Encoding and credentials are pure functions of a request; the middlewares are thin wrappers around them.
"""

from __future__ import annotations

import abc
import base64
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._errors import InvalidRequestError
from ._http import FormBody, Handler, HeaderCache, JsonBody, Middleware, Request, Response, add_header, dump_json

__all__ = ["Credentials", "EncodeBody", "build_chain", "encode_request"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def encode_request(request: Request, headers: HeaderCache | None = None) -> Request:
    """The request with its body as bytes and the matching Content-Type."""
    body = request.body
    if isinstance(body, FormBody):
        encoded, content_type = urlencode(body.fields).encode("ascii"), FORM
    elif isinstance(body, JsonBody):
        encoded, content_type = dump_json(body.data).encode("utf-8"), JSON
    else:
        return request
    with_type = (headers.add if headers is not None else add_header)(request.headers, "Content-Type", content_type)
    return request.replace(body=encoded, headers=with_type)


class RequestTransform(abc.ABC):
    """A middleware that only rewrites the request: a pure function, so the chain can apply it in the caller's
    frame instead of in a coroutine of its own (see :func:`build_chain`). It still works as a plain middleware."""

    @abc.abstractmethod
    def transform(self, request: Request) -> Request: ...

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        return await call_next(self.transform(request))


class EncodeBody(RequestTransform):
    """The body-encoding middleware: model bodies become bytes with their Content-Type. One per client."""

    def __init__(self) -> None:
        self._headers = HeaderCache()

    def transform(self, request: Request) -> Request:
        return encode_request(request, self._headers)

    def __repr__(self) -> str:
        return "EncodeBody()"


@attrs.frozen(repr=False)
class Credentials(RequestTransform):
    """The chain's last link before the transport: adds the credentials a request's operation takes
    (``request.security``: the project's HTTP Basic credentials, none, or a subscriber's token as Bearer) to a
    request for the client's own origin (scheme, host and port) and refuses any other, whatever its credentials, so
    no middleware, of either kind, can send them elsewhere.

    The header is built here rather than with aiohttp's ``BasicAuth`` (deprecated in 3.14), so every transport gets
    the same bytes.
    """

    origin: URL
    _header: str
    # URLs already seen to be of the bound origin: the resources reuse a few URL objects, and yarl's origin()
    # builds a new URL on every call.
    _checked: set[URL] = attrs.field(factory=set, init=False)
    _headers: HeaderCache = attrs.field(factory=HeaderCache, init=False)

    @classmethod
    def basic(cls, origin: URL, username: str, password: str) -> Credentials:
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return cls(origin, f"Basic {credentials}")

    def transform(self, request: Request) -> Request:
        url = request.url
        if url not in self._checked:
            if not url.is_absolute() or url.origin() != self.origin:
                shown = url.origin() if url.is_absolute() else "a relative URL"
                raise InvalidRequestError(
                    f"refusing to send credentials to {shown}: the client is bound to {self.origin}", field="url"
                )
            if len(self._checked) < 1024:
                self._checked.add(url)
        security = request.security
        if security.scheme == "basic":
            return request.replace(headers=self._headers.add(request.headers, "Authorization", self._header))
        if security.bearer is not None:
            # Not through the header cache: a subscriber's token is kept by nothing once its call is over.
            return request.replace(headers=add_header(request.headers, "Authorization", f"Bearer {security.bearer}"))
        # No credentials: no Authorization header at all, whatever a middleware above may have added.
        if "Authorization" not in request.headers:
            return request
        headers = CIMultiDict(request.headers)
        del headers["Authorization"]
        return request.replace(headers=CIMultiDictProxy(headers))

    def __repr__(self) -> str:
        return f"Credentials(origin={str(self.origin)!r}, header='Basic ***')"


class _Link:
    """One middleware bound to the rest of the chain; returns its awaitable without another coroutine frame."""

    __slots__ = ("_middleware", "_next")

    def __init__(self, middleware: Middleware, call_next: Handler) -> None:
        self._middleware = middleware
        self._next = call_next

    def __call__(self, request: Request) -> Awaitable[Response]:
        return self._middleware(request, self._next)


class _TransformLink:
    """Request transforms applied in the caller's frame, then the rest of the chain: no coroutine of its own."""

    __slots__ = ("_next", "_transforms")

    def __init__(self, transforms: tuple[Callable[[Request], Request], ...], call_next: Handler) -> None:
        self._transforms = transforms
        self._next = call_next

    def __call__(self, request: Request) -> Awaitable[Response]:
        for transform in self._transforms:
            request = transform(request)
        return self._next(request)


def build_chain(middlewares: Sequence[Middleware], transport: Handler) -> Handler:
    """Join middlewares into one handler; the first one given is the outermost.

    Adjacent :class:`RequestTransform` s are fused into one link that runs them as plain calls: fewer coroutines
    per request is less time, and less work for the garbage collector under load.
    """
    handler = transport
    for middleware in reversed(middlewares):
        if isinstance(middleware, RequestTransform):
            if isinstance(handler, _TransformLink):
                handler = _TransformLink((middleware.transform, *handler._transforms), handler._next)
            else:
                handler = _TransformLink((middleware.transform,), handler)
        else:
            handler = _Link(middleware, handler)
    return handler
