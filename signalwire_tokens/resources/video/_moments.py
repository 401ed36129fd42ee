"""The times of a room token (``join_from``, ``join_until``, ``remove_at``) in every form the spec documents: "Expects
RFC 3339 datetime: `2022-01-01T23:59:60Z`. Date only: `2022-01-01` will be converted to `2022-01-01T00:00:00Z`".
Read by the client's requests and by the fake space alike."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..._errors import InvalidRequestError

__all__ = ["check_moment", "read_moment"]

# RFC 3339's date-time (its "T" and "Z" in either case, or the space its section 5.6 allows for the "T"), or a date
# alone. ASCII digits only: \d would take any script's.
_MOMENT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d):([0-5]\d)))?", re.ASCII
)
_LEAP_SECOND = 60


def read_moment(text: str) -> datetime | None:
    """The aware datetime ``text`` means, or None when it is no documented form. A date alone is midnight UTC; a
    leap second (``23:59:60Z``) is the second after 23:59:59, the moment POSIX time, which has no leap seconds, and
    parsers that take one (PostgreSQL's, Ruby's) give it, as no ``datetime`` can hold second 60."""
    match = _MOMENT.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    try:
        if hour is None:
            return datetime(int(year), int(month), int(day), tzinfo=timezone.utc)
        offset = timedelta(0)
        if sign is not None:
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes)) * (-1 if sign == "-" else 1)
        leap = 1 if int(second) == _LEAP_SECOND else 0
        microsecond = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            *(int(year), int(month), int(day), int(hour), int(minute), int(second) - leap, microsecond),
            tzinfo=timezone(offset),
        )
        return moment + timedelta(seconds=leap)
    except (ValueError, OverflowError):  # a day, an hour or an offset out of range; a leap second past 9999
        return None


def check_moment(name: str, value: Any) -> datetime | None:
    """``value`` as the aware UTC datetime that is sent: an aware ``datetime``, a ``date`` (midnight UTC), or a
    string :func:`read_moment` reads; anything else an :class:`InvalidRequestError` naming ``name``."""
    if value is None:
        return None
    if isinstance(value, str):
        moment = read_moment(value)
        if moment is None:
            raise InvalidRequestError(
                f"{name} must be an aware datetime, a date, or an RFC 3339 string with an offset"
                f" ('2026-01-01T09:00:00Z', a leap second '23:59:60Z' included) or a date alone ('2026-01-01',"
                f" midnight UTC), got {value[:40]!r}",
                field=name,
            )
        value = moment
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, datetime):
        raise InvalidRequestError(f"{name} must be an aware datetime or a date, got {type(value).__name__}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(
            f"{name} must be an aware datetime (a naive one has no time zone: which moment is meant is unknown)",
            field=name,
        )
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidRequestError(f"{name} is past the year 9999 in UTC, got {value.isoformat()}", field=name) from None
