"""The fake SignalWire space as a plain object: the documented operations, auth, input checks, faults and the record
of requests. It does no I/O: an adapter (:mod:`._server` on loopback, :mod:`._memory` in process) hands it a
request's method, path, headers and body, and sends back its :class:`Answer`, or drops the connection."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._bodies import DROP, JSON, Answer, Dropped, Family, Refusal, error_answer
from ._fabric import (
    create_embed_token,
    create_guest_token,
    create_invite_token,
    create_subscriber_token,
    refresh_subscriber_token,
)
from ._faults import FaultQueue, SlidingWindow
from ._handlers import (
    Handler,
    Tokens,
    create_api_token,
    create_chat_token,
    create_project_token,
    create_pubsub_token,
    delete_api_token,
    invalid,
    update_api_token,
)
from ._jwt import ChatTokenSigner
from ._recorder import RecordedRequest, Recorder
from ._video import create_room_token, get_conference_token, list_conference_tokens, reset_conference_token

__all__ = ["OPERATIONS", "Operation", "OperationName", "Space"]

FORM = "application/x-www-form-urlencoded"


@attrs.frozen
class Operation:
    """One documented operation: where it lives, the error vocabulary it speaks, the content type of the body it
    accepts (None: it takes none) and its handler. Adding an operation is one entry in OPERATIONS and its handler."""

    name: str
    method: str
    path: re.Pattern[str]
    family: Family
    accepts: str | None
    handler: Handler
    #: The status of a body that cannot be read as the operation's parameters (not JSON, not an object, another
    #: content type): 400 where the operation documents one, else 422, the error it documents for invalid
    #: parameters (the platform API's project tokens document no 400).
    bad_body: int = 400
    #: The spec's ``security``: the project's Basic credentials, none (``[{}]``), or a subscriber's SAT as Bearer.
    security: Security = "basic"


OperationName = Literal[
    "api_tokens.create",
    "api_tokens.update",
    "api_tokens.delete",
    "project_tokens.create",
    "project_tokens.update",
    "project_tokens.delete",
    "chat_tokens.create",
    "pubsub_tokens.create",
    "video.room_tokens.create",
    "video.conference_tokens.list",
    "video.conference_tokens.get",
    "video.conference_tokens.reset",
    "fabric.subscriber_tokens.create",
    "fabric.subscriber_tokens.refresh",
    "fabric.guest_tokens.create",
    "fabric.embed_tokens.create",
    "fabric.invite_tokens.create",
]
_API_TOKENS = "/api/laml/2010-04-01/Accounts/(?P<account_sid>[^/]+)/tokens"
_API_TOKEN = _API_TOKENS + "/(?P<token_id>[^/]+)"
_PROJECT_TOKEN = "/api/project/tokens/(?P<token_id>[^/]+)"
_CONFERENCE_TOKENS = "/api/video/conferences/(?P<id>[^/]+)/conference_tokens"
_CONFERENCE_TOKEN = "/api/video/conference_tokens/(?P<id>[^/]+)"
_COMPATIBILITY, _PLATFORM = Family.COMPATIBILITY, Family.PLATFORM
Security = Literal["basic", "none", "bearer"]
#: The Call Fabric operations: name, path under /api/fabric/, handler, and the spec's security for each.
_FABRIC: tuple[tuple[str, str, Handler, Security], ...] = (
    ("subscriber_tokens.create", "subscribers/tokens", create_subscriber_token, "basic"),
    ("subscriber_tokens.refresh", "subscribers/tokens/refresh", refresh_subscriber_token, "basic"),
    ("guest_tokens.create", "guests/tokens", create_guest_token, "basic"),
    ("embed_tokens.create", "embeds/tokens", create_embed_token, "none"),
    ("invite_tokens.create", "subscriber/invites", create_invite_token, "bearer"),
)

OPERATIONS = (
    Operation("api_tokens.create", "POST", re.compile(_API_TOKENS), _COMPATIBILITY, FORM, create_api_token),
    Operation("api_tokens.update", "PATCH", re.compile(_API_TOKEN), _COMPATIBILITY, JSON, update_api_token),
    Operation("api_tokens.delete", "DELETE", re.compile(_API_TOKEN), _COMPATIBILITY, None, delete_api_token),
    Operation(
        "project_tokens.create", "POST", re.compile("/api/project/tokens"), _PLATFORM, JSON, create_project_token, 422
    ),
    Operation("project_tokens.update", "PATCH", re.compile(_PROJECT_TOKEN), _PLATFORM, JSON, update_api_token, 422),
    Operation("project_tokens.delete", "DELETE", re.compile(_PROJECT_TOKEN), _PLATFORM, None, delete_api_token),
    Operation("chat_tokens.create", "POST", re.compile("/api/chat/tokens"), _PLATFORM, JSON, create_chat_token),
    Operation("pubsub_tokens.create", "POST", re.compile("/api/pubsub/tokens"), _PLATFORM, JSON, create_pubsub_token),
    Operation(
        "video.room_tokens.create", "POST", re.compile("/api/video/room_tokens"), _PLATFORM, JSON, create_room_token
    ),
    Operation(
        "video.conference_tokens.list",
        "GET",
        re.compile(_CONFERENCE_TOKENS),
        _PLATFORM,
        None,
        list_conference_tokens,
    ),
    Operation(
        "video.conference_tokens.get", "GET", re.compile(_CONFERENCE_TOKEN), _PLATFORM, None, get_conference_token
    ),
    Operation(
        "video.conference_tokens.reset",
        "POST",
        re.compile(_CONFERENCE_TOKEN + "/reset"),
        _PLATFORM,
        None,
        reset_conference_token,
    ),
    *(
        Operation(f"fabric.{name}", "POST", re.compile(f"/api/fabric/{path}"), _PLATFORM, JSON, handler, 422, security)
        for name, path, handler, security in _FABRIC
    ),
)


def _parse_body(operation: Operation, body: bytes) -> Any:
    """The body as its operation's handler reads it: form fields as pairs, a JSON object, or None."""
    accepts = operation.accepts
    if accepts == FORM:
        return parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
    if accepts is None:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        raise Refusal(operation.bad_body, "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refusal(operation.bad_body, "The request body must be a JSON object")
    # No field of any request body the spec documents has a null among its types (a field left out is how a
    # request asks for the default): null is refused, whatever the field, with the 422 each operation documents.
    null = next((name for name, value in data.items() if value is None), None)
    if null is not None:
        raise invalid(null, f"{null} must not be null")
    return data


class Space:
    """One project's fake space: its credentials, its tokens, its faults and what it received."""

    def __init__(self, project_id: str, api_token: str, keep_requests: int | None) -> None:
        self.project_id = project_id
        self.api_token = api_token
        credentials = base64.b64encode(f"{project_id}:{api_token}".encode()).decode()
        self._expected_auth = f"Basic {credentials}".encode()
        self.tokens: Tokens = Tokens(ChatTokenSigner(project_id))
        self.recorder: Recorder = Recorder(keep_requests)
        self.faults: FaultQueue = FaultQueue()
        self.window: SlidingWindow | None = None
        #: How many faults of each kind were injected, e.g. ``{"503": 12, "reset": 3, "rate_limited": 2}``.
        self.faults_injected: collections.Counter[str] = collections.Counter()
        #: How many 429s were answered, whatever asked for them (the rate limit, ``fail(429)``, chaos).
        self.throttled: int = 0
        #: Seconds every answer waits, like a real API's round trip.
        self.latency: float = 0.0
        #: Called with (request, status or None for a dropped connection, seconds) after each answer.
        self.observers: list[Callable[[RecordedRequest, int | None, float], object]] = []
        #: Set when the fake closes: a delay fault is cut short, so closing never waits for one to run out, and the
        #: in-memory transports refuse to connect, as a closed port would.
        self.closing: asyncio.Event = asyncio.Event()

    def reopen(self) -> None:
        """Open again after a close (a new event: the old one belonged to the loop the fake ran on)."""
        self.closing = asyncio.Event()

    async def answer(self, method: str, url: URL, headers: Mapping[str, str], body: bytes) -> Answer | Dropped:
        """The answer to one request for ``url`` (the space's origin, a path and a query), or :data:`DROP` when a
        fault drops the connection."""
        path = url.raw_path
        found = self._find(method, path)
        if found is None:
            return error_answer(_PLATFORM, 404)  # nothing documented lives there: not a request of the API
        operation, params = found
        # A list reads its query (page_size, ...) and makes its links on the origin the request came to.
        params = {**url.query, **params, "origin": str(url.origin())}
        received = CIMultiDictProxy(CIMultiDict(headers))
        content_type = received.get("Content-Type", "application/octet-stream").partition(";")[0].strip().lower()
        request = RecordedRequest(operation.name, method, path, received, body, content_type, url.raw_query_string)
        now = asyncio.get_running_loop().time()
        self.recorder.record(request, now)
        if self.latency:
            await self._wait(self.latency)
        outcome = await self._answer_with_faults(operation, params, request, now)
        status = outcome.status if isinstance(outcome, Answer) else None
        if status == 429:
            self.throttled += 1
        for observer in self.observers:
            observer(request, status, asyncio.get_running_loop().time() - now)
        return outcome

    async def _wait(self, seconds: float) -> None:
        """Sleep, cut short when the fake closes, so closing never waits for a delay to run out."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    @staticmethod
    def _find(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for operation in OPERATIONS:
            match = operation.path.fullmatch(path)
            if match is not None and operation.method == method:
                return operation, match.groupdict()
        return None

    async def _answer_with_faults(
        self, operation: Operation, params: Mapping[str, str], request: RecordedRequest, now: float
    ) -> Answer | Dropped:
        if self.window is not None and self.window.applies_to(request.method):
            retry_after = self.window.admit(now)
            if retry_after is not None:
                self.faults_injected["rate_limited"] += 1
                return error_answer(operation.family, 429, {"Retry-After": str(retry_after)})
        fault = self.faults.take(operation.name)
        if fault is None:
            return self._process(operation, params, request)
        self.faults_injected[fault.label] += 1
        if fault.kind == "status":
            return fault.answer(operation.family)
        if fault.kind == "delay":
            await self._wait(fault.delay)
            return self._process(operation, params, request)
        if fault.after_processing:
            self._process(operation, params, request)
        return DROP

    def _process(self, operation: Operation, params: Mapping[str, str], request: RecordedRequest) -> Answer:
        """What the API does with the request: auth, then the content type, then the operation's own checks."""
        try:
            self._check_auth(operation, params, request.headers)
            if operation.accepts is not None and request.content_type != operation.accepts:
                raise Refusal(operation.bad_body, f"Expected an {operation.accepts} body")
            return operation.handler(self.tokens, params, _parse_body(operation, request.body))
        except Refusal as refusal:
            return refusal.answer(operation.family)

    def _check_auth(self, operation: Operation, params: Mapping[str, str], headers: Mapping[str, str]) -> None:
        if operation.security == "none":
            return  # security: [{}]: anyone may call it
        if operation.security == "bearer":
            self.tokens.fabric.check_bearer(headers.get("Authorization", ""))
            return
        given = headers.get("Authorization", "").encode("utf-8", "surrogatepass")
        # A compatibility path names the account too: it must be the project the credentials belong to.
        account = params.get("account_sid", self.project_id)
        if not hmac.compare_digest(given, self._expected_auth) or account != self.project_id:
            raise Refusal(401)
