"""Run by tests/test_sync_interrupt.py, as a user's script: a blocking call of a SyncSignalWireClient in the main
thread, held in flight on the client's loop until the test sends SIGINT. It prints what it saw, one fact a line.

    python tests/interrupted_client.py create|batch|with|fork
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

from signalwire_tokens import Request, Response, SyncSignalWireClient
from signalwire_tokens.testing import FakeSignalWire

LOBBY = {"lobby": {"read": True}}


class Held:
    """A middleware that holds every call (until it is cancelled) while ``holding``, saying so once each is in."""

    def __init__(self) -> None:
        self.holding = True
        self.inside = 0
        self.cancelled = 0

    async def __call__(self, request: Request, call_next: Any) -> Response:
        if self.holding:
            self.inside += 1
            print(f"in flight: {self.inside}", flush=True)
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        response: Response = await call_next(request)
        return response


def serve_fake() -> tuple[FakeSignalWire, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    fake = FakeSignalWire()
    loop.run_until_complete(fake.start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return fake, loop


def main(mode: str) -> None:
    fake, loop = serve_fake()
    held = Held()
    client = SyncSignalWireClient(None, fake.project_id, fake.api_token, base_url=fake.url, middlewares=[held])
    rows = ({"ttl": 5, "channels": LOBBY, "member_id": f"m{i}"} for i in range(1000))
    try:
        if mode == "create":
            client.chat_tokens.create(ttl=5, channels=LOBBY)
        elif mode == "batch":
            for _ in client.chat_tokens.create_many(rows, concurrency=4):
                pass
        elif mode == "with":
            with client:
                client.api_tokens.create(name="ci", permissions=["chat"])
        else:
            held.holding = False
            client.chat_tokens.create(ttl=5, channels=LOBBY)
            fork(client)
    except KeyboardInterrupt:
        print("KeyboardInterrupt in the calling thread", flush=True)
    print(f"cancelled on the loop: {held.cancelled} of {held.inside}")
    held.holding = False
    if not client.closed:
        print(f"still usable: {bool(client.chat_tokens.create(ttl=5, channels=LOBBY).token)}")
        client.close()
    threads = [t.name for t in threading.enumerate() if t.name.startswith("SyncSignalWireClient")]
    print(f"closed: {client.closed}, loop threads left: {len(threads)}")
    asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)


def fork(client: SyncSignalWireClient) -> None:
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        try:
            client.chat_tokens.create(ttl=5, channels=LOBBY)
        except RuntimeError as error:
            print(f"in the child: {error}", flush=True)
        # Not sys.exit: the child's interpreter would finalize its copies of the parent's connections, and closing
        # them unregisters their sockets from the epoll instance the two processes share (the parent's loop would
        # no longer hear them). A forked child ends with os._exit, as multiprocessing's do.
        os._exit(0)
    os.waitpid(child, 0)


if __name__ == "__main__":
    main(sys.argv[1])
