"""``client.video.conference_tokens``: list a conference's tokens page by page, get one, reset one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import attrs
import cattrs
from yarl import URL

from ..._errors import InvalidRequestError, SignalWireError, UnexpectedResponseError
from ..._http import Response
from ..._validate import check_uuid
from .._convert import converter, structure_body
from ._conference_models import ConferenceToken

if TYPE_CHECKING:
    from ..._client import SignalWireClient

__all__ = ["MAX_PAGE_SIZE", "ConferenceTokens"]

MAX_PAGE_SIZE = 1000
_MAY_BE_RESET = (
    "the conference token may have been reset (its old value may no longer work): get it to read its current value"
    " before resetting it again"
)


def _page(response: Response) -> tuple[list[ConferenceToken], str | None]:
    """The tokens of one page of ``Video.ListConferenceTokensResponse`` and its ``links.next`` (None: the last)."""
    try:
        body = json.loads(response.body)
        tokens = converter.structure(body["data"], list[ConferenceToken])
        following = body["links"].get("next")
        if following is not None and not isinstance(following, str):
            raise TypeError("links.next is not a string")
    except (ValueError, TypeError, KeyError, AttributeError, cattrs.BaseValidationError) as error:
        raise UnexpectedResponseError(
            f"the API answered {response.status} to {response.request.operation} with a body that is not a page of"
            f" conference tokens ({type(error).__name__})"
        ) from None
    return tokens, following


class ConferenceTokens:
    """``GET /api/video/conferences/{id}/conference_tokens``, ``GET /api/video/conference_tokens/{id}`` and
    ``POST /api/video/conference_tokens/{id}/reset``."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client

    def list(self, conference_id: str, *, page_size: int = 50) -> AsyncIterator[ConferenceToken]:
        """Every token of a conference, fetched a page (of ``page_size``, 1..1000) at a time as the iteration
        reaches it, following the API's ``links.next``: one page in memory, whatever the number of tokens. A
        ``next`` link to another origin than the client's is refused with :class:`InvalidRequestError`, and
        nothing is sent to it; a ``next`` link already followed (a cycle) ends the listing with
        :class:`UnexpectedResponseError`."""
        path = f"/api/video/conferences/{check_uuid('conference_id', conference_id)}/conference_tokens"
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidRequestError(
                f"page_size must be an int in 1..{MAX_PAGE_SIZE}, got {page_size!r}", field="page_size"
            )
        # Checked now, when list() is called, not at the first step of the iteration: an async generator would
        # only run its first line then.
        return self._pages(self._client.url(path).with_query(page_size=page_size))

    async def _pages(self, url: URL) -> AsyncIterator[ConferenceToken]:
        origin = self._client.base_url.origin()
        # Every page asked for so far: a next link back to one of them is a cycle, which would page for ever. One
        # URL per page read, a small price beside the page itself.
        followed = {url}
        while True:
            response = await self._client.send("GET", url, "video.conference_tokens.list")
            tokens, following = _page(response)
            for token in tokens:
                yield token
            if following is None:
                return
            next_url = url.join(URL(following))
            if next_url.origin() != origin:
                raise InvalidRequestError(
                    f"the API's next page is on another origin ({next_url.origin()}), not the client's ({origin}):"
                    " it was not requested (the client's credentials go to its own origin only)",
                    field=None,
                )
            if next_url in followed:
                raise UnexpectedResponseError(
                    f"the API's next page is one already followed (page {len(followed)} links back to an earlier"
                    " one): the listing stopped instead of going round in a cycle"
                )
            followed.add(next_url)
            url = next_url

    async def get(self, token_id: str) -> ConferenceToken:
        """One conference token, by its ID (a UUID)."""
        url = self._client.url(f"/api/video/conference_tokens/{check_uuid('token_id', token_id)}")
        response = await self._client.send("GET", url, "video.conference_tokens.get")
        return structure_body(response, ConferenceToken)

    async def reset(self, token_id: str) -> ConferenceToken:
        """Give a conference token a new value (the old one stops working), and return it. Not idempotent, like an
        API token's create: retried only where the API cannot have acted on it (a connection never opened, 429,
        503); after any other failure the error says the token may have been reset."""
        url = self._client.url(f"/api/video/conference_tokens/{check_uuid('token_id', token_id)}/reset")
        try:
            response = await self._client.send("POST", url, "video.conference_tokens.reset", idempotent=False)
        except SignalWireError as error:
            if not error.outcome_unknown:
                raise
            raise attrs.evolve(error, notes=(*error.notes, _MAY_BE_RESET)) from None
        return structure_body(response, ConferenceToken)
