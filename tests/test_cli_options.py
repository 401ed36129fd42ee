"""The command line's per-family options come from the request classes: every field of a family's request is an
option of its ``create`` command (with the field's own help) and a column its ``batch`` command lists."""

from __future__ import annotations

import re

import attrs
import pytest

from signalwire_tokens import ChatTokenRequest, RoomTokenRequest, SubscriberTokenRequest
from signalwire_tokens.cli import main

#: The fields whose option is not ``--field-name`` with the field's help: channel specs, one permission per option
#: (its help is the field's, marked repeatable), an expiry in two spellings, a password from the environment.
FAMILIES = [
    ("chat-token", ChatTokenRequest, {"channels": "--channel"}),
    ("room-token", RoomTokenRequest, {"permissions": "--permission"}),
    ("subscriber-token", SubscriberTokenRequest, {"expire_at": "--expire-at", "password": "--password-env"}),
]


def shown_help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps its lines: compare the words


@pytest.mark.parametrize(("command", "request_class", "own"), FAMILIES, ids=[family[0] for family in FAMILIES])
def test_every_field_of_the_request_is_an_option_of_create(
    capsys: pytest.CaptureFixture[str], command: str, request_class: type, own: dict[str, str]
) -> None:
    shown = shown_help(capsys, command, "create")
    for field in attrs.fields(request_class):
        option = own.get(field.name, f"--{field.name.replace('_', '-')}")
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", shown), field.name
        if field.name not in own or field.name == "permissions":
            assert field.metadata["help"] in shown, field.name


@pytest.mark.parametrize("request_class", [RoomTokenRequest, SubscriberTokenRequest])
def test_every_field_of_the_request_is_a_column_of_batch(
    capsys: pytest.CaptureFixture[str], request_class: type
) -> None:
    command = "room-token" if request_class is RoomTokenRequest else "subscriber-token"
    names = ", ".join(field.name for field in attrs.fields(request_class))
    assert f"request ({names})." in shown_help(capsys, command, "batch")


BATCH = ["chat-token", "batch", "--input", "-", "--output", "-"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["chat-token", "batch", "--input", "-", "--output", "-", "--concurrency", "x"],
            "a whole number of at least 1",
        ),
        (
            ["chat-token", "batch", "--input", "-", "--output", "-", "--concurrency", "0"],
            "a whole number of at least 1",
        ),
        (["chat-token", "batch", "--input", "-", "--output", "-", "--max-rate", "0"], "a number above 0"),
        (["fake-space", "serve", "--fail-rate", "nan"], "a share between 0 and 1"),
        (["fake-space", "serve", "--rate-limit", "many"], "is not LIMIT/SECONDS"),
    ],
)
def test_a_number_out_of_its_bounds_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2 and message in capsys.readouterr().err
