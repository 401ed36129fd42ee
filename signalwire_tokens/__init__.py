"""An asyncio client for SignalWire's token APIs: API tokens (compatibility and platform APIs), chat and PubSub
tokens, video room and conference tokens, Call Fabric tokens."""

import logging

from ._batch import BatchProgress, BatchStream
from ._batch_item import BatchFailure, BatchItem, BatchSuccess
from ._budget import RetryBudget, TokenBucket
from ._client import SignalWireClient
from ._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    BatchRowError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DeadlineExceededError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimiterError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    SignalWireError,
    TransportError,
    UnexpectedResponseError,
    UnprocessableEntityError,
)
from ._http import Extensions, FormBody, Handler, JsonBody, Middleware, Request, Response, Security, Transport
from ._ratelimit import LocalRateLimit, RateLimiter
from ._redis_ratelimit import RedisRateLimit
from ._retry import RetryPolicy
from ._sync import SyncBatchStream, SyncChatTokenCache, SyncSignalWireClient, SyncSubscriberTokenCache
from ._version import __version__
from .resources import (
    ApiToken,
    ChannelPermissions,
    ChannelToken,
    ChannelTokenRequest,
    ChatToken,
    ChatTokenCache,
    ChatTokenRequest,
    EmbedToken,
    GuestToken,
    InviteToken,
    Permission,
    PubSubToken,
    PubSubTokenRequest,
    RoomToken,
    RoomTokenRequest,
    SubscriberToken,
    SubscriberTokenCache,
    SubscriberTokenRequest,
)
from .resources.video import ConferenceToken

__all__ = [
    "ApiError",
    "ApiToken",
    "AuthenticationError",
    "BadRequestError",
    "BatchRowError",
    "BatchFailure",
    "BatchItem",
    "BatchProgress",
    "BatchStream",
    "BatchSuccess",
    "ChannelPermissions",
    "ChannelToken",
    "ChannelTokenRequest",
    "ChatToken",
    "ChatTokenCache",
    "ChatTokenRequest",
    "ConferenceToken",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "EmbedToken",
    "ErrorDetail",
    "Extensions",
    "FormBody",
    "GuestToken",
    "Handler",
    "InvalidRequestError",
    "InviteToken",
    "JsonBody",
    "LocalRateLimit",
    "Middleware",
    "NotFoundError",
    "Permission",
    "PermissionDeniedError",
    "PubSubToken",
    "PubSubTokenRequest",
    "RateLimitError",
    "RateLimiter",
    "RateLimiterError",
    "RedisRateLimit",
    "Request",
    "RequestTimeoutError",
    "Response",
    "Security",
    "RetryBudget",
    "RoomToken",
    "RoomTokenRequest",
    "RetryPolicy",
    "ServerError",
    "SignalWireClient",
    "SignalWireError",
    "SubscriberToken",
    "SubscriberTokenCache",
    "SubscriberTokenRequest",
    "SyncBatchStream",
    "SyncChatTokenCache",
    "SyncSignalWireClient",
    "SyncSubscriberTokenCache",
    "TokenBucket",
    "Transport",
    "TransportError",
    "UnexpectedResponseError",
    "UnprocessableEntityError",
    "__version__",
]

# A library leaves output to the application: without this, Python would print WARNINGs to stderr by itself.
logging.getLogger("signalwire_tokens").addHandler(logging.NullHandler())
