"""The resources of :class:`~signalwire_tokens.SignalWireClient`, one family of tokens per module: what a family's
requests and results are (its models, checked against every documented limit when made) and how it calls the API.

Each family stands on the core below it (the client's ``send``, the middleware chain, the batch engine) and never
the other way round: nothing outside ``resources`` imports from here, except the client, the sync client, the
command line and the fake space, which sit above it.

- ``_api_token_models``, ``_api_tokens``: API tokens, through the compatibility API and the platform API;
- ``_channel_models``, ``_channel_tokens``, ``_chat_cache``: chat and PubSub tokens, and their cache;
- ``video``: room tokens and conference tokens;
- ``fabric``: Call Fabric tokens (subscribers, guests, invites, click-to-call) and the subscriber token cache;
- ``_token_cache``: the machinery the token caches share;
- ``_convert``: the library's one cattrs converter, for the models of every family.
"""

from ._api_token_models import ApiToken, Permission
from ._api_tokens import ApiTokens, ProjectTokens
from ._channel_models import (
    ChannelPermissions,
    ChannelToken,
    ChannelTokenRequest,
    ChatToken,
    ChatTokenRequest,
    PubSubToken,
    PubSubTokenRequest,
)
from ._channel_tokens import ChannelTokens, ChatTokens, PubSubTokens
from ._chat_cache import ChatTokenCache
from .fabric import (
    EmbedToken,
    Fabric,
    GuestToken,
    InviteToken,
    SubscriberToken,
    SubscriberTokenCache,
    SubscriberTokenRequest,
)
from .video import ConferenceToken, ConferenceTokens, RoomToken, RoomTokenRequest, RoomTokens, Video

__all__ = [
    "ApiToken",
    "ApiTokens",
    "ChannelPermissions",
    "ChannelToken",
    "ChannelTokenRequest",
    "ChannelTokens",
    "ChatToken",
    "ChatTokenCache",
    "ChatTokenRequest",
    "ChatTokens",
    "ConferenceToken",
    "ConferenceTokens",
    "EmbedToken",
    "Fabric",
    "GuestToken",
    "InviteToken",
    "Permission",
    "ProjectTokens",
    "PubSubToken",
    "PubSubTokenRequest",
    "PubSubTokens",
    "RoomToken",
    "RoomTokenRequest",
    "RoomTokens",
    "SubscriberToken",
    "SubscriberTokenCache",
    "SubscriberTokenRequest",
    "Video",
]
