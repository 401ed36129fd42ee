"""Reading a batch file: JSON Lines or CSV rows of member_id, channels, ttl and state, one chat token per row.

Every row is checked before anything is minted, so a bad row stops the command (exit 2) with its line and field,
instead of failing halfway through a batch.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import InvalidRequestError
from .._models import ChatTokenRequest

__all__ = ["InputError", "parse_channel", "read_requests"]

FIELDS = ("member_id", "channels", "ttl", "state")


class InputError(Exception):
    """A row of the input that is not a valid chat token request; says where and what."""

    def __init__(self, path: Path, line: int, field: str | None, problem: str) -> None:
        where = f"{path}:{line}" + (f": field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")


def _channels_from_text(text: str) -> dict[str, dict[str, bool]]:
    """CSV channels: a JSON object, or ``name:rw;other:r;third`` (r = read, w = write; a bare name reads)."""
    text = text.strip()
    if text.startswith(("{", "[")):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("channels must be a JSON object")
        return value
    return dict(map(parse_channel, filter(None, (p.strip() for p in text.split(";")))))


def parse_channel(text: str) -> tuple[str, dict[str, bool]]:
    """One channel spec, ``name``, ``name:r``, ``name:w`` or ``name:rw`` (a bare name reads)."""
    name, sep, flags = text.rpartition(":")
    if not sep:
        name, flags = text, "r"
    if not name or not flags or set(flags) - {"r", "w"}:
        raise ValueError(f"{text!r} is not name, name:r, name:w or name:rw")
    return name, {"read": "r" in flags, "write": "w" in flags}


def _from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in FIELDS:
        value = (row.get(name) or "").strip()
        if not value:
            continue
        try:
            if name == "ttl":
                fields[name] = int(value)
            elif name == "channels":
                fields[name] = _channels_from_text(value)
            elif name == "state":
                fields[name] = json.loads(value)
            else:
                fields[name] = value
        except ValueError as error:
            raise _FieldError(name, str(error)) from None
    return fields


class _FieldError(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            missing = {"channels", "ttl"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(path, 1, None, f"the CSV header needs the columns {', '.join(sorted(missing))}")
            for row in reader:
                if None in row:
                    raise InputError(path, reader.line_num, None, "more values than header columns")
                try:
                    yield reader.line_num, _from_csv_row(row)
                except _FieldError as error:
                    raise InputError(path, reader.line_num, error.field, str(error)) from None
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as error:
                raise InputError(path, number, None, f"not valid JSON ({error})") from None
            if not isinstance(data, dict):
                raise InputError(path, number, None, "each line must be a JSON object")
            yield number, data


def _request(path: Path, line: int, data: dict[str, Any]) -> ChatTokenRequest:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InputError(path, line, unknown[0], f"unknown field (expected {', '.join(FIELDS)})")
    for required in ("channels", "ttl"):
        if required not in data:
            raise InputError(path, line, required, "missing")
    try:
        return ChatTokenRequest(**data)
    except InvalidRequestError as error:
        # The row's fields are ChatTokenRequest's arguments, so the error's field is the row's field.
        raise InputError(path, line, error.field, error.message) from None


def input_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_requests(path: Path, fmt: str | None = None) -> Iterator[tuple[int, ChatTokenRequest]]:
    """(line number, request) for each row, lazily; raises InputError at the first bad row."""
    chosen = input_format(path, fmt)
    for line, data in _rows(path, chosen):
        yield line, _request(path, line, data)
