"""The blocking client: the async client's calls, run on an event loop in a background thread of its own."""

from ._batch import SyncBatchStream
from ._client import SyncSignalWireClient
from ._fabric import SyncSubscriberTokenCache
from ._resources import SyncChannelTokens, SyncChatTokenCache, SyncTokenAdmin

__all__ = [
    "SyncBatchStream",
    "SyncChannelTokens",
    "SyncChatTokenCache",
    "SyncSignalWireClient",
    "SyncSubscriberTokenCache",
    "SyncTokenAdmin",
]
