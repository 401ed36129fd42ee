"""A trivial HTTP/1.1 keep-alive server for the benchmarks: answers every POST with a chat token (or, with
``--body sat``, a subscriber access token and its refresh token: the answer of both create and refresh), after an
optional latency. Hand-rolled on asyncio.Protocol so that the server, not the clients, is never the bottleneck.

    python benchmarks/server.py --port 0 [--latency 0.05] [--body chat|sat]     # prints "listening on PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

JWT = "eyJ0eXAiOiJWUlQiLCJhbGciOiJIUzUxMiJ9.eyJpYXQiOjE3OTU1MDc0OTJ9.c2lnbmF0dXJl"
BODIES = {
    "chat": {"token": JWT},
    "sat": {"subscriber_id": "d1b5c9a2-3f4e-4b6a-9c8d-7e6f5a4b3c2d", "token": JWT, "refresh_token": JWT},
}


def response(body: str) -> bytes:
    encoded = json.dumps(BODIES[body]).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(encoded)).encode()
        + b"\r\nConnection: keep-alive\r\n\r\n"
        + encoded
    )


class TokenServer(asyncio.Protocol):
    def __init__(self, latency: float, answer: bytes) -> None:
        self.latency = latency
        self.response = answer
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if self.latency:
                self.loop.call_later(self.latency, self.answer)
            else:
                self.answer()

    def answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, latency: float, body: str) -> None:
    loop = asyncio.get_running_loop()
    answer = response(body)
    server = await loop.create_server(lambda: TokenServer(latency, answer), "127.0.0.1", port, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--body", choices=sorted(BODIES), default="chat")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.latency, args.body))


if __name__ == "__main__":
    main()
