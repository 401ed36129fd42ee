"""The path templates of ``spec/openapi-tokens.yaml``: an attempt's span is named after its endpoint's template
(``POST /api/project/tokens/{token_id}``), never after the path itself, which holds the project id and token ids
(a span name must have low cardinality, and these ids are not for every dashboard to show)."""

from __future__ import annotations

import re

__all__ = ["TEMPLATES", "url_template"]

#: Every path the library sends to, as the spec names its parameters.
TEMPLATES = (
    "/api/laml/2010-04-01/Accounts/{AccountSid}/tokens",
    "/api/laml/2010-04-01/Accounts/{AccountSid}/tokens/{token_id}",
    "/api/project/tokens",
    "/api/project/tokens/{token_id}",
    "/api/chat/tokens",
    "/api/pubsub/tokens",
    "/api/video/room_tokens",
    "/api/video/conferences/{id}/conference_tokens",
    "/api/video/conference_tokens/{id}",
    "/api/video/conference_tokens/{id}/reset",
    "/api/fabric/subscribers/tokens",
    "/api/fabric/subscribers/tokens/refresh",
    "/api/fabric/guests/tokens",
    "/api/fabric/embeds/tokens",
    "/api/fabric/subscriber/invites",
)


def _pattern(template: str) -> re.Pattern[str]:
    # A parameter is one path segment. The template is matched at the end of the path: a base URL may add a
    # prefix (a proxy's /signalwire), which is the same for every call and is kept as it is.
    regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    return re.compile(f"(.*){regex}$")


_PATTERNS = tuple((_pattern(template), template) for template in TEMPLATES)


def url_template(path: str) -> str | None:
    """The template of ``path`` (an encoded URL path), with any prefix the base URL adds; None for a path the spec
    does not have (a ``client.send`` to another endpoint)."""
    for pattern, template in _PATTERNS:
        match = pattern.match(path)
        if match is not None:
            return match.group(1) + template
    return None
