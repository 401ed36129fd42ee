"""Who a browser's request is for: the signed-in user the app's ``identify`` names, as SignalWire knows them."""

from __future__ import annotations

import functools
from typing import Any

import attrs

from ..resources.fabric import Region, SubscriberTokenRequest

__all__ = ["Subscriber"]


@attrs.frozen
class Subscriber:
    """The subscriber a request is for, as the app's ``identify`` returns it: ``reference`` (a stable identifier
    such as the user's email) and the optional profile fields of ``SubscriberTokenRequest``, sent with every SAT
    minted for them. Never a password: the browser endpoints mint for a signed-in user, and SignalWire keeps the
    subscriber's password as it is when none is sent. Each field is checked when made, as the request checks it
    (an :class:`~signalwire_tokens.InvalidRequestError` naming the field)."""

    reference: str
    application_id: str | None = attrs.field(default=None, kw_only=True)
    first_name: str | None = attrs.field(default=None, kw_only=True)
    last_name: str | None = attrs.field(default=None, kw_only=True)
    display_name: str | None = attrs.field(default=None, kw_only=True)
    job_title: str | None = attrs.field(default=None, kw_only=True)
    time_zone: str | None = attrs.field(default=None, kw_only=True)
    country: str | None = attrs.field(default=None, kw_only=True)
    region: Region | None = attrs.field(default=None, kw_only=True)
    company_name: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        # The request's own checks (reference not empty, application_id a UUID, region from the spec's enum...), run
        # when the app makes the subscriber, so a mistake in identify is found there and not as a failed mint. Once
        # per subscriber: identify makes the same few again on every request.
        try:
            _check(self)
        except TypeError:  # a field that cannot be hashed cannot be cached: checked (and refused) as it is
            self.token_request()

    def token_request(self, **token: Any) -> SubscriberTokenRequest:
        """The request for this subscriber's SAT: their fields, with ``token``'s (``expire_at``, ``scope``,
        ``fingerprint``)."""
        return SubscriberTokenRequest(
            self.reference,
            application_id=self.application_id,
            first_name=self.first_name,
            last_name=self.last_name,
            display_name=self.display_name,
            job_title=self.job_title,
            time_zone=self.time_zone,
            country=self.country,
            region=self.region,
            company_name=self.company_name,
            **token,
        )


@functools.lru_cache(maxsize=1024)
def _check(subscriber: Subscriber) -> None:
    """Check ``subscriber``'s fields; remembered for the subscribers checked last (a refusal is not remembered)."""
    subscriber.token_request()
