"""``signalwire-tokens``: API tokens, chat, PubSub and video room tokens (one or a batch), conference tokens, Call
Fabric subscriber (one or a batch), guest and invite tokens, a fake space and an offline demo from the shell.

Exit codes: 0 done; 1 the API refused, or a batch had failures (with a summary); 2 usage or input errors; 130 or
143 a batch interrupted by SIGINT or SIGTERM. Secrets are printed only where they are the requested output (a
created API token, a minted chat token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from .._errors import InvalidRequestError, SignalWireError
from ..resources._api_token_models import ApiToken
from ._batch_run import FAILED, OK, USAGE, run_batch
from ._credentials import UsageError, make_client
from ._fabric_commands import fabric_command
from ._families import FAMILIES
from ._parser import build_parser
from ._video_commands import conference_token, room_token_create

#: The status of a process that SIGPIPE ended (128 + 13), what a shell reports for `cat` cut off by `head`.
SIGPIPE_STATUS = 141

__all__ = ["main"]


def _api_token_json(token: ApiToken) -> str:
    return json.dumps(
        {"id": token.id, "name": token.name, "permissions": list(token.permissions), "token": token.token}
    )


async def _api_token(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        tokens = client.api_tokens if args.command == "api-token" else client.project_tokens
        if args.action == "create":
            print(_api_token_json(await tokens.create(args.name, args.permissions, args.subproject_id)))
        elif args.action == "update":
            updated = await tokens.update(args.token_id, name=args.name, permissions=args.permissions)
            print(_api_token_json(updated))
        else:
            await tokens.delete(args.token_id)
            print(json.dumps({"id": args.token_id, "deleted": True}))
    return OK


async def _mint_one(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        tokens = client.chat_tokens if args.command == "chat-token" else client.pubsub_tokens
        token = await tokens.create(
            ttl=args.ttl, channels=dict(args.channels), member_id=args.member_id, state=args.state
        )
    print(json.dumps(FAMILIES[args.command].token_json(token)))
    return OK


async def _run(args: argparse.Namespace) -> int:
    if args.command in ("api-token", "project-token"):
        return await _api_token(args)
    if args.command in ("chat-token", "pubsub-token"):
        return await (_mint_one(args) if args.action == "create" else run_batch(args))
    if args.command == "room-token":
        return await (room_token_create(args) if args.action == "create" else run_batch(args))
    if args.command == "conference-token":
        return await conference_token(args)
    if args.command in ("subscriber-token", "guest-token", "invite-token"):
        is_batch = args.command == "subscriber-token" and args.action == "batch"
        return await (run_batch(args) if is_batch else fabric_command(args))
    if args.command == "fake-space":
        from ._serve import serve

        return await serve(args)
    from ._demo import demo

    return await demo()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``signalwire-tokens`` command line on ``argv`` (default: the process's arguments) and return its
    exit status: 0 done, 1 the API refused, 2 usage or input errors, 130 interrupted, 141 output cut off."""
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly as cat does, with SIGPIPE's status; stdout goes to
        # devnull so that the interpreter's own flush at exit does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS
    except (UsageError, InvalidRequestError, OSError) as error:  # bad input, options or files
        print(f"signalwire-tokens: {error}", file=sys.stderr)
        return USAGE
    except SignalWireError as error:
        print(f"signalwire-tokens: {type(error).__name__}: {error}", file=sys.stderr)
        return FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
