"""The API token family's requests and results (compatibility and platform APIs alike): frozen, slotted attrs
classes that check every documented limit on creation."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs

from .._errors import InvalidRequestError
from .._validate import check_str, check_uuid, mask

__all__ = [
    "ApiToken",
    "CreateApiTokenRequest",
    "Permission",
    "UpdateApiTokenRequest",
]


class Permission(str, enum.Enum):
    """The scopes an API token can be given."""

    CALLING = "calling"
    CHAT = "chat"
    DATASPHERE = "datasphere"
    FAX = "fax"
    MANAGEMENT = "management"
    MESSAGING = "messaging"
    NUMBERS = "numbers"
    PUBSUB = "pubsub"
    STORAGE = "storage"
    TASKING = "tasking"
    VIDEO = "video"

    def __str__(self) -> str:
        return self.value


_PERMISSION_VALUES = frozenset(p.value for p in Permission)
_VALID_PERMISSIONS = ", ".join(sorted(_PERMISSION_VALUES))


def _permissions(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            f"permissions must be a list of permission names (valid: {_VALID_PERMISSIONS}), got {type(value).__name__}",
            field="permissions",
        )
    names = []
    for item in value:
        name = item.value if isinstance(item, Permission) else item
        if name not in _PERMISSION_VALUES:
            raise InvalidRequestError(
                f"unknown permission {item!r}; valid permissions are: {_VALID_PERMISSIONS}", field="permissions"
            )
        names.append(name)
    return tuple(names)


def _optional_permissions(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _permissions(value)


def _name(value: Any) -> str:
    return check_str("name", value, min_length=1)


def _optional_name(value: Any) -> str | None:
    return None if value is None else _name(value)


def _optional_subproject(value: Any) -> str | None:
    return None if value is None else check_uuid("subproject_id", value)


@attrs.frozen
class CreateApiTokenRequest:
    name: str = attrs.field(converter=_name)
    permissions: tuple[str, ...] = attrs.field(converter=_permissions)
    subproject_id: str | None = attrs.field(default=None, converter=_optional_subproject)

    def __attrs_post_init__(self) -> None:
        if not self.permissions:
            raise InvalidRequestError(f"permissions needs at least one of: {_VALID_PERMISSIONS}", field="permissions")


@attrs.frozen
class UpdateApiTokenRequest:
    """A change to an API token: a new name and/or new permissions.

    Leaving out both is refused with ``field=None``: the rule is about the pair, and neither argument alone is wrong.
    """

    name: str | None = attrs.field(default=None, converter=_optional_name)
    permissions: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_permissions)

    def __attrs_post_init__(self) -> None:
        if self.name is None and self.permissions is None:
            raise InvalidRequestError("update needs at least one of name and permissions", field=None)


@attrs.frozen
class ApiToken:
    """An API token as the API returned it. ``token`` is the secret; the repr shows only its ends."""

    id: str
    name: str
    permissions: tuple[str, ...]
    token: str = attrs.field(repr=mask)
