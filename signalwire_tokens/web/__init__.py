"""Token endpoints for browsers: the backend half of a SignalWire web app (Browser SDK v4's ``CredentialProvider``
asks them for ``{token, expiresAt}``), as one mount for aiohttp or any ASGI framework.

A browser never holds the project's API token: its page asks this backend, which checks the page's origin and the
user's sign-in, then mints through a :class:`~signalwire_tokens.SignalWireClient`. Refresh tokens stay in a
:class:`TokenStore`, never in an answer.
"""

from ._asgi import AsgiRequest
from ._browser_tokens import BrowserTokens
from ._memory_store import MemoryTokenStore
from ._store import StoredSession, TokenStore
from ._subscriber import Subscriber

__all__ = ["AsgiRequest", "BrowserTokens", "MemoryTokenStore", "StoredSession", "Subscriber", "TokenStore"]
