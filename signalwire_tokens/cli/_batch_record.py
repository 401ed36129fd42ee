"""The run record beside a batch output (``tokens.jsonl.run``): what ``--resume`` needs to know about the run that
wrote the output and that the output itself cannot say without breaking its one JSON line per row.

A row whose request was sent but whose result line was never written may have been minted: after ``--resume``
that row is minted again. A clean stop (the first Ctrl-C or SIGTERM) lets every request in flight finish and be
written, so there are none. A second Ctrl-C, a fatal error or a ``kill -9`` leaves some: the record says how many.
It is written when minting starts, saying only the bound (the rows the run may hold sent and unwritten at once),
and rewritten when the run ends, with the exact count of rows it sent and did not write. A ``kill -9`` leaves the
first version, so the resume can give the bound. When a run ends with every row written, there is nothing to
resume, and the record is removed. It holds no secret (no token, no credential).
"""

from __future__ import annotations

import contextlib
import json
import os

import attrs

__all__ = ["RunRecord", "has_record", "read_record", "record_path", "remove_record", "resume_notice", "write_record"]


def record_path(output: str) -> str:
    return output + ".run"


@attrs.frozen
class RunRecord:
    #: The most rows the run could have sent without having written their results, at any moment.
    bound: int
    #: Rows the run sent and did not write, counted when it ended; None: it did not end (killed).
    unwritten: int | None = None


def write_record(output: str, record: RunRecord) -> None:
    """Replace the record in one step: a kill while writing it leaves the old one, never half of one."""
    path = record_path(output)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump({"bound": record.bound, "unwritten": record.unwritten}, handle)
    os.replace(temporary, path)


def remove_record(output: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(record_path(output))


def has_record(output: str) -> bool:
    """Whether a run that did not finish left its record beside ``output`` (a finished run removes it)."""
    return os.path.lexists(record_path(output))


def read_record(output: str) -> RunRecord | None:
    """The record of the run that wrote ``output``; None when there is none that can be read."""
    try:
        with open(record_path(output), encoding="utf-8") as handle:
            data = json.load(handle)
        record = RunRecord(int(data["bound"]), None if data["unwritten"] is None else int(data["unwritten"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record if record.bound >= 0 and (record.unwritten or 0) >= 0 else None


def resume_notice(output: str, record: RunRecord | None) -> str:
    """What ``--resume`` says about the rows the earlier run may have minted without writing them."""
    redo = "they are minted again now (each such row then has two valid tokens; the older one is not in the output)"
    if record is None:
        return (
            f"{output} has no run record ({record_path(output)}): if the run that wrote it was killed (a second"
            " Ctrl-C or kill -9), the rows it had pulled ahead may have been minted without their results being"
            f" written (up to 2 x its --concurrency, and 4,096 more with --ordered); {redo}"
        )
    if record.unwritten is None:
        return (
            f"the run that wrote {output} was killed (kill -9 or a crash): at most {record.bound:,} rows may have been"
            f" minted without their results being written (the rows it could hold pulled ahead: in flight, or"
            f" finished and not yet written); {redo}"
        )
    if record.unwritten:
        rows = "1 row" if record.unwritten == 1 else f"{record.unwritten:,} rows"
        return (
            f"the run that wrote {output} was aborted: at most {rows} may have been minted without their results"
            f" being written; {redo}"
        )
    return f"the run that wrote {output} stopped cleanly: every row it may have minted has its result there"
