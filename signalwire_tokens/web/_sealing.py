"""What RedisTokenStore keeps secret: every session sealed with ``cryptography``'s Fernet under the app's keys (the
first seals, every one opens), and every Redis key name a keyed hash, never a reference in the clear.

Design note, names: a name must stay the same when a new key is put in front of ``keys`` (else a rotation would lose
every session and, while replicas roll over, split the fleet's locks in two), so names are keyed by the LAST key of
the list, the oldest, through an HMAC derivation of its own (the naming key is never a Fernet key). Retiring that
oldest key changes every name once: each session then falls back to a new SAT at its next refresh, which a browser
does not notice, and the old entries expire with their refresh tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._errors import InvalidRequestError
from ._store import StoredSession

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = ["Sealer"]

#: Domain separation: the naming key is an HMAC of this under the oldest key, so it is never a Fernet key itself.
_NAMING = b"signalwire-tokens:web:redis-store:names"
_GENERATE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def _key_list(keys: Any) -> list[bytes]:
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
        raise InvalidRequestError(
            f"keys must be a list of Fernet keys (the first encrypts), got {type(keys).__name__}", field="keys"
        )
    listed = list(keys)
    if not listed:
        raise InvalidRequestError(f"keys must hold at least one Fernet key: make one with {_GENERATE}", field="keys")
    raw: list[bytes] = []
    for position, key in enumerate(listed):
        # Never the key itself in a message: only where it is in the list and what is wrong with it.
        if not isinstance(key, (str, bytes)):
            raise InvalidRequestError(f"keys[{position}] must be str or bytes, got {type(key).__name__}", field="keys")
        encoded = key.encode("ascii", "replace") if isinstance(key, str) else key
        try:
            decoded = base64.urlsafe_b64decode(encoded)
        except ValueError:
            decoded = b""
        if len(decoded) != 32:
            raise InvalidRequestError(
                f"keys[{position}] is not a Fernet key (32 url-safe base64-encoded bytes): make one with {_GENERATE}",
                field="keys",
            )
        raw.append(encoded)
    return raw


class Sealer:
    """Seals and opens sessions under ``keys`` (Fernet keys, bytes or text: the first seals, every one opens) and
    names Redis keys by a keyed hash (see the module's design note)."""

    def __init__(self, keys: Any) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        raw = _key_list(keys)
        self._fernet: MultiFernet = MultiFernet([Fernet(key) for key in raw])
        self._naming_key = hmac.new(base64.urlsafe_b64decode(raw[-1]), _NAMING, hashlib.sha256).digest()
        #: How many keys open a value.
        self.count = len(raw)

    def name(self, kind: str, value: str) -> str:
        """The Redis key name of ``value`` (a reference or a rate key) for ``kind`` (``session``, ``lock``,
        ``rate``): ``kind:`` and a hex HMAC-SHA256, the same in every replica that has the same oldest key."""
        digest = hmac.new(self._naming_key, value.encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest}"

    def seal(self, session: StoredSession) -> bytes:
        """``session`` as one Fernet token under the first key: both tokens and both expiries, nothing in clear."""
        fields = {
            "token": session.token,
            "expires_at": session.expires_at.timestamp(),
            "refresh_token": session.refresh_token,
            "refresh_expires_at": session.refresh_expires_at.timestamp(),
        }
        return self._fernet.encrypt(json.dumps(fields).encode())

    def open(self, sealed: bytes | str) -> StoredSession | None:
        """The session ``sealed`` holds, or None when no key opens it (sealed under a key no longer listed, or
        tampered with): absent, as the contract says."""
        from cryptography.fernet import InvalidToken

        try:
            fields = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            return None
        return StoredSession(
            fields["token"],
            datetime.fromtimestamp(fields["expires_at"], timezone.utc),
            fields["refresh_token"],
            datetime.fromtimestamp(fields["refresh_expires_at"], timezone.utc),
        )
