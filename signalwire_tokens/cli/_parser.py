"""The command line's options, every one with its help."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..resources._api_token_models import Permission
from ..resources._channel_models import ChannelTokenRequest
from ._batch_family import parse_channel
from ._credentials import add_credential_options
from ._fabric_commands import add_fabric_commands
from ._request_options import add_request_options
from ._video_commands import add_video_commands

__all__ = ["build_parser"]


def _channel(text: str) -> tuple[str, dict[str, bool]]:
    try:
        return parse_channel(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _rate_limit(text: str) -> tuple[int, float]:
    limit, _, period = text.partition("/")
    try:
        return int(limit), float(period or "10")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LIMIT/SECONDS, e.g. 13800/10") from None


def _number(kind: Callable[[str], float], accept: Callable[[float], bool], wanted: str) -> Callable[[str], Any]:
    """An option's number, of ``kind`` (int or float), refused unless ``accept`` holds (NaN never does)."""

    def number(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value

    return number


_positive_int = _number(int, lambda value: value >= 1, "a whole number of at least 1")
_positive = _number(float, lambda value: value > 0, "a number above 0")
_share = _number(float, lambda value: 0 <= value <= 1, "a share between 0 and 1")


CHANNEL_HELP = "NAME[:r|w|rw] (a bare name reads); repeatable"

EXIT_CODES = """exit codes:
  0        every row minted
  1        the API refused: a stop (401, 403, an API that cannot be reached), or rows that failed (see the summary)
  2        usage or input errors (bad options, invalid rows, an output --resume cannot use, an output that
           is not empty without --resume or --overwrite): nothing minted
  130/143  interrupted by SIGINT/SIGTERM: resume with --resume (the last lines on stderr give the command)"""

BATCH_EPILOG = f"""input rows (JSON Lines, or CSV with a header of the same columns):
  {{"member_id": "alice", "channels": {{"lobby": {{"read": true}}}}, "ttl": 60, "state": {{"team": 7}}}}
  member_id,channels,ttl,state
  alice,lobby;room:rw,60,"{{""team"": 7}}"
  CSV channels: NAME[:r|w|rw] separated by ';' (a bare name reads; r = read, w = write), or a JSON object
  as in JSON Lines; an empty cell leaves the field out (then --ttl or --channel must give it).

output lines (JSON Lines, one per row; "line" is the row's line in the input):
  {{"line": 7, "token": "eyJ...", "member_id": "alice", "expires_at": "2026-12-03T10:00:00+00:00"}}
  {{"line": 8, "member_id": "bob", "error": {{"type": "ServerError", "message": "...", "status": 500, ...}}}}

{EXIT_CODES}"""


def add_batch_parser(actions: Any, noun: str, input_help: str, epilog: str) -> argparse.ArgumentParser:
    """A family's ``batch`` command with the options every batch has; the family adds its default options."""
    batch: argparse.ArgumentParser = actions.add_parser(
        "batch",
        help=f"mint a {noun} per row of a JSON Lines or CSV file",
        description="Every row is checked before anything is minted; then one JSON line per row is written, in"
        " input order unless --no-ordered. Ctrl-C finishes the requests in flight and says how to --resume.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("--input", required=True, help=input_help)
    batch.add_argument("--output", required=True, help="JSON Lines, one result per row (created 0600); - = stdout")
    batch.add_argument("--format", choices=["jsonl", "csv"], help="input format (default: csv for *.csv, else jsonl)")
    batch.add_argument("--concurrency", type=_positive_int, default=32, help="requests at once (default 32)")
    batch.add_argument("--max-rate", type=_positive, help="requests started per second, at most")
    batch.add_argument(
        "--ordered",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--ordered (the default): write the results in input order; a row that waits (a retry, a slow answer)"
        " holds back the lines after it, not the requests. --no-ordered: write each result as soon as its row is"
        " done (every line carries its input line, which --resume reads either way)",
    )
    # Without either, an output that holds anything (or an interrupted run's record) is refused: its tokens may
    # be the only record of what was minted.
    rerun = batch.add_mutually_exclusive_group()
    rerun.add_argument(
        "--resume",
        action="store_true",
        help="skip the rows the output already holds and append the rest; refuses an output that is not a batch's,"
        " and says how many rows a killed run may have minted without writing them",
    )
    rerun.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output file that is not empty (or beside which an interrupted run left its .run record):"
        " truncate it and mint every row again; the tokens it held are lost. Without --resume or --overwrite such"
        " an output is refused, untouched",
    )
    return batch


def _api_token_commands(commands: Any, command: str, api_name: str) -> None:
    api = commands.add_parser(command, help=f"create, update or delete API tokens through the {api_name}")
    actions = api.add_subparsers(dest="action", required=True, metavar="ACTION")
    permissions = [p.value for p in Permission]
    create = actions.add_parser("create", help="create an API token (prints it as JSON, with its secret)")
    create.add_argument("--name", required=True, help="the token's name")
    create.add_argument(
        "--permission", action="append", required=True, choices=permissions, dest="permissions", help="repeatable"
    )
    create.add_argument("--subproject-id", help="create it for this subproject (a UUID)")
    update = actions.add_parser("update", help="rename a token or change its permissions (prints it as JSON)")
    update.add_argument("token_id", help="the token's ID (a UUID)")
    update.add_argument("--name", help="the new name")
    update.add_argument(
        "--permission", action="append", choices=permissions, dest="permissions", help="the new permissions; repeatable"
    )
    delete = actions.add_parser("delete", help="delete an API token (prints {id, deleted} as JSON)")
    delete.add_argument("token_id", help="the token's ID (a UUID)")
    for sub in (create, update, delete):
        add_credential_options(sub)


def _add_channels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", type=_channel, action="append", required=True, dest="channels", help=CHANNEL_HELP)


def _channel_token_commands(commands: Any, command: str, noun: str) -> None:
    chat = commands.add_parser(command, help=f"mint {noun}s, one or a batch")
    actions = chat.add_subparsers(dest="action", required=True, metavar="ACTION")
    one = actions.add_parser("create", help=f"mint one {noun} (prints it as JSON)")
    add_request_options(one, ChannelTokenRequest, custom={"channels": _add_channels})
    batch = add_batch_parser(
        actions,
        noun,
        "JSON Lines or CSV of member_id, channels, ttl, state; - = stdin",
        BATCH_EPILOG,
    )
    batch.add_argument("--ttl", type=int, help="minutes (1..43200), for rows without a ttl")
    batch.add_argument(
        "--channel", type=_channel, action="append", dest="channels", help="for rows without channels; " + CHANNEL_HELP
    )
    for sub in (one, batch):
        add_credential_options(sub)


def _fake_space_commands(commands: Any) -> None:
    fake = commands.add_parser("fake-space", help="run the fake SignalWire space")
    actions = fake.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="serve the fake space on 127.0.0.1 until interrupted")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    serve.add_argument(
        "--project-id", help="the project ID it accepts (default: a new UUID each start, so give it to keep it)"
    )
    serve.add_argument(
        "--api-token", help="the API token it accepts (default: a new one each start, so give it to keep it)"
    )
    serve.add_argument("--log", action="store_true", help="print a line per request: method, path, status, ms")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds every answer waits (default 0)")
    serve.add_argument(
        "--fail-rate",
        type=_share,
        default=0.0,
        help="share of requests (0..1, default 0) given one random fault, each kind as likely: a 500, 502 or 503;"
        " a 429 with Retry-After: 1; a connection reset before the request is acted on, or after (the token is"
        " minted but its answer lost); or an answer up to 20 ms late",
    )
    serve.add_argument(
        "--rate-limit",
        type=_rate_limit,
        metavar="LIMIT/SECONDS",
        help="a sliding window, e.g. 13800/10, as SignalWire's",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signalwire-tokens",
        description="SignalWire API tokens, chat, PubSub and video tokens from the shell, a fake space, and an"
        " offline demo.",
        epilog="Exit codes: 0 done; 1 the API refused, or a batch had failures; 2 usage or input errors;"
        " 130/143 a batch interrupted by SIGINT/SIGTERM (resume it with --resume). A batch's --help says more.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _api_token_commands(commands, "api-token", "compatibility API")
    _api_token_commands(commands, "project-token", "platform API (/api/project/tokens)")
    _channel_token_commands(commands, "chat-token", "chat token")
    _channel_token_commands(commands, "pubsub-token", "PubSub token")
    add_video_commands(commands, add_batch_parser, EXIT_CODES)
    add_fabric_commands(commands, add_batch_parser, EXIT_CODES)
    _fake_space_commands(commands)
    commands.add_parser("demo", help="an offline tour against the embedded fake space")
    return parser
