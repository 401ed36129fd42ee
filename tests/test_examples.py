"""The recipes under examples/ run, offline, and print what they promise."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar

from signalwire_tokens.testing import FakeSignalWire

from .conftest import RedisServer
from .support import EXAMPLES, ThreadedFake, load_recipe

# What both browser endpoint recipes print: each framework's mount, the same answers.
BROWSER_TOUR = (
    "signed in as alice@example.com; POST /signalwire/fabric/token -> 200, a SAT for the next 1 to 2 hours\n"
    "POST /signalwire/fabric/refresh -> 200, a new SAT: True\n"
    "from another origin -> 403; SignalWire saw ['fabric.subscriber_tokens.create', 'fabric.subscriber_tokens.refresh']"
)
EXPECTED = {
    "aiohttp_app.py": "GET /chat-token/session-42 -> 200, token for member 'session-42'",
    "fastapi_app.py": "GET /chat-token/bob -> 200, token for member 'bob'",
    "fastapi_cache.py": "3 page views by 2 users -> 2 chat tokens minted (alice's two share one: True)",
    "flask_app.py": "GET /chat-token/carol -> 200, token for member 'carol'",
    "bot.py": "bot stopped; 3 tokens minted",
    "batch_from_csv.py": "499 minted, 1 failed",
    "middleware_metrics.py": "attempts: {'chat_tokens.create 200': 5, 'chat_tokens.create 502': 2, "
    "'chat_tokens.create ConnectionLostError': 1}",
    "otel_console.py": "minted 2 chat tokens (the first after a 503)",
    "fabric_signin.py": "5 page views by 2 subscribers -> 2 SATs minted\n"
    "POST /embed -> 200, sent with no credentials: True",
    "browser_sdk_aiohttp.py": BROWSER_TOUR,
    "browser_sdk_fastapi.py": BROWSER_TOUR,
    "browser_sdk_fleet.py": "signed in on one replica: POST fabric/token -> 200\n"
    "two refreshes on two replicas -> [200, 200], one SAT: True\n"
    "SignalWire saw ['fabric.subscriber_tokens.create', 'fabric.subscriber_tokens.refresh']",
    "video_meeting.py": "4 invitees -> 4 room tokens for 'weekly-sync' (join 08:55..10:00 UTC)\n"
    "2 conference tokens rotated (2 resets)",
}


def fleet_needs() -> None:
    """The fleet recipe runs on redis-server and the web extra."""
    pytest.importorskip("cryptography", reason="needs the web extra")
    pytest.importorskip("redis", reason="needs the web extra")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)")


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


def run(name: str) -> str:
    if name.startswith(("fastapi_", "browser_sdk_fastapi")):
        pytest.importorskip("fastapi")
        pytest.importorskip("httpx")
    if name.startswith("otel_"):
        pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk (the examples extra)")
    if name.startswith("flask_"):
        pytest.importorskip("flask")
    if name == "browser_sdk_fleet.py":
        fleet_needs()
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    stdout = run(name)
    assert EXPECTED[name] in stdout, stdout


def test_the_console_recipe_prints_the_spans_of_each_call_and_attempt_then_the_metrics() -> None:
    stdout = run("otel_console.py")
    names = re.findall(r'^    "name": "(.*)",$', stdout, re.M)  # the spans' own names, in the order they ended
    attempt, call = "POST /api/chat/tokens", "chat_tokens.create"
    assert names == [attempt, attempt, call, attempt, call, "GET /chat-tokens"]
    assert stdout.count('"http.request.resend_count": 1') == 1
    for metric in ("http.client.request.duration", "signalwire_tokens.retries", "signalwire_tokens.tokens_minted"):
        assert f'"name": "{metric}"' in stdout


def test_the_flask_recipe_serves_every_request_through_its_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imported as a WSGI server imports it (the SIGNALWIRE_* variables set), its views called from several
    threads at once through Flask's test client: one client, one loop thread, a token per request."""
    pytest.importorskip("flask")
    space = ThreadedFake()
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", space.fake.project_id)
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", space.fake.api_token)
    monkeypatch.setenv("SIGNALWIRE_BASE_URL", space.fake.url)
    recipe = load_recipe("flask_app.py")
    answers: dict[str, Any] = {}

    def page_view(member: str) -> None:
        response = recipe.app.test_client().get(f"/chat-token/{member}")
        answers[member] = (response.status_code, space.fake.decode_chat_token(response.get_json()["token"]))

    try:
        views = [threading.Thread(target=page_view, args=(f"user-{i}",)) for i in range(8)]
        for view in views:
            view.start()
        for view in views:
            view.join(10)
        loops = [t for t in threading.enumerate() if t.name == "SyncSignalWireClient-loop"]
        space.call(space.fake.fail, 403)  # the API refuses: the browser gets a plain 502
        failed = recipe.app.test_client().get("/chat-token/dave")
    finally:
        recipe.signalwire.close()
        space.close()
    assert {m: (status, claims["member_id"]) for m, (status, claims) in answers.items()} == {
        f"user-{i}": (200, f"user-{i}") for i in range(8)
    }
    assert len(loops) == 1, "one module-level client for every request and thread"
    assert failed.status_code == 502 and space.fake.api_token not in failed.get_data(as_text=True)


async def test_the_aiohttp_browser_recipe_serves_for_the_space_its_environment_names(fake: FakeSignalWire) -> None:
    """``serve``, as a user starts it: ``SignalWireClient.from_env()`` reads the SIGNALWIRE_* variables that
    ``signalwire-tokens fake-space serve`` prints (here naming ``fake``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith("SIGNALWIRE_")}
    env |= {"SIGNALWIRE_PROJECT_ID": fake.project_id, "SIGNALWIRE_API_TOKEN": fake.api_token}
    env |= {"SIGNALWIRE_BASE_URL": fake.url, "PYTHONUNBUFFERED": "1"}
    recipe = [sys.executable, "-W", "error", str(EXAMPLES / "browser_sdk_aiohttp.py"), "serve", str(port)]
    server = await asyncio.create_subprocess_exec(*recipe, env=env, stdout=subprocess.PIPE)
    assert server.stdout is not None
    try:
        assert f"Running on http://127.0.0.1:{port}" in (await server.stdout.readline()).decode()
        base = f"http://127.0.0.1:{port}"
        async with ClientSession(base, cookie_jar=CookieJar(unsafe=True), headers={"Origin": base}) as browser:
            await browser.post("/sign-in", data={"email": "alice@example.com", "password": "correct horse"})
            async with browser.post("/signalwire/fabric/token", json={}) as answer:
                assert answer.status == 200 and set(await answer.json()) == {"token", "expiresAt"}
    finally:
        server.terminate()
        await server.wait()
    assert [r.operation for r in fake.requests] == ["fabric.subscriber_tokens.create"]


async def test_the_fleet_recipe_serves_one_session_from_two_replicas_mid_rotation(
    fake: FakeSignalWire, redis_server: RedisServer
) -> None:
    """Two ``serve`` processes, as a user starts them behind a load balancer, with one Redis; the second has a new
    key put in front of the first's, as in the middle of a rotation: a session begun on one is found on the other."""
    fleet_needs()
    from cryptography.fernet import Fernet

    old, new = (Fernet.generate_key().decode() for _ in range(2))
    env = {name: value for name, value in os.environ.items() if not name.startswith("SIGNALWIRE_")}
    env |= {"SIGNALWIRE_PROJECT_ID": fake.project_id, "SIGNALWIRE_API_TOKEN": fake.api_token}
    env |= {"SIGNALWIRE_BASE_URL": fake.url, "PYTHONUNBUFFERED": "1"}
    env |= {"REDIS_URL": redis_server.url, "APP_SESSION_SECRET": "s3cret-shared-by-the-fleet"}
    bases, servers = [], []
    try:
        for keys in (old, f"{new},{old}"):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            recipe = [sys.executable, "-W", "error", str(EXAMPLES / "browser_sdk_fleet.py"), "serve", str(port)]
            server = await asyncio.create_subprocess_exec(
                *recipe, env=env | {"SIGNALWIRE_TOKENS_KEYS": keys}, stdout=subprocess.PIPE
            )
            servers.append(server)
            assert server.stdout is not None
            assert f"Running on http://127.0.0.1:{port}" in (await server.stdout.readline()).decode()
            bases.append(f"http://127.0.0.1:{port}")
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:
            form = {"email": "alice@example.com", "password": "correct horse"}
            await browser.post(f"{bases[0]}/sign-in", data=form, allow_redirects=False)
            answers = []
            for base, route in zip(bases, ("fabric/token", "fabric/refresh"), strict=True):
                async with browser.post(f"{base}/signalwire/{route}", json={}, headers={"Origin": base}) as answer:
                    assert answer.status == 200
                    answers.append(await answer.json())
    finally:
        for server in servers:
            server.terminate()
            await server.wait()
    assert answers[0] != answers[1], "a new SAT"
    # The other replica, with a new key in front, opened the session the first one sealed and swapped its token.
    assert [r.operation for r in fake.requests] == [
        "fabric.subscriber_tokens.create",
        "fabric.subscriber_tokens.refresh",
    ]
