"""``chat-token batch`` and ``pubsub-token batch``: check every row, then mint, writing one result line per row in
input order.

Nothing is reported that was not written: the summary counts result lines. A 401 or 403 (or an API that cannot be
reached before any row was minted) stops the batch at once. The first Ctrl-C or SIGTERM stops taking new rows and
lets the requests in flight finish and be written, so ``--resume`` never mints a row twice; a second one aborts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .._batch import BatchStream
from .._channel_models import ChannelToken, ChannelTokenRequest
from .._errors import ApiError, AuthenticationError, PermissionDeniedError, SignalWireError, TransportError
from .._models import BatchItem
from ._batch_files import STDIO, LineSet, Spool, open_input, open_output, same_file, scan_output
from ._batch_input import InputError, RowReader
from ._credentials import UsageError, make_client

if TYPE_CHECKING:
    from .._channel_tokens import ChannelTokens
    from .._client import SignalWireClient
from ._progress import Progress

__all__ = ["FAILED", "NOUNS", "OK", "USAGE", "channel_token_json", "channel_tokens", "error_json", "run_batch"]

OK, FAILED, USAGE = 0, 1, 2
SHOWN_ERRORS = 20
_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it


#: The channel-token commands and what their tokens are called.
NOUNS = {"chat-token": "chat token", "pubsub-token": "PubSub token"}


def channel_tokens(client: SignalWireClient, command: str) -> ChannelTokens[Any, Any]:
    """The client's resource for a channel-token command."""
    return client.chat_tokens if command == "chat-token" else client.pubsub_tokens


def channel_token_json(token: ChannelToken) -> dict[str, Any]:
    return {"token": token.token, "member_id": token.member_id, "expires_at": token.expires_at.isoformat()}


def error_json(error: SignalWireError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, ApiError):
        data.update(status=error.status, code=error.code, attribute=error.attribute)
    return data


def _result_line(line: int, item: BatchItem) -> str:
    if item.ok:
        return json.dumps({"line": line, **channel_token_json(item.token)}) + "\n"
    return json.dumps({"line": line, "member_id": item.request.member_id, "error": error_json(item.error)}) + "\n"


def _read(args: argparse.Namespace, done: LineSet) -> tuple[Spool, int]:
    """Every row checked, the valid ones not already done spooled; :class:`UsageError` listing the bad ones."""
    handle, source = open_input(args.input)
    fmt = args.format or ("csv" if source.lower().endswith(".csv") else "jsonl")
    defaults: dict[str, Any] = {"ttl": args.ttl, "channels": dict(args.channels) if args.channels else None}
    defaults = {name: value for name, value in defaults.items() if value is not None}
    spool, skipped, bad = Spool(), 0, 0
    errors: list[str] = []
    try:
        with handle:
            for line, row in RowReader(handle, source, fmt, defaults):
                if isinstance(row, InputError):
                    bad += 1
                    if len(errors) < SHOWN_ERRORS:
                        errors.append(str(row))
                elif line in done:
                    skipped += 1
                elif not bad:  # once a row is bad nothing is minted: the rest are only checked
                    spool.add(line, row)
    except UnicodeDecodeError as error:
        spool.close()
        raise UsageError(f"{source}: not UTF-8 text ({error.reason}): nothing was minted") from None
    if bad:
        spool.close()
        more = f"\n... and {bad - len(errors):,} more invalid rows" if bad > len(errors) else ""
        raise UsageError("\n".join(errors) + more + f"\n{bad:,} invalid rows: nothing was minted")
    return spool, skipped


def _fatal(error: SignalWireError, minted: int) -> bool:
    """An error no other row can escape: refused credentials, or an API that could not be reached at all."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return True
    return minted == 0 and isinstance(error, TransportError) and not error.request_sent


@attrs.define
class _Tally:
    """What was written, for the summary."""

    minted: int = 0
    api_errors: int = 0
    budget_refused: int = 0
    skipped: int = 0
    #: 429s the batch waited out (each a wait until its Retry-After, not a failure).
    throttled: int = 0

    def count(self, item: BatchItem) -> None:
        if item.ok:
            self.minted += 1
        elif item.error.retry_budget_exhausted:
            self.budget_refused += 1
        else:
            self.api_errors += 1

    def summary(self, noun: str, total: int, output: str) -> str:
        failed = self.api_errors + self.budget_refused
        text = f"{self.minted:,} of {total:,} {noun} minted, {failed:,} failed"
        if failed:
            text += (
                f" ({self.api_errors:,} refused by the API, {self.budget_refused:,} not retried: retry budget spent)"
            )
        if self.skipped:
            text += f", {self.skipped:,} skipped (already in {output})"
        if self.throttled:
            text += f", {self.throttled:,} rate limit waits (429)"
        return text + ("" if output == STDIO else f"; results in {output}")


def _resume_command(args: argparse.Namespace) -> str:
    words = ["signalwire-tokens", args.command, "batch", "--input", args.input, "--output", args.output]
    for option, value in (("--format", args.format), ("--ttl", args.ttl), ("--max-rate", args.max_rate)):
        if value is not None:
            words += [option, str(value)]
    for name, permissions in args.channels or ():
        flags = ("r" if permissions["read"] else "") + ("w" if permissions["write"] else "")
        words += ["--channel", f"{name}:{flags}"]
    return shlex.join([*words, "--concurrency", str(args.concurrency), "--resume"])


class _Stop:
    """The first SIGINT/SIGTERM stops taking rows (the requests in flight finish); a second one aborts."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.signal: signal.Signals | None = None

    def __call__(self, signum: signal.Signals) -> None:
        if self.signal is None:
            self.signal = signum
            print(f"\n{signum.name}: finishing the requests in flight (again to abort)", file=sys.stderr)
        else:
            self.task.cancel()

    def rows(self, spool: Spool, lines: collections.deque[int]) -> Iterator[ChannelTokenRequest]:
        for line, request in spool:
            if self.signal is not None:
                return
            lines.append(line)
            yield request


async def run_batch(args: argparse.Namespace) -> int:
    if args.resume and args.output == STDIO:
        raise UsageError("--resume needs an --output file: it reads which rows are done from it")
    if same_file(args.input, args.output):
        raise UsageError(f"--input and --output are the same file ({args.output}): it would be lost; nothing done")
    client = make_client(args)
    done, whole = scan_output(args.output) if args.resume else (LineSet(), 0)
    spool, skipped = _read(args, done)
    tally = _Tally(skipped=skipped)
    task = asyncio.current_task()
    assert task is not None
    stop, fatal = _Stop(task), None
    try:
        out = open_output(args.output, resume_at=whole if args.resume else None)
    except BaseException:
        spool.close()
        raise
    loop = asyncio.get_running_loop()
    for signum in _INTERRUPTED:
        loop.add_signal_handler(signum, stop, signum)
    try:
        async with client:
            fatal = await _mint(args, channel_tokens(client, args.command).create_many, spool, stop, out, tally)
    except asyncio.CancelledError:
        pass  # the second signal: what was written stays written
    finally:
        for signum in _INTERRUPTED:
            loop.remove_signal_handler(signum)
        spool.close()
        if out is not sys.stdout:
            out.close()
    print(tally.summary(NOUNS[args.command] + "s", spool.rows + skipped, args.output), file=sys.stderr)
    if fatal is not None:
        print(f"signalwire-tokens: stopped: {type(fatal).__name__}: {fatal}", file=sys.stderr)
        return FAILED
    if stop.signal is not None:
        print(f"interrupted: every result above is on disk; resume with:\n  {_resume_command(args)}", file=sys.stderr)
        return _INTERRUPTED[stop.signal]
    return FAILED if tally.api_errors + tally.budget_refused else OK


async def _mint(
    args: argparse.Namespace,
    create_many: Callable[..., BatchStream[Any]],
    spool: Spool,
    stop: _Stop,
    out: TextIO,
    tally: _Tally,
) -> SignalWireError | None:
    lines: collections.deque[int] = collections.deque()
    with Progress(spool.rows, "minting") as progress:
        stream = create_many(
            stop.rows(spool, lines),
            concurrency=args.concurrency,
            max_rate=args.max_rate,
            progress=progress.update,
            ordered=True,
        )
        try:
            async with stream:
                async for item in stream:
                    line = lines.popleft()
                    if not item.ok and _fatal(item.error, tally.minted):
                        return item.error
                    out.write(_result_line(line, item))
                    out.flush()  # a result on disk before it is counted: an interruption loses no written row
                    tally.count(item)
        finally:
            tally.throttled = stream.flow.throttled
    return None
