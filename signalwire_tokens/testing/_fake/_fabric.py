"""The fake space's Call Fabric operations: subscribers made or updated by their reference, subscriber access tokens
(SATs) shaped like the compact JWE the docs show, refresh tokens that expire and work once, guest tokens for the
space's addresses, Click-to-Call embed tokens, and invites authenticated with a subscriber's SAT as Bearer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from ...resources.fabric._models import FINGERPRINT_PATTERN
from ._bodies import Answer, Refusal
from ._fabric_state import LIFE, FabricSpace
from ._handlers import Tokens, invalid, refuse_unknown

__all__ = [
    "create_embed_token",
    "create_guest_token",
    "create_invite_token",
    "create_subscriber_token",
    "refresh_subscriber_token",
]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SCOPE_ONLY_LIFE = 60  # "If sat:refresh is set without fingerprint, the token's lifetime is limited to 60 seconds."
_TEXT_FIELDS = (
    *("reference", "password", "first_name", "last_name", "display_name", "job_title", "time_zone"),
    *("country", "company_name"),
)
_SUBSCRIBER_FIELDS = frozenset({*_TEXT_FIELDS, "expire_at", "application_id", "fingerprint", "scope", "region"})
_MISSING = "missing_required_parameter"


def _fabric(tokens: Tokens) -> FabricSpace:
    fabric: FabricSpace = tokens.fabric
    return fabric


def _expiry(fabric: FabricSpace, data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if value is None:
        return fabric.clock() + LIFE
    # JSON Schema 2020-12 (OpenAPI 3.1) counts 1.7e9 as an integer; 1.5 is not one.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise invalid(name, f"{name.replace('_', ' ').title()} must be an integer")
    now = int(fabric.clock())
    if value <= now:
        raise invalid(name, f"{name.replace('_', ' ').title()} must be greater than {now}")
    return float(value)


def _check_subscriber_request(data: dict[str, Any]) -> None:
    refuse_unknown(data, _SUBSCRIBER_FIELDS)
    if not data.get("reference"):
        raise invalid("reference", "Required parameter is missing", _MISSING)
    for name in _TEXT_FIELDS:
        if not isinstance(data.get(name, ""), str):
            raise invalid(name, f"{name} must be a string")
    if "application_id" in data and not (
        isinstance(data["application_id"], str) and _UUID.fullmatch(data["application_id"])
    ):
        raise invalid("application_id", "Application ID must be a valid UUID")
    fingerprint = data.get("fingerprint")
    if fingerprint is not None and not (isinstance(fingerprint, str) and FINGERPRINT_PATTERN.fullmatch(fingerprint)):
        raise invalid("fingerprint", "Fingerprint must be 43 characters of A-Za-z0-9_-")
    for name, choice in (("scope", "sat:refresh"), ("region", "us-central")):
        if data.get(name, choice) != choice:
            raise invalid(name, f"{name} must be {choice}")


def create_subscriber_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/fabric/subscribers/tokens``: make the subscriber ``reference`` names, or update the fields given
    (an empty password keeps the old one), and mint its SAT and refresh token."""
    fabric = _fabric(tokens)
    _check_subscriber_request(data)
    expires = _expiry(fabric, data, "expire_at")
    if data.get("scope") == "sat:refresh" and "fingerprint" not in data:
        expires = min(expires, fabric.clock() + _SCOPE_ONLY_LIFE)
    fields = {name: value for name, value in data.items() if name not in ("expire_at", "scope", "fingerprint")}
    if fields.get("password") == "":
        del fields["password"]
    subscriber = fabric.subscribers.setdefault(data["reference"], {"id": str(uuid.uuid4())})
    subscriber.update(fields)
    token = fabric.mint("subscriber", subscriber["id"], expires)
    body = {
        "subscriber_id": subscriber["id"],
        "token": token,
        "refresh_token": fabric.new_refresh_token(subscriber["id"]),
    }
    return Answer.json(200, body)


def refresh_subscriber_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/fabric/subscribers/tokens/refresh``: a refresh token works once, until it expires."""
    fabric = _fabric(tokens)
    refuse_unknown(data, frozenset({"refresh_token"}))
    if not isinstance(data.get("refresh_token"), str):
        raise invalid("refresh_token", "Required parameter is missing", _MISSING)
    held = fabric.refresh_tokens.get(data["refresh_token"])
    if held is None or held["used"]:
        raise invalid("refresh_token", "Token is invalid.")
    if held["expires"] <= fabric.clock():
        raise invalid("refresh_token", "Token has expired.", "token_expired")
    held["used"] = True
    token = fabric.mint("subscriber", held["subscriber_id"], fabric.clock() + LIFE, counted_as="refresh")
    return Answer.json(201, {"token": token, "refresh_token": fabric.new_refresh_token(held["subscriber_id"])})


def _addresses(fabric: FabricSpace, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(a, str) and _UUID.fullmatch(a) for a in value):
        raise invalid("allowed_addresses", "Allowed addresses must be a list of UUIDs")
    if len(value) > 10:
        raise invalid("allowed_addresses", "Allowed addresses must hold at most 10 addresses")
    if not set(value) <= fabric.addresses:
        raise invalid("allowed_addresses", "The addresses must belong to the project", "must_belong_to_project")


def create_guest_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/fabric/guests/tokens``: a guest SAT for addresses of the project, and its refresh token."""
    fabric = _fabric(tokens)
    refuse_unknown(data, frozenset({"allowed_addresses", "expire_at", "region", "ch"}))
    if "allowed_addresses" not in data:
        raise invalid("allowed_addresses", "Required parameter is missing", _MISSING)
    for name in ("region", "ch"):
        if data.get(name, "us-central") != "us-central":
            raise invalid(name, f"{name} must be us-central")
    _addresses(fabric, data["allowed_addresses"])
    token = fabric.mint("guest", None, _expiry(fabric, data, "expire_at"))
    return Answer.json(201, {"token": token, "refresh_token": fabric.new_refresh_token(None)})


def create_embed_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/fabric/embeds/tokens``: no credentials; the Click-to-Call token must be one of the space's."""
    fabric = _fabric(tokens)
    refuse_unknown(data, frozenset({"token"}))
    if not isinstance(data.get("token"), str) or not data["token"]:
        raise invalid("token", "token is required", _MISSING)
    if data["token"] not in fabric.click_to_call:
        raise Refusal(403)
    return Answer.json(201, {"token": fabric.mint("embed", None, fabric.clock() + LIFE)})


def create_invite_token(tokens: Tokens, params: Mapping[str, str], data: dict[str, Any]) -> Answer:
    """``POST /api/fabric/subscriber/invites`` (the inviting subscriber's SAT checked as Bearer already)."""
    fabric = _fabric(tokens)
    refuse_unknown(data, frozenset({"address_id", "expires_at"}))
    if "address_id" not in data:
        raise invalid("address_id", "Required parameter is missing", _MISSING)
    if data["address_id"] not in fabric.addresses:
        raise invalid("address_id", "Address is invalid")
    expires = _expiry(fabric, data, "expires_at")
    return Answer.json(201, {"token": fabric.mint("invite", None, expires)})
