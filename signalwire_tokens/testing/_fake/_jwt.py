"""JWT-shaped chat tokens like SignalWire's (``{"typ": "VRT", "alg": "HS512"}``), signed with the fake's own key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["ChatTokenSigner"]

_HEADER = {"typ": "VRT", "alg": "HS512"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(data: Mapping[str, Any]) -> str:
    """A JWT segment: compact JSON, base64url without padding (as SignalWire's tokens have)."""
    return _b64url(json.dumps(data, separators=(",", ":")).encode())


class ChatTokenSigner:
    """Mints the chat tokens of one project and reads back the ones it minted."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self._key = secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._key, signing_input.encode(), hashlib.sha512).digest()

    def mint(self, ttl: int, channels: Mapping[str, Mapping[str, bool]], member_id: str, state: Any) -> str:
        """A token valid for ``ttl`` minutes, holding the channels as they were asked for."""
        now = int(time.time())
        claims = {
            "iat": now,
            "exp": now + ttl * 60,
            "jti": str(uuid.uuid4()),
            "sub": self.project_id,
            "member_id": member_id,
            "ch": {name: dict(perms) for name, perms in channels.items()},
            "s": state,
        }
        return self.sign(claims)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A token holding ``claims`` (a room token's, a chat token's), signed with this space's key."""
        signing_input = f"{_segment(_HEADER)}.{_segment(claims)}"
        return f"{signing_input}.{_b64url(self._sign(signing_input))}"

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a token this signer minted, after checking its signature."""
        try:
            signing_input, _, signature = token.rpartition(".")
            if not hmac.compare_digest(_unb64url(signature), self._sign(signing_input)):
                raise ValueError("bad signature")
            claims: dict[str, Any] = json.loads(_unb64url(signing_input.split(".")[1]))
        except (ValueError, IndexError, binascii.Error):
            raise ValueError("not a chat token minted by this fake space") from None
        return claims
