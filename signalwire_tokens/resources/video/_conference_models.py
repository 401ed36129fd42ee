"""Conference tokens (``Video.ConferenceToken``): the tokens a video conference holds, as the API lists them."""

from __future__ import annotations

import attrs

from ..._validate import mask

__all__ = ["ConferenceToken"]


@attrs.frozen
class ConferenceToken:
    """A conference token as the API returned it. ``token`` is the secret (the repr shows only its ends);
    ``scopes`` are its permissions; ``name`` may be None."""

    id: str
    name: str | None
    token: str = attrs.field(repr=mask)
    scopes: tuple[str, ...] = ()
