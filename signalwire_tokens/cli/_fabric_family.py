"""``subscriber-token batch``: a subscriber access token per row, on the batch engine of every family
(:mod:`._batch_run`). A row holds the fields of the API's subscriber token request; ``password`` is read from the
input, never from an option (options show up in ``ps``), and never written to the output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._batch import BatchStream
from .._errors import InvalidRequestError
from ..resources._secrets import secret_masks
from ..resources.fabric import SubscriberToken, SubscriberTokenRequest
from ._batch_family import BatchFamily, _whole
from ._credentials import UsageError
from ._request_options import columns_help, request_fields

if TYPE_CHECKING:
    from .._client import SignalWireClient

__all__ = ["SUBSCRIBER_BATCH_EPILOG", "SUBSCRIBER_COLUMNS", "SubscriberFamily", "parse_moment"]

SUBSCRIBER_BATCH_EPILOG = """input rows (JSON Lines, or CSV with a header of the same columns):
  {{"reference": "alice@example.com", "first_name": "Alice", "application_id": "123e4567-..."}}
  reference,first_name,last_name,expire_at
  alice@example.com,Alice,Smith,2026-01-01T18:00:00Z
{columns}

output lines (JSON Lines, one per row; "line" is the row's line in the input):
  {{"line": 7, "subscriber_id": "...", "token": "eyJ...", "refresh_token": "eyJ...",
   "expires_at": "2026-12-03T10:00:00+00:00"}}
  {{"line": 8, "reference": "bob@example.com", "error": {{"type": "UnprocessableEntityError", "message": "..."}}}}

{exit_codes}"""
SUBSCRIBER_COLUMNS = columns_help(
    SubscriberTokenRequest,
    "subscriber token request",
    "expire_at: POSIX seconds or RFC 3339 with an offset. An empty cell leaves the field out. A password in the"
    " input sets or updates the subscriber's password; it is never written to the output.",
)


def parse_moment(text: Any) -> Any:
    """An expiry as a command line or CSV cell writes it: POSIX seconds, or RFC 3339 with an offset (``Z`` is
    UTC). Anything else is left as it is, for the request's own check to name."""
    if not isinstance(text, str):
        return _whole(text)
    try:
        return (
            _whole(float(text))
            if text.replace(".", "", 1).isdigit()
            else datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        )
    except ValueError:
        return text


class SubscriberFamily(BatchFamily):
    """Subscriber access tokens: every field of ``SubscriberTokenRequest``; ``--application-id`` for rows without
    one."""

    command = "subscriber-token"
    noun = "subscriber token"
    fields = request_fields(SubscriberTokenRequest)
    secret_fields = tuple(secret_masks(SubscriberTokenRequest))

    def csv_value(self, field: str, text: str) -> Any:
        return text

    def request(self, fields: dict[str, Any]) -> SubscriberTokenRequest:
        if "reference" not in fields:
            raise InvalidRequestError("missing: every row needs the subscriber's reference", field="reference")
        if "expire_at" in fields:
            fields = {**fields, "expire_at": parse_moment(fields["expire_at"])}
        return SubscriberTokenRequest(**fields)

    def spooled(self, request: SubscriberTokenRequest) -> dict[str, Any]:
        return request.to_json()  # the password (a secret field) is taken out by the spool, and kept in memory

    def unspooled(self, data: dict[str, Any]) -> SubscriberTokenRequest:
        return SubscriberTokenRequest(**data)

    def create_many(self, client: SignalWireClient) -> Callable[..., BatchStream[Any]]:
        return client.fabric.subscriber_tokens.create_many

    def token_json(self, token: SubscriberToken) -> dict[str, Any]:
        return {
            "subscriber_id": token.subscriber_id,
            "token": token.token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at.isoformat(),
        }

    def row_json(self, request: Any) -> dict[str, Any]:
        return {"reference": request.reference}

    def defaults(self, args: argparse.Namespace) -> dict[str, Any]:
        return {} if args.application_id is None else {"application_id": args.application_id}

    def check_defaults(self, args: argparse.Namespace) -> None:
        if args.application_id is not None:
            try:
                SubscriberTokenRequest("check", application_id=args.application_id)
            except InvalidRequestError as error:
                raise UsageError(f"--application-id: {error.message}; nothing was read or minted") from None

    def default_options(self, args: argparse.Namespace) -> list[str]:
        return [] if args.application_id is None else ["--application-id", args.application_id]
