"""Recipe: batch-mint chat tokens from a CSV file (member_id,channels,ttl) and write JSON Lines, in input order.

Run it: ``python examples/batch_from_csv.py [members.csv] [tokens.jsonl]``; with no arguments it writes a sample CSV
of 500 members to a temporary folder and mints against a fake space.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from signalwire_tokens import ChatTokenRequest, SignalWireClient
from signalwire_tokens.testing import FakeSignalWire


def read_members(path: Path) -> Iterator[ChatTokenRequest]:
    """One request per row, read lazily: create_many pulls rows only as fast as it mints."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            channels = {name: {"read": True} for name in row["channels"].split(";")}
            yield ChatTokenRequest(ttl=int(row["ttl"]), channels=channels, member_id=row["member_id"])


async def mint_file(client: SignalWireClient, source: Path, target: Path) -> tuple[int, int]:
    ok = failed = 0
    with target.open("w") as out:
        async for item in client.chat_tokens.create_many(read_members(source), concurrency=32, ordered=True):
            if item.token is not None:
                ok += 1
                out.write(json.dumps({"member_id": item.token.member_id, "token": item.token.token}) + "\n")
            else:
                failed += 1
                out.write(json.dumps({"member_id": item.request.member_id, "error": str(item.error)}) + "\n")
    return ok, failed


async def main(argv: list[str]) -> None:
    if len(argv) == 2:
        async with SignalWireClient.from_env() as client:
            ok, failed = await mint_file(client, Path(argv[0]), Path(argv[1]))
    else:
        folder = Path(tempfile.mkdtemp())
        source, target = folder / "members.csv", folder / "tokens.jsonl"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["member_id", "channels", "ttl"])
            writer.writerows([f"member-{n}", "lobby;news", 60] for n in range(500))
        async with FakeSignalWire() as fake, fake.client() as client:
            fake.fail(
                422,
                times=1,
                body={
                    "errors": [
                        {
                            "type": "validation_error",
                            "code": "invalid_parameter",
                            "message": "Member is blocked",
                            "attribute": "member_id",
                            "url": "https://signalwire.com/docs/apis/error-codes",
                        }
                    ]
                },
            )
            ok, failed = await mint_file(client, source, target)
        first = json.loads(target.read_text().splitlines()[0])
        print(f"first line of {target.name}: member {first['member_id']!r}")
    print(f"{ok} minted, {failed} failed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
