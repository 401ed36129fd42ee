"""Call Fabric tokens: the subscriber token request (every field of ``SubscriberTokenRequest``, checked against every
documented limit when made) and the tokens the five operations mint. Every token and refresh token is a secret
(a repr shows a few characters at each end at most), and so is a subscriber's password (a repr shows nothing)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import attrs

from ..._errors import InvalidRequestError
from ..._validate import check_str, check_uuid, hide, mask
from .._batch_items import request_from_item
from .._field_checks import one_of

__all__ = [
    "DEFAULT_LIFE",
    "FINGERPRINT_PATTERN",
    "MAX_UNIXTIME",
    "REFRESH_TOKEN_EXTRA_LIFE",
    "SCOPE_ONLY_LIFE",
    "EmbedToken",
    "GuestToken",
    "InviteToken",
    "Region",
    "SubscriberScope",
    "SubscriberToken",
    "SubscriberTokenRequest",
    "as_subscriber_request",
    "unixtime",
]

#: The last second of the year 9999: an expiry past it is no POSIX seconds a datetime can hold, but (13 digits)
#: milliseconds, as JavaScript's ``Date.now()`` gives.
MAX_UNIXTIME = 253_402_300_799
#: A SAT's documented default life ("two hours from now"), and a refreshed token's.
DEFAULT_LIFE = timedelta(hours=2)
#: The life of a token asked with scope ``sat:refresh`` and no fingerprint, as the spec limits it.
SCOPE_ONLY_LIFE = timedelta(seconds=60)
#: A refresh token outlives its access token by five minutes ("valid for 2 hours and 5 minutes").
REFRESH_TOKEN_EXTRA_LIFE = timedelta(minutes=5)
FINGERPRINT_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: ``SubscriberTokenRequest.scope`` and ``region``: the spec's enums.
SubscriberScope = Literal["sat:refresh"]
Region = Literal["us-central"]
_SCOPES = ("sat:refresh",)
_REGIONS = ("us-central",)


def unixtime(name: str, value: Any) -> int | None:
    """An expiry as the integer unixtime the spec documents: an aware ``datetime`` or POSIX seconds (an int, or a
    float rounded down). A naive datetime is refused: which moment it means is unknown."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRequestError(
                f"{name} must be an aware datetime (a naive one has no time zone: which moment is meant is unknown)",
                field=name,
            )
        seconds = value.timestamp()
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value
    else:
        raise InvalidRequestError(
            f"{name} must be an aware datetime or POSIX seconds, got {type(value).__name__}", field=name
        )
    if seconds <= 0:
        raise InvalidRequestError(f"{name} must be after 1970-01-01, got {value!r}", field=name)
    if seconds > MAX_UNIXTIME:
        raise InvalidRequestError(
            f"{name} must be POSIX seconds, got {value!r}, past the year 9999: it looks like milliseconds"
            " (JavaScript's Date.now()); divide it by 1000",
            field=name,
        )
    return math.floor(seconds)


def expiry(asked: int | None, sent_at: datetime) -> datetime:
    """When a token expires: the unixtime asked for, else the documented default, two hours after sending. Worked
    out before the request is sent, so that nothing after a mint can fail and lose the token the API made."""
    return sent_at + DEFAULT_LIFE if asked is None else datetime.fromtimestamp(asked, timezone.utc)


def _text(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_str(attribute.name, value)


def _reference(value: Any) -> str:
    reference = check_str("reference", value, min_length=1)
    if reference.isspace():
        raise InvalidRequestError(
            "reference must hold more than white space (it names the subscriber)", field="reference"
        )
    return reference


def _expire_at(value: Any) -> int | None:
    return unixtime("expire_at", value)


def _application_id(value: Any) -> str | None:
    return None if value is None else check_uuid("application_id", value)


def _password(value: Any) -> str | None:
    # The message never holds the value: it is a secret.
    return None if value is None else check_str("password", value)


def _fingerprint(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not FINGERPRINT_PATTERN.fullmatch(value):
        raise InvalidRequestError(
            "fingerprint must be 43 characters of A-Z, a-z, 0-9, _ and - (the Browser SDK's device fingerprint)",
            field="fingerprint",
        )
    return value


@attrs.frozen
class SubscriberTokenRequest:
    """One subscriber access token to mint, making or updating the subscriber ``reference`` names: every field of
    ``SubscriberTokenRequest``, checked when made (each failure an :class:`InvalidRequestError` whose ``field``
    names the field). A field left None is not sent, and the API's default applies. ``expire_at`` is an aware
    datetime or POSIX seconds, held as the integer unixtime that is sent. ``password`` is a secret: the repr shows
    nothing of it (``""`` keeps the subscriber's password, as the spec says)."""

    reference: str = attrs.field(
        converter=_reference, metadata={"help": "the subscriber's identity, often an email address"}
    )
    expire_at: int | None = attrs.field(
        default=None,
        converter=_expire_at,
        metadata={"help": "when the token expires (default: two hours after sending)"},
    )
    application_id: str | None = attrs.field(
        default=None, converter=_application_id, metadata={"help": "the application the token is for (a UUID)"}
    )
    password: str | None = attrs.field(
        default=None, converter=_password, repr=hide, metadata={"help": "the password to set or update"}
    )
    fingerprint: str | None = attrs.field(
        default=None, converter=_fingerprint, metadata={"help": "the Browser SDK's device fingerprint (43 characters)"}
    )
    scope: SubscriberScope | None = attrs.field(
        default=None,
        validator=one_of(_SCOPES),
        metadata={"help": "sat:refresh lets the holder refresh the token from the browser"},
    )
    first_name: str | None = attrs.field(
        default=None, validator=_text, metadata={"help": "the subscriber's first name"}
    )
    last_name: str | None = attrs.field(default=None, validator=_text, metadata={"help": "the subscriber's last name"})
    display_name: str | None = attrs.field(
        default=None, validator=_text, metadata={"help": "the subscriber's display name"}
    )
    job_title: str | None = attrs.field(default=None, validator=_text, metadata={"help": "the subscriber's job title"})
    time_zone: str | None = attrs.field(default=None, validator=_text, metadata={"help": "the subscriber's time zone"})
    country: str | None = attrs.field(default=None, validator=_text, metadata={"help": "the subscriber's country"})
    region: Region | None = attrs.field(
        default=None, validator=one_of(_REGIONS), metadata={"help": "the regional cluster the SDK connects to"}
    )
    company_name: str | None = attrs.field(
        default=None, validator=_text, metadata={"help": "the subscriber's company name"}
    )

    def to_json(self) -> dict[str, Any]:
        """The request body: the fields that are set, ``expire_at`` as the integer unixtime."""
        return {name: value for name in _FIELDS if (value := getattr(self, name)) is not None}


_FIELDS = tuple(field.name for field in attrs.fields(SubscriberTokenRequest))


def as_subscriber_request(item: Any) -> SubscriberTokenRequest:
    """A batch item as a subscriber token request: a :class:`SubscriberTokenRequest` as it is, or a dict of its
    fields; anything else is an :class:`InvalidRequestError` naming the field."""
    return request_from_item(item, SubscriberTokenRequest, SubscriberTokenRequest)


@attrs.frozen
class SubscriberToken:
    """A subscriber access token (SAT) and the refresh token that renews it, both secrets (the repr shows only
    their ends). ``subscriber_id`` is the subscriber's id (None for a token from ``refresh`` given only the refresh
    token: that answer does not say); ``expires_at`` an aware UTC datetime: the ``expire_at`` asked, else two
    hours after sending."""

    subscriber_id: str | None
    token: str = attrs.field(repr=mask)
    refresh_token: str = attrs.field(repr=mask)
    expires_at: datetime


@attrs.frozen
class GuestToken:
    """A guest's access token for the allowed addresses, and its refresh token (secrets: the repr masks them);
    ``expires_at`` the ``expire_at`` asked, else two hours after sending."""

    token: str = attrs.field(repr=mask)
    refresh_token: str = attrs.field(repr=mask)
    expires_at: datetime


@attrs.frozen
class EmbedToken:
    """A short-lived guest token for the Click-to-Call widget (a secret: the repr masks it)."""

    token: str = attrs.field(repr=mask)


@attrs.frozen
class InviteToken:
    """An invite to a subscriber's address (a secret: the repr masks it); ``expires_at`` the ``expires_at`` asked,
    else two hours after sending."""

    token: str = attrs.field(repr=mask)
    expires_at: datetime
