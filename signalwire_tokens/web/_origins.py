"""Which pages may ask for tokens: the ``Origin`` of a request against the app's ``allowed_origins`` (or, when
none are given, the request's own origin), and the CORS headers an allowed cross-origin page needs.

A browser sends ``Origin`` with every ``POST`` (same-origin ones included), so a request without one is not a
browser's page asking: refused. An origin not allowed gets no CORS header at all, so its page cannot read anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from yarl import URL

from .._errors import InvalidRequestError

__all__ = ["Origins", "normalize_origin"]

#: A header name (an RFC 9110 token): what a preflight's list of headers may hold, and all it echoes back.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALLOWED_METHODS = "POST, OPTIONS"
#: How long a browser may keep a preflight's answer (seconds): the origin's rights change only with a deploy.
_PREFLIGHT_MAX_AGE = "600"


def normalize_origin(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None for anything that is not an http(s)
    origin (a path, a query, user info, ``null``)."""
    try:
        url = URL(text.strip())
    except ValueError:
        return None
    if url.scheme not in _DEFAULT_PORTS or not url.host or url.user is not None or url.password is not None:
        return None
    if url.raw_path not in ("", "/") or url.raw_query_string or url.raw_fragment:
        return None
    try:
        port = url.port
    except ValueError:  # pragma: no cover - yarl refuses a bad port when parsing already, on most releases
        return None
    host = url.raw_host or url.host
    if ":" in host:  # an IPv6 literal, as an origin writes it
        host = f"[{host}]"
    suffix = "" if port in (None, _DEFAULT_PORTS[url.scheme]) else f":{port}"
    return f"{url.scheme}://{host.lower()}{suffix}"


#: ``normalize_origin`` for the origins requests carry (``Origin``, and the request's own from ``Host``): a mount meets
#: the same few again and again, so each is parsed once; bounded, as both headers are the browser's to choose.
_request_origin = functools.lru_cache(maxsize=64)(normalize_origin)


def _allowed(origins: Iterable[str]) -> frozenset[str]:
    if isinstance(origins, (str, bytes)):
        raise InvalidRequestError(
            "allowed_origins must be a list of origins such as ('https://app.example.com',), not one string",
            field="allowed_origins",
        )
    found = set()
    for origin in origins:
        normal = normalize_origin(origin) if isinstance(origin, str) else None
        if normal is None:
            raise InvalidRequestError(
                f"allowed_origins holds {origin!r}: each must be an origin, scheme://host[:port], no path"
                " (and no '*': a page that sends cookies needs its own origin named)",
                field="allowed_origins",
            )
        found.add(normal)
    return frozenset(found)


class Origins:
    """The origin rule of one mount: ``allowed_origins`` normalized, or the request's own origin when empty."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        self._allowed = _allowed(allowed_origins)

    def check(self, headers: Mapping[str, str], own_origin: str) -> str | None:
        """The request's origin, normalized, when it may ask; else None."""
        sent = headers.get("Origin")
        origin = _request_origin(sent) if sent is not None else None
        if origin is None:
            return None
        if self._allowed:
            return origin if origin in self._allowed else None
        return origin if origin == _request_origin(own_origin) else None

    def cors(self, origin: str, own_origin: str) -> dict[str, str]:
        """The headers an allowed page at ``origin`` needs to read an answer (none for the request's own
        origin, which needs none)."""
        if origin == _request_origin(own_origin):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}

    def preflight(self, origin: str, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers of the answer to a preflight (``OPTIONS``) from an allowed ``origin``: the methods, and
        the headers the page asked to send (its JSON ``Content-Type`` among them)."""
        asked = ", ".join(_HEADER_NAME.findall(headers.get("Access-Control-Request-Headers", "")))
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": _ALLOWED_METHODS,
            "Access-Control-Allow-Headers": asked or "Content-Type",
            "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
            "Vary": "Origin",
        }
