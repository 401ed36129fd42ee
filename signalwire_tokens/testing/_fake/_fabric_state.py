"""What the fake space's Call Fabric side holds (``fake.fabric``): subscribers, addresses, Click-to-Call tokens, and
the tokens it minted with what each means. A SAT here is opaque, as SignalWire's are to their holders (encrypted):
the fake keeps what each one means instead of decrypting it."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from ._bodies import Refusal

__all__ = ["LIFE", "REFRESH_LIFE", "FabricSpace"]

LIFE = 2 * 3600  # "Defaults to 'two hours from now'"
REFRESH_LIFE = LIFE + 5 * 60  # "the new refresh token is valid for 2 hours and 5 minutes"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_jwe(typ: str) -> str:
    """A compact JWE like SignalWire's SATs: a ``dir``/``A256GCM`` header, no encrypted key, an IV, a ciphertext and
    a tag (random here: the fake looks the token up instead of decrypting it)."""
    header = _b64url(json.dumps({"alg": "dir", "enc": "A256GCM", "typ": typ}, separators=(",", ":")).encode())
    parts = (secrets.token_bytes(12), secrets.token_bytes(240), secrets.token_bytes(16))
    return f"{header}..{'.'.join(_b64url(part) for part in parts)}"


class FabricSpace:
    """The Call Fabric side of a fake space (``fake.fabric``): its subscribers, its addresses and Click-to-Call
    tokens, the tokens it minted and what each means, and the ``clock`` (POSIX seconds) that decides expiry; a test
    may replace it to make tokens expire without waiting."""

    def __init__(self) -> None:
        self.clock: Callable[[], float] = time.time
        #: Subscribers by reference: ``{"id", "reference", ...the fields last set}`` (the password among them).
        self.subscribers: dict[str, dict[str, Any]] = {}
        #: Every access token minted (SATs, guest, invite and embed tokens): ``{"kind", "subscriber_id", "expires"}``.
        self.access_tokens: dict[str, dict[str, Any]] = {}
        #: Every refresh token: ``{"subscriber_id", "expires", "used"}``.
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        #: The Fabric addresses of the project (guest tokens and invites name them).
        self.addresses: set[str] = set()
        #: The Click-to-Call tokens that embed tokens are made from.
        self.click_to_call: set[str] = set()
        #: How many tokens each operation minted: "subscriber", "refresh", "guest", "embed" and "invite".
        self.minted: dict[str, int] = dict.fromkeys(("subscriber", "refresh", "guest", "embed", "invite"), 0)

    def add_address(self) -> str:
        """Add a Fabric address to the project and return its id."""
        address = str(uuid.uuid4())
        self.addresses.add(address)
        return address

    def add_click_to_call(self) -> str:
        """Add a Click-to-Call token (``c2c_`` and 32 hex digits, as the docs show) and return it."""
        token = f"c2c_{secrets.token_hex(16)}"
        self.click_to_call.add(token)
        return token

    def token(self, token: str) -> dict[str, Any]:
        """What an access token this space minted is: ``{"kind", "subscriber_id", "expires"}`` (``KeyError``
        for one it never minted)."""
        return self.access_tokens[token]

    def mint(self, kind: str, subscriber_id: str | None, expires: float, *, counted_as: str | None = None) -> str:
        """A new access token of ``kind``, counted in :attr:`minted` under ``counted_as`` (or ``kind``)."""
        token = _compact_jwe("SAT")
        self.access_tokens[token] = {"kind": kind, "subscriber_id": subscriber_id, "expires": expires}
        self.minted[counted_as or kind] += 1
        return token

    def new_refresh_token(self, subscriber_id: str | None) -> str:
        """A refresh token, valid once for two hours and five minutes."""
        token = _compact_jwe("Refresh")
        self.refresh_tokens[token] = {
            "subscriber_id": subscriber_id,
            "expires": self.clock() + REFRESH_LIFE,
            "used": False,
        }
        return token

    def check_bearer(self, authorization: str) -> None:
        """The ``SignalWireBearerAuth`` check: a subscriber's SAT this space minted, not expired; else a 401."""
        scheme, _, token = authorization.partition(" ")
        held = self.access_tokens.get(token) if scheme == "Bearer" else None
        if held is None or held["kind"] != "subscriber" or held["expires"] <= self.clock():
            raise Refusal(401)
