"""The files of a batch: the input (a path or ``-``, read once), a spool of its valid rows, and the output (a path
or ``-``), created readable by its owner only and scanned on ``--resume`` for the rows it already holds."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any, TextIO

from ._batch_family import BatchFamily
from ._credentials import UsageError

__all__ = [
    "STDIO",
    "LineSet",
    "Spool",
    "is_empty",
    "is_file_output",
    "open_input",
    "open_output",
    "same_file",
    "scan_output",
]

STDIO = "-"


def open_input(spec: str) -> tuple[TextIO, str]:
    """The input, and the name its errors use. ``newline=""``: the csv module reads line ends itself."""
    if spec == STDIO:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline=""), "<stdin>"
    return open(spec, encoding="utf-8", newline=""), spec


def _identity(spec: str) -> tuple[int, int] | None:
    try:
        info = os.fstat(sys.stdin.fileno()) if spec == STDIO else os.stat(spec)
    except (OSError, ValueError):  # no such file yet, or no stdin
        return None
    return info.st_dev, info.st_ino


def is_file_output(spec: str) -> bool:
    """Whether the output is (or will be created as) a regular file: not ``-``, a pipe, ``/dev/stdout`` or a
    process substitution, where nothing can be resumed and nothing should be written beside it."""
    if spec == STDIO:
        return False
    try:
        return stat.S_ISREG(os.stat(spec).st_mode)
    except FileNotFoundError:
        return True


def is_empty(spec: str) -> bool:
    """Whether the output file is absent or holds nothing: an empty one is what ``> tokens.jsonl`` or ``mktemp``
    makes for the run about to start, so no result of an earlier run can be lost by writing it."""
    try:
        return os.stat(spec).st_size == 0
    except FileNotFoundError:
        return True


def same_file(input_spec: str, output_spec: str) -> bool:
    """Whether writing the output would overwrite the input (``< rows.jsonl --output rows.jsonl`` included)."""
    if output_spec == STDIO:
        return False
    output = _identity(output_spec)
    return output is not None and output == _identity(input_spec)


class LineSet:
    """A set of line numbers as a bitmap: a million lines take 125 KB, not the 40 MB of a set of ints."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self.count = 0

    def add(self, line: int) -> None:
        byte, bit = divmod(line, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        if not self._bits[byte] >> bit & 1:
            self._bits[byte] |= 1 << bit
            self.count += 1

    def __contains__(self, line: int) -> bool:
        byte, bit = divmod(line, 8)
        return byte < len(self._bits) and bool(self._bits[byte] >> bit & 1)


#: How every result line starts (``json.dumps`` keeps the key order it is given, and "line" comes first).
_RESULT_START = re.compile(rb'\{"line": [1-9]')


def scan_output(path: str) -> tuple[LineSet, int] | None:
    """The input lines an earlier run's output holds results for, and how many bytes of it are whole result lines;
    None when there is no such file.

    Every line must be a result line (``{"line": N, "token": ...}`` or ``{"line": N, ..., "error": ...}``) ending in
    a newline, except that the last one may lack its newline: a kill in the middle of a write tears only the line
    being written. That torn line is left out (the caller truncates it away) and its row is done again. A torn line
    alone is taken for a torn first result only if it starts as every result line does (``{"line": 3``): anything
    else might be a file that is not a batch output. An empty file is an output whose run wrote nothing yet. Any
    other line means the file is not a batch output: :class:`UsageError`, and nothing is touched.
    """
    done, whole = LineSet(), 0
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):  # only the last line can lack one
                if whole or _RESULT_START.match(raw):
                    break
                raise UsageError(_not_an_output(path, number, "an unfinished line, and no result line before it"))
            line = _result_line(raw)
            if line is None:
                raise UsageError(_not_an_output(path, number, RESULT_SHAPE))
            done.add(line)
            whole += len(raw)
    return done, whole


#: What a result line looks like, for the message about a line that is not one.
RESULT_SHAPE = 'not JSON like {"line": N, "token": ...} or {"line": N, "error": ...}'


def _not_an_output(path: str, number: int, why: str) -> str:
    return (
        f"{path}:{number} is not a result line of a batch ({why}): {path} is not a batch output, so --resume will"
        " not append to it; nothing was touched (give another --output, or leave out --resume to replace it)"
    )


def _result_line(raw: bytes) -> int | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or ("token" not in data and "error" not in data):
        return None
    line = data.get("line")
    return line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None


def open_output(spec: str, *, resume_at: int | None) -> TextIO:
    """The output: stdout for ``-``; else a file created 0600 (it holds bearer tokens), truncated, or with
    ``resume_at`` kept up to that many bytes and appended to."""
    if spec == STDIO:
        return sys.stdout
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resume_at is not None else os.O_TRUNC)
    fd = os.open(spec, flags, 0o600)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)  # a file that existed keeps no wider mode once it holds tokens
            if resume_at is not None:
                os.ftruncate(fd, resume_at)
        return open(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


class Spool:
    """The valid rows of the input in a compact form, in a temporary file (0600, removed when closed): the input is
    read once, pipes included, and memory stays flat for any number of rows. A family's secret fields (a
    subscriber's password) stay in memory, by line, and never reach the file: secrets are written nowhere but the
    requested output."""

    def __init__(self, family: BatchFamily) -> None:
        self._family = family
        # Kept open across both passes (closed by close()), so not a with block.
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._secrets: dict[int, dict[str, Any]] = {}
        self.rows = 0

    def add(self, line: int, request: Any) -> None:
        fields = self._family.spooled(request)
        secrets = {name: fields.pop(name) for name in self._family.secret_fields if name in fields}
        if secrets:
            self._secrets[line] = secrets
        self._file.write(json.dumps([line, fields], separators=(",", ":")) + "\n")
        self.rows += 1

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        self._file.seek(0)
        for text in self._file:
            line, fields = json.loads(text)
            yield line, self._family.unspooled({**fields, **self._secrets.get(line, {})})

    def close(self) -> None:
        self._file.close()
