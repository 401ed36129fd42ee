"""Recipe: a Flask app minting a chat token per request through one module-level SyncSignalWireClient.

The client is made once, when the WSGI server imports this module, and shared by every request of every worker
thread: one event loop in a background thread, one connection pool, reused. Views call it like any blocking
library. Under gunicorn's ``--preload`` the module is imported before the workers fork: the client starts its loop
on first use, so each worker gets one of its own.

Run it: ``python examples/flask_app.py`` (needs ``pip install flask``) starts a fake space in the background,
points the SIGNALWIRE_* variables at it and fetches a token through Flask's test client. In production, set the
SIGNALWIRE_* variables and serve ``app`` (``gunicorn --threads 8 flask_app:app``).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Callable

from flask import Flask, abort, jsonify
from flask.typing import ResponseReturnValue

from signalwire_tokens import SignalWireError, SyncSignalWireClient
from signalwire_tokens.testing import FakeSignalWire


def serve_a_fake_space() -> tuple[FakeSignalWire, Callable[[], None]]:
    """For the demo only: a fake space on an event loop in a thread of its own, the SIGNALWIRE_* variables pointed
    at it; returns the fake and a function that stops it."""
    loop = asyncio.new_event_loop()
    fake = loop.run_until_complete(FakeSignalWire().start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    os.environ.update(
        SIGNALWIRE_PROJECT_ID=fake.project_id, SIGNALWIRE_API_TOKEN=fake.api_token, SIGNALWIRE_BASE_URL=fake.url
    )

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    return fake, stop


# Run as a script, the demo's stand-in for SignalWire, before the client below reads the environment. One name for
# both uses, so a type checker sees it bound at the end too.
DEMO = serve_a_fake_space() if __name__ == "__main__" else None

# The process's one client, made when the module is imported, closed at exit.
signalwire = SyncSignalWireClient.from_env()
atexit.register(signalwire.close)

app = Flask(__name__)


@app.get("/chat-token/<member_id>")
def chat_token(member_id: str) -> ResponseReturnValue:
    try:
        token = signalwire.chat_tokens.create(ttl=60, channels={"lobby": {"read": True}}, member_id=member_id)
    except SignalWireError as error:
        # The message never holds credentials; the browser gets a plain 502.
        app.logger.warning("could not mint a chat token: %s", error)
        abort(502, "chat is unavailable")
    return jsonify(token=token.token, expires_at=token.expires_at.isoformat())


if DEMO is not None:
    fake, stop_fake = DEMO
    response = app.test_client().get("/chat-token/carol")
    claims = fake.decode_chat_token(response.get_json()["token"])
    print(f"GET /chat-token/carol -> {response.status_code}, token for member {claims['member_id']!r}")
    signalwire.close()
    stop_fake()
