"""``signalwire-tokens``: API tokens, chat tokens, batches, a fake space and an offline demo from the shell.

Exit codes: 0 done; 1 the API refused, or a batch had failures (with a summary); 2 usage or input errors.
Secrets are printed only where they are the requested output (a created API token, a minted chat token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import ApiError, InvalidRequestError, SignalWireError
from .._models import ApiToken, BatchItem, ChatToken, Permission
from ._batch_input import InputError, parse_channel, read_requests
from ._credentials import UsageError, add_credential_options, make_client
from ._progress import Progress

__all__ = ["main"]

OK, FAILED, USAGE = 0, 1, 2


def _channel(text: str) -> tuple[str, dict[str, bool]]:
    try:
        return parse_channel(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signalwire-tokens",
        description="SignalWire API tokens and chat tokens from the shell, a fake space, and an offline demo.",
        epilog="Exit codes: 0 done; 1 the API refused, or a batch had failures; 2 usage or input errors.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    api = commands.add_parser("api-token", help="create, update or delete project API tokens")
    api_commands = api.add_subparsers(dest="action", required=True, metavar="ACTION")
    permissions = [p.value for p in Permission]
    create = api_commands.add_parser("create", help="create an API token (prints it, with its secret)")
    create.add_argument("--name", required=True)
    create.add_argument("--permission", action="append", required=True, choices=permissions, dest="permissions")
    create.add_argument("--subproject-id")
    update = api_commands.add_parser("update", help="rename a token or change its permissions")
    update.add_argument("token_id")
    update.add_argument("--name")
    update.add_argument("--permission", action="append", choices=permissions, dest="permissions")
    delete = api_commands.add_parser("delete", help="delete an API token")
    delete.add_argument("token_id")
    for sub in (create, update, delete):
        add_credential_options(sub)

    chat = commands.add_parser("chat-token", help="mint chat tokens, one or a batch")
    chat_commands = chat.add_subparsers(dest="action", required=True, metavar="ACTION")
    one = chat_commands.add_parser("create", help="mint one chat token (prints it)")
    one.add_argument("--ttl", type=int, required=True, help="minutes, 1..43200")
    one.add_argument(
        "--channel",
        type=_channel,
        action="append",
        required=True,
        dest="channels",
        help="NAME[:r|w|rw], repeatable (default read)",
    )
    one.add_argument("--member-id")
    one.add_argument("--state", type=_json_object, help="a JSON object")
    batch = chat_commands.add_parser("batch", help="mint a chat token per row of a JSON Lines or CSV file")
    batch.add_argument("--input", type=Path, required=True, help="rows of member_id, channels, ttl, state")
    batch.add_argument("--output", type=Path, required=True, help="JSON Lines, one result per row, in input order")
    batch.add_argument("--format", choices=["jsonl", "csv"], help="input format (default: from the extension)")
    batch.add_argument("--concurrency", type=int, default=32, help="requests at once (default 32)")
    batch.add_argument("--max-rate", type=float, help="requests per second at most")
    for sub in (one, batch):
        add_credential_options(sub)

    fake = commands.add_parser("fake-space", help="run the fake SignalWire space")
    fake_commands = fake.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = fake_commands.add_parser("serve", help="serve the fake space on 127.0.0.1 until interrupted")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--project-id")
    serve.add_argument("--api-token")

    commands.add_parser("demo", help="an offline tour against the embedded fake space")
    return parser


def _api_token_json(token: ApiToken) -> str:
    return json.dumps(
        {"id": token.id, "name": token.name, "permissions": list(token.permissions), "token": token.token}
    )


def _chat_token_json(token: ChatToken) -> dict[str, Any]:
    return {"token": token.token, "member_id": token.member_id, "expires_at": token.expires_at.isoformat()}


def _error_json(error: SignalWireError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, ApiError):
        data.update(status=error.status, code=error.code, attribute=error.attribute)
    return data


async def _api_token(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        if args.action == "create":
            print(_api_token_json(await client.api_tokens.create(args.name, args.permissions, args.subproject_id)))
        elif args.action == "update":
            updated = await client.api_tokens.update(args.token_id, name=args.name, permissions=args.permissions)
            print(_api_token_json(updated))
        else:
            await client.api_tokens.delete(args.token_id)
            print(f"deleted {args.token_id}")
    return OK


async def _chat_create(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        token = await client.chat_tokens.create(
            ttl=args.ttl, channels=dict(args.channels), member_id=args.member_id, state=args.state
        )
    print(json.dumps(_chat_token_json(token)))
    return OK


async def _chat_batch(args: argparse.Namespace) -> int:
    # First pass: check every row, so that a bad row stops the command before anything is minted.
    total = sum(1 for _ in read_requests(args.input, args.format))
    lines: list[int] = []

    def requests() -> Any:
        for line, request in read_requests(args.input, args.format):
            lines.append(line)
            yield request

    failed = 0
    async with make_client(args) as client:
        with args.output.open("w", encoding="utf-8") as out, Progress(total, "minting") as progress:
            stream = client.chat_tokens.create_many(
                requests(), concurrency=args.concurrency, max_rate=args.max_rate, progress=progress.update, ordered=True
            )
            async for item in stream:
                out.write(json.dumps(_batch_line(lines[item.index], item)) + "\n")
                failed += not item.ok
    print(f"{total - failed} of {total} chat tokens minted, {failed} failed; results in {args.output}", file=sys.stderr)
    return FAILED if failed else OK


def _batch_line(line: int, item: BatchItem) -> dict[str, Any]:
    result: dict[str, Any] = {"line": line, "index": item.index}
    if item.ok:
        result.update(_chat_token_json(item.token))
    else:
        result.update(member_id=item.request.member_id, error=_error_json(item.error))
    return result


async def _fake_space(args: argparse.Namespace) -> int:
    from ..testing import FakeSignalWire

    fake_space = FakeSignalWire(
        project_id=args.project_id, api_token=args.api_token, port=args.port, keep_requests=1000
    )
    async with fake_space as fake:
        print(f"fake SignalWire space on {fake.url}  (Ctrl-C to stop)")
        print(f"export SIGNALWIRE_PROJECT_ID={fake.project_id}")
        print(f"export SIGNALWIRE_API_TOKEN={fake.api_token}")
        print(f"export SIGNALWIRE_BASE_URL={fake.url}", flush=True)
        await asyncio.Event().wait()
    return OK  # pragma: no cover - only Ctrl-C ends it


async def _run(args: argparse.Namespace) -> int:
    if args.command == "api-token":
        return await _api_token(args)
    if args.command == "chat-token":
        return await (_chat_create(args) if args.action == "create" else _chat_batch(args))
    if args.command == "fake-space":
        return await _fake_space(args)
    from ._demo import demo

    return await demo()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except (InputError, UsageError, InvalidRequestError, OSError) as error:  # bad input, options or files
        print(f"signalwire-tokens: {error}", file=sys.stderr)
        return USAGE
    except SignalWireError as error:
        print(f"signalwire-tokens: {type(error).__name__}: {error}", file=sys.stderr)
        return FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
