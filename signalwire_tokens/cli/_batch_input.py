"""Reading a batch file once, as a stream: JSON Lines or CSV rows of a token family's fields (member_id, channels,
ttl and state for chat and PubSub tokens; room_name, user_name, ... for room tokens).

JSON Lines and CSV follow the same rules: the same fields, an unknown field or column is an error, a row may
leave out a field the command gives a default for (``--ttl``, ``--channel``, ``--room-name``), and a bad row is
reported with its file, the line it starts on, and its field. A bad CSV header (an unknown or repeated column) is
reported as the header's error, and the rows under it are still checked, by the columns that are known, so that
every error shows at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

import attrs

from .._errors import InvalidRequestError
from ._batch_family import BatchFamily, MissingField

__all__ = ["HeaderError", "InputError", "RowReader"]


@attrs.frozen
class InputError:
    """A row that is not a valid request of its family: where it is and what is wrong."""

    source: str
    line: int
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" + (f": field {self.field!r}" if self.field else "")
        return f"{where}: {self.problem}"


@attrs.frozen
class HeaderError:
    """A CSV header whose columns are not the batch's: which ones, and why."""

    source: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: header: {self.problem}"


def _header_problem(header: list[str], fields: tuple[str, ...]) -> str | None:
    unknown = [name for name in header if name not in fields]
    repeated = sorted({name for name in header if name in fields and header.count(name) > 1})
    problems = []
    if unknown:
        names = ", ".join(map(repr, unknown))
        problems.append(
            f"{'column' if len(unknown) == 1 else 'columns'} {names}: unknown column (the columns are"
            f" {', '.join(fields)})"
        )
    if repeated:
        problems.append(f"column {', '.join(map(repr, repeated))}: given more than once")
    return "; ".join(problems) or None


class _Bad(Exception):
    """One field of a row that cannot be read."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _csv_fields(row: Mapping[str, str], family: BatchFamily) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, cell in row.items():
        text = cell.strip()
        if not text:
            continue  # an empty cell is a field left out
        try:
            fields[name] = family.csv_value(name, text)
        except ValueError as error:
            raise _Bad(name, str(error)) from None
    return fields


class _Lines:
    """The input's lines, numbered, remembering where the current CSV record started (a quoted cell may span
    lines, and an error belongs to the line the record starts on)."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.number = 0
        self.record_start: int | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.number += 1
        if self.record_start is None:
            self.record_start = self.number
        return line


class RowReader:
    """Reads a batch input once, top to bottom: ``(line, request)`` for each valid row and ``(line, error)`` for
    each invalid one, so that every bad row can be reported before anything is minted."""

    def __init__(self, handle: TextIO, source: str, fmt: str, defaults: Mapping[str, Any], family: BatchFamily) -> None:
        self._handle = handle
        self._family = family
        self._source = source
        self._format = fmt
        self._defaults = dict(defaults)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        """``(line, request)``, ``(line, InputError)`` or ``(line, HeaderError)``, top to bottom."""
        rows = self._csv_rows() if self._format == "csv" else self._jsonl_rows()
        for line, fields in rows:
            yield line, fields if isinstance(fields, (InputError, HeaderError)) else self._request(line, fields)

    def _error(self, line: int, field: str | None, problem: str) -> InputError:
        return InputError(self._source, line, field, problem)

    def _jsonl_rows(self) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
        for number, text in enumerate(self._handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except ValueError as error:
                yield number, self._error(number, None, f"not valid JSON ({error})")
                continue
            yield (
                number,
                data if isinstance(data, dict) else self._error(number, None, "each line must be a JSON object"),
            )

    def _csv_rows(self) -> Iterator[tuple[int, dict[str, Any] | InputError | HeaderError]]:
        lines = _Lines(self._handle)
        reader = csv.reader(lines, strict=True)  # malformed CSV is an error, not a guess
        header: list[str] | None = None
        while True:
            lines.record_start = None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                start = lines.record_start or lines.number
                problem = str(error)
                if problem == "unexpected end of data":  # an unclosed quote: the record ran to the end of the file
                    problem = "unclosed quote: this record runs to the end of the file"
                yield start, self._error(start, None, f"not valid CSV ({problem})")
                return
            start = lines.record_start or lines.number
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                header_problem = _header_problem(header, self._family.fields)
                if header_problem:
                    yield start, HeaderError(self._source, header_problem)
                continue
            if len(cells) > len(header):
                yield start, self._error(start, None, "more values than header columns")
                continue
            # Short rows leave fields out; the cells of a bad header's unknown columns are its error, not the row's.
            fields = self._family.fields
            known = {name: cell for name, cell in zip(header, cells, strict=False) if name in fields}
            try:
                yield start, _csv_fields(known, self._family)
            except _Bad as bad:
                yield start, self._error(start, bad.field, str(bad))

    def _request(self, line: int, fields: dict[str, Any]) -> Any:
        known = self._family.fields
        unknown = sorted(set(fields) - set(known))
        if unknown:
            return self._error(line, unknown[0], f"unknown field (the fields are {', '.join(known)})")
        try:
            return self._family.request({**self._defaults, **fields})
        except MissingField as missing:
            problem = f"missing (give it in every row, or {missing.option} for all of them)"
            return self._error(line, missing.field, problem)
        except InvalidRequestError as error:
            # The row's fields are the request's arguments, so the error's field is the row's field.
            return self._error(line, error.field, error.message)
