"""Where requests go and with which credentials: checked once, when the client is made."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from yarl import URL

from ._errors import InvalidRequestError
from ._validate import check_uuid

__all__ = ["check_api_token", "resolve_base_url"]

_SPACE_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DOMAIN = ".signalwire.com"
_SPACE_FORMS = "'example', 'example.signalwire.com' or 'https://example.signalwire.com'"


def _space_host(space: Any) -> str:
    if not isinstance(space, str):
        raise InvalidRequestError(
            f"space must be a string such as {_SPACE_FORMS}, got {type(space).__name__}", field="space"
        )
    text = space.strip()
    lowered = text.lower()
    if lowered.startswith("https://"):
        text = text[len("https://") :]
        if text.endswith("/"):
            text = text[:-1]
        lowered = text.lower()
    label = text[: -len(_DOMAIN)] if lowered.endswith(_DOMAIN) else text
    if not _SPACE_LABEL.fullmatch(label):
        raise InvalidRequestError(
            f"space must be a space name of letters, digits and hyphens, as {_SPACE_FORMS}; got {space[:100]!r}",
            field="space",
        )
    return f"{label.lower()}{_DOMAIN}"


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bad_base_url(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field="base_url")


def _check_base_url(base_url: Any) -> URL:
    if not isinstance(base_url, (str, URL)):
        raise _bad_base_url(f"base_url must be a string or yarl.URL, got {type(base_url).__name__}")
    try:
        url = URL(base_url)
    except (TypeError, ValueError) as error:
        raise _bad_base_url(f"base_url is not a valid URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _bad_base_url(f"base_url must be an absolute http(s) URL, got {str(url)[:100]!r}")
    if url.user is not None or url.password is not None:
        raise _bad_base_url("base_url must not carry user info: pass project_id and api_token instead")
    if url.query_string or url.fragment:
        raise _bad_base_url("base_url must not have a query or fragment")
    if url.scheme == "http" and not is_loopback(url.host):
        raise _bad_base_url(
            f"base_url may use http:// only for a loopback host (127.0.0.0/8, ::1, localhost), got {url.host!r}:"
            " Basic credentials never travel in clear text"
        )
    return url.with_path(url.path.rstrip("/"))


def resolve_base_url(space: Any, base_url: Any) -> URL:
    """The URL every request path is appended to: ``base_url`` if given, else the space's https URL."""
    if base_url is not None:
        if space is not None:
            _space_host(space)  # still checked: a bad space is a bug even when base_url overrides it
        return _check_base_url(base_url)
    if space is None:
        raise InvalidRequestError("space is required (or base_url)", field="space")
    return URL.build(scheme="https", host=_space_host(space))


def check_project_id(project_id: Any) -> str:
    return check_uuid("project_id", project_id)


def check_api_token(api_token: Any) -> str:
    # The value is never echoed: it is the secret.
    if not isinstance(api_token, str) or not api_token:
        raise InvalidRequestError("api_token must be a non-empty string", field="api_token")
    if any(ch.isspace() or not ch.isprintable() for ch in api_token):
        raise InvalidRequestError("api_token must not contain whitespace or control characters", field="api_token")
    return api_token
