"""Recipe: a bot-style long-running task (Discord, Slack, Telegram bots all look like this on asyncio).

Events arrive on a queue; each "join" event gets a chat token. The client lives as long as the bot; on shutdown
the task is cancelled, and cancellation leaves no request, connection or session behind.
Run it: ``python examples/bot.py`` (offline, against a fake space).
"""

from __future__ import annotations

import asyncio
import contextlib

from signalwire_tokens import SignalWireClient, SignalWireError
from signalwire_tokens.testing import FakeSignalWire


async def bot(client: SignalWireClient, events: asyncio.Queue[str], replies: asyncio.Queue[str]) -> None:
    while True:
        user = await events.get()
        try:
            token = await client.chat_tokens.create(
                ttl=30, channels={"general": {"read": True, "write": True}}, member_id=user
            )
        except SignalWireError as error:
            await replies.put(f"{user}: chat is unavailable ({type(error).__name__})")
        else:
            await replies.put(f"{user}: here is your chat token, valid until {token.expires_at:%H:%M} UTC")


async def main() -> None:
    async with FakeSignalWire() as fake, fake.client() as client:
        events: asyncio.Queue[str] = asyncio.Queue()
        replies: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.create_task(bot(client, events, replies))
        fake.fail(503, times=1)  # the first mint meets a hiccup, retried by the library
        for user in ("ada", "grace", "linus"):
            await events.put(user)
        for _ in range(3):
            print((await replies.get()).split(",")[0])
        task.cancel()  # shutting the bot down
        with contextlib.suppress(asyncio.CancelledError):
            await task
    print(f"bot stopped; {fake.chat_tokens_minted} tokens minted")


if __name__ == "__main__":
    asyncio.run(main())
