"""What every family that mints tokens in batches shares: the ``mint(request, extensions)`` step (a JSON ``POST`` of
the request, the token read from the answer) and ``create_many`` on the batch engine. A family says what is its
own: the request's body, how the answer becomes its token, and how a batch's input item becomes its request."""

from __future__ import annotations

import abc
import json
from collections.abc import AsyncIterable, Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._batch import BatchStream, Progress
from .._errors import UnexpectedResponseError
from .._http import NO_EXTENSIONS, Extensions, JsonBody, Response

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["MintingFamily", "minted_jwt"]

RequestT = TypeVar("RequestT")
TokenT = TypeVar("TokenT")


def minted_jwt(response: Response) -> str:
    """The token of the documented success body of the chat, PubSub and room families, ``{"token": "<JWT>"}``. Read
    by hand: it is read once per minted token, and the generic converter costs more than the whole check."""
    try:
        token = json.loads(response.body)["token"]
    except (ValueError, TypeError, KeyError):
        token = None
    if not isinstance(token, str):
        raise UnexpectedResponseError(
            f"the API answered {response.status} to {response.request.operation} with a body that is not"
            ' {"token": "<a string>"}'
        )
    return token


class MintingFamily(abc.ABC, Generic[RequestT, TokenT]):
    """One family of tokens minted by a ``POST`` of ``RequestT`` s to ``path`` (the chain's ``operation``), one at a
    time (:meth:`mint`) or in concurrent batches (:meth:`create_many`). A mint is retried like any idempotent call:
    minting a token changes nothing on the API's side that a second mint would repeat (each family says why)."""

    def __init__(self, client: SignalWireClient, path: str, operation: str) -> None:
        self._client = client
        self._url = client.url(path)
        self._operation = operation

    @abc.abstractmethod
    def _body(self, request: RequestT) -> dict[str, Any]:
        """The request as the JSON body the API documents."""

    @abc.abstractmethod
    def _reader(self, request: RequestT, sent_at: datetime) -> Callable[[Response], TokenT]:
        """How the answer becomes the token, worked out before the request is sent (``sent_at``: just before), so
        that nothing after a mint can fail and lose the token the API made."""

    @abc.abstractmethod
    def _as_request(self, item: Any) -> RequestT:
        """A batch's input item (a request, or a dict of its fields) as this family's request."""

    async def mint(self, request: RequestT, extensions: Extensions = NO_EXTENSIONS) -> TokenT:
        """Mint the token a prepared request describes (``extensions``: per-call facts for the chain, such as a
        batch's flow control)."""
        # Taken before sending, so an expiry worked out from it is never later than the one the API sets.
        read = self._reader(request, datetime.now(timezone.utc))
        body = JsonBody(self._body(request))
        response = await self._client.send("POST", self._url, self._operation, body=body, extensions=extensions)
        return read(response)

    def create_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        max_rate: float | None = None,
        progress: Progress | None = None,
        ordered: bool = False,
    ) -> BatchStream[TokenT]:
        """Mint many tokens of this family, at most ``concurrency`` at once, yielding a :class:`BatchItem` as each
        completes.

        The input (the family's requests, or dicts of their fields) is pulled lazily; a failed item carries its
        error instead of raising; stopping early cancels whatever is in flight. ``max_rate`` caps the requests
        started per second (retries included). A 429 is a wait, not a failure: the row is retried after its
        ``Retry-After`` without spending ``max_attempts`` or the retry budget (while the policy's deadline allows),
        the whole batch starts nothing meanwhile, and its concurrency halves, growing back by one per round of
        successes. ``progress`` is called with a :class:`BatchProgress` after each item; ``ordered=True`` yields in
        input order (an item finished early waits, at most ``concurrency`` of them).
        """
        return BatchStream(
            self.mint,
            requests,
            as_request=self._as_request,
            concurrency=concurrency,
            max_rate=max_rate,
            progress=progress,
            ordered=ordered,
        )
