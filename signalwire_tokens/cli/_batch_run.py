"""``chat-token batch``, ``pubsub-token batch`` and ``room-token batch``: check the options and every row, then
mint, writing one result line per row, in input order (the default) or as each row is done (``--no-ordered``). What
differs between the families (their fields, requests and result lines) is their :class:`BatchFamily`'s.

Nothing is reported that was not written: the progress line and the summary count result lines. A 401 or 403 (or
an API that cannot be reached before any row was minted) stops the batch at once. The first Ctrl-C or SIGTERM stops
taking new rows and lets the requests in flight finish and be written, so ``--resume`` mints no row twice; a second
one aborts, and the run record (:mod:`._batch_record`) says how many rows may have been minted unwritten.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from .._batch import BatchProgress, BatchStream, look_ahead
from .._batch_item import BatchItem
from .._errors import (
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
    SignalWireError,
    TransportError,
)
from ._batch_family import BatchFamily
from ._batch_files import (
    STDIO,
    LineSet,
    Spool,
    is_empty,
    is_file_output,
    open_input,
    open_output,
    same_file,
    scan_output,
)
from ._batch_input import HeaderError, InputError, RowReader
from ._batch_record import RunRecord, has_record, read_record, record_path, remove_record, resume_notice, write_record
from ._batch_summary import Tally, plural, resume_command
from ._credentials import UsageError, make_client
from ._families import FAMILIES
from ._progress import Progress

__all__ = ["FAILED", "OK", "USAGE", "error_json", "run_batch"]

OK, FAILED, USAGE = 0, 1, 2
SHOWN_ERRORS = 20
_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it


def error_json(error: SignalWireError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, ApiError):
        data.update(status=error.status, code=error.code, attribute=error.attribute)
    return data


def _result_line(family: BatchFamily, line: int, item: BatchItem) -> str:
    if item.ok:
        return json.dumps({"line": line, **family.token_json(item.token)}) + "\n"
    return json.dumps({"line": line, **family.row_json(item.request), "error": error_json(item.error)}) + "\n"


def _read(args: argparse.Namespace, done: LineSet) -> tuple[Spool, int]:
    """Every row checked, the valid ones not already done spooled; :class:`UsageError` listing the bad ones."""
    handle, source = open_input(args.input)
    fmt = args.format or ("csv" if source.lower().endswith(".csv") else "jsonl")
    family = FAMILIES[args.command]
    spool, skipped, bad = Spool(family), 0, 0
    errors: list[str] = []
    header: HeaderError | None = None
    try:
        with handle:
            for line, row in RowReader(handle, source, fmt, family.defaults(args), family):
                if isinstance(row, HeaderError):
                    header = row
                elif isinstance(row, InputError):
                    bad += 1
                    if len(errors) < SHOWN_ERRORS:
                        errors.append(str(row))
                elif line in done:
                    skipped += 1
                elif not bad and header is None:  # once anything is bad nothing is minted: the rest is only checked
                    spool.add(line, row)
    except UnicodeDecodeError as error:
        spool.close()
        raise UsageError(f"{source}: not UTF-8 text ({error.reason}): nothing was minted") from None
    if bad or header is not None:
        spool.close()
        more = f"\n... and {plural(bad - len(errors), 'more invalid row')}" if bad > len(errors) else ""
        problems = [*(["a bad header"] if header is not None else []), *([plural(bad, "invalid row")] if bad else [])]
        listed = ([str(header)] if header is not None else []) + errors
        raise UsageError("\n".join(listed) + more + f"\n{' and '.join(problems)}: nothing was minted")
    return spool, skipped


def _fatal(error: SignalWireError, minted: int) -> bool:
    """An error no other row can escape: refused credentials, or an API that could not be reached at all."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return True
    return minted == 0 and isinstance(error, TransportError) and not error.request_sent


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

    def rows(self, spool: Spool, pending: dict[int, int]) -> Iterator[Any]:
        """The spooled rows, each entered in ``pending`` under the index the batch gives it (its pull order) until
        its result line is written."""
        for index, (line, request) in enumerate(spool):
            if self.signal is not None:
                return
            pending[index] = line
            yield request


def _unwritten_bound(args: argparse.Namespace) -> int:
    """The most rows the batch can hold sent and not written at once: the rows ``create_many`` pulls ahead of this
    writer (those in flight, and those finished and waiting to be taken: with ``--ordered``, its reorder window
    too). Each row it hands out is written before the next is taken."""
    return look_ahead(args.concurrency, ordered=args.ordered)


async def run_batch(args: argparse.Namespace) -> int:
    if args.resume and args.output == STDIO:
        raise UsageError("--resume needs an --output file: it reads which rows are done from it")
    if same_file(args.input, args.output):
        raise UsageError(f"--input and --output are the same file ({args.output}): it would be lost; nothing done")
    if not (args.resume or args.overwrite):
        _refuse_rerun(args.output)
    family = FAMILIES[args.command]
    family.check_defaults(args)
    client = make_client(args)
    scanned = scan_output(args.output) if args.resume else None
    done, whole = scanned or (LineSet(), 0)
    spool, skipped = _read(args, done)
    if scanned is not None and spool.rows:
        print(f"resuming: {resume_notice(args.output, read_record(args.output))}", file=sys.stderr)
    tally = Tally(skipped=skipped)
    task = asyncio.current_task()
    assert task is not None
    stop, fatal, pending, finished, aborted = _Stop(task), None, dict[int, int](), False, False
    recorded = is_file_output(args.output)
    try:
        if recorded:  # before the output is touched: a record that cannot be written stops the run there
            write_record(args.output, RunRecord(_unwritten_bound(args)))
        out = open_output(args.output, resume_at=whole if args.resume else None)
    except BaseException:
        spool.close()
        raise
    loop = asyncio.get_running_loop()
    for signum in _INTERRUPTED:
        loop.add_signal_handler(signum, stop, signum)
    try:
        async with client:
            create_many = family.create_many(client)
            fatal = await _mint(args, create_many, stop.rows(spool, pending), pending, out, tally, spool.rows)
        finished = fatal is None and stop.signal is None
    except asyncio.CancelledError:
        aborted = True  # the second signal: what was written stays written
    finally:
        for signum in _INTERRUPTED:
            loop.remove_signal_handler(signum)
        spool.close()
        if out is not sys.stdout:
            out.close()
        if recorded:
            if finished:
                remove_record(args.output)
            else:
                write_record(args.output, RunRecord(_unwritten_bound(args), len(pending)))
    print(tally.summary(family.noun, spool.rows + skipped, args.output), file=sys.stderr)
    if fatal is not None:
        print(f"signalwire-tokens: stopped: {type(fatal).__name__}: {fatal}", file=sys.stderr)
        return FAILED
    if stop.signal is not None:
        if aborted:
            print(_aborted(args, len(pending)), file=sys.stderr)
        else:
            print(
                f"interrupted: every result above is on disk; resume with:\n  {_resume(args)}",
                file=sys.stderr,
            )
        return _INTERRUPTED[stop.signal]
    return FAILED if tally.failed else OK


def _refuse_rerun(output: str) -> None:
    """An output an earlier run wrote to is refused, untouched: its tokens may be the only record of what was
    minted, and truncating it would mint every row again. Only a regular file can hold them (not ``-``, a pipe or
    a device), and an empty one beside no run record holds nothing to lose."""
    if not is_file_output(output):
        return
    if not is_empty(output):
        held = f"{output} is not empty (an earlier run's results?)"
    elif has_record(output):
        held = f"{record_path(output)} records a run of {output} that did not finish (interrupted, or still running)"
    else:
        return
    raise UsageError(
        f"{held}: pass --resume to mint only the rows it has no result for, or --overwrite to truncate it and mint"
        " every row again (the tokens it holds are lost); nothing was touched"
    )


def _aborted(args: argparse.Namespace, unwritten: int) -> str:
    return (
        f"aborted: at most {plural(unwritten, 'row')} may have been minted without their results being written"
        f" (--resume mints them again); resume with:\n  {_resume(args)}"
    )


def _resume(args: argparse.Namespace) -> str:
    return resume_command(args, FAMILIES[args.command].default_options(args))


async def _mint(
    args: argparse.Namespace,
    create_many: Callable[..., BatchStream[Any]],
    rows: Iterator[Any],
    pending: dict[int, int],
    out: TextIO,
    tally: Tally,
    total: int,
) -> SignalWireError | None:
    with Progress(total, "minting") as progress:
        stream = create_many(rows, concurrency=args.concurrency, max_rate=args.max_rate, ordered=args.ordered)
        try:
            async with stream:
                async for item in stream:
                    line = pending.pop(item.index)
                    if not item.ok and _fatal(item.error, tally.minted):
                        return item.error
                    out.write(_result_line(FAMILIES[args.command], line, item))
                    out.flush()  # a result on disk before it is counted: an interruption loses no written row
                    tally.count(item)
                    flow = stream.flow
                    progress.update(
                        BatchProgress(tally.written, tally.failed, flow.in_flight, int(flow.limit), flow.throttled)
                    )
        finally:
            tally.throttled = stream.flow.throttled
    return None
