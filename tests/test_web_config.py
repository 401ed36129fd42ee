"""``BrowserTokens`` and ``Subscriber`` check what they are given when made (an ``InvalidRequestError`` naming the
argument), and ``signalwire_tokens.web`` imports without any optional extra."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from signalwire_tokens import InvalidRequestError, SignalWireClient, SubscriberTokenRequest
from signalwire_tokens.web import BrowserTokens, MemoryTokenStore, Subscriber

from .web_support import identify


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"expiry_jitter": 1.0}, "expiry_jitter"),
        ({"expiry_jitter": -0.01}, "expiry_jitter"),
        ({"expiry_jitter": True}, "expiry_jitter"),
        ({"expiry_jitter": "0.1"}, "expiry_jitter"),
        ({"per_subscriber": (0, 60.0)}, "per_subscriber"),
        ({"per_subscriber": (20, 0)}, "per_subscriber"),
        ({"per_subscriber": (20, float("inf"))}, "per_subscriber"),
        ({"per_subscriber": (20.5, 60.0)}, "per_subscriber"),
        ({"per_subscriber": (True, 60.0)}, "per_subscriber"),
        ({"per_subscriber": 20}, "per_subscriber"),
        ({"per_subscriber": [20, 60.0]}, "per_subscriber"),
        ({"identify": None}, "identify"),
        ({"rooms": "standup"}, "rooms"),
        ({"channels": 1}, "channels"),
        ({"guest_addresses": ["id"]}, "guest_addresses"),
        ({"store": {}}, "store"),
        ({"clock": 0.0}, "clock"),
        ({"random": 0.5}, "random"),
    ],
)
async def test_bad_options_are_refused_when_made(options: dict[str, Any], field: str, client: SignalWireClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        BrowserTokens(client, **{"identify": identify, **options})
    assert caught.value.field == field


def test_the_client_must_be_the_async_one() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        BrowserTokens(object(), identify=identify)  # type: ignore[arg-type]
    assert caught.value.field == "client"


async def test_the_defaults_mount_the_two_subscriber_routes_on_a_memory_store(client: SignalWireClient) -> None:
    tokens = BrowserTokens(client, identify=identify, per_subscriber=(1, 1), expiry_jitter=0)
    assert tokens.routes == ("fabric/token", "fabric/refresh")
    assert isinstance(tokens.store, MemoryTokenStore)
    assert (
        repr(tokens) == "BrowserTokens(routes=['fabric/token', 'fabric/refresh'], store=MemoryTokenStore(sessions=0))"
    )


PROFILE: dict[str, Any] = {
    "application_id": "ea14556a-984f-11ee-b9d1-0242ac120002",
    "first_name": "Alice",
    "last_name": "Liddell",
    "display_name": "Alice L.",
    "job_title": "Explorer",
    "time_zone": "Europe/London",
    "country": "GB",
    "region": "us-central",
    "company_name": "Wonderland",
}


def test_a_subscriber_carries_the_profile_fields_and_no_password() -> None:
    request = Subscriber("alice@example.com", **PROFILE).token_request(scope="sat:refresh")
    assert request == SubscriberTokenRequest(reference="alice@example.com", scope="sat:refresh", **PROFILE)
    with pytest.raises(TypeError):
        Subscriber("alice@example.com", password="secret")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"application_id": "app-1"}, "application_id"),
        ({"region": "eu"}, "region"),
        ({"first_name": ["Alice"]}, "first_name"),
    ],
)
def test_a_subscriber_is_checked_as_its_token_request_would_be(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        Subscriber(**{"reference": "alice@example.com", **fields})
    assert caught.value.field == field


def test_the_web_package_imports_without_the_optional_extras() -> None:
    blocked = ("opentelemetry", "redis", "rich", "fastapi", "starlette", "httpx", "cryptography")
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import signalwire_tokens.web as web\n"
        "print(sorted(web.__all__))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "BrowserTokens" in done.stdout


@pytest.mark.parametrize(
    "origins",
    [
        "https://app.example.com",
        ("*",),
        ("https://app.example.com/path",),
        ("ftp://app.example.com",),
        ("https://user@app.example.com",),
        (42,),
        ("https://app.example.com?x=1",),
    ],
)
async def test_allowed_origins_must_be_origins(origins: object, client: SignalWireClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        BrowserTokens(client, identify=identify, allowed_origins=origins)  # type: ignore[arg-type]
    assert caught.value.field == "allowed_origins"
