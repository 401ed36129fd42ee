"""``chat-token batch`` as a data tool: the real entry point in a subprocess (pipes, signals, resume), and in process
where a test needs the testing mode's fast retries, against a fake space on its own thread."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signalwire_tokens import __version__
from signalwire_tokens.cli import main
from signalwire_tokens.testing import fast_retries

from .cli_support import COMMAND, FAMILY_ROWS, batch, environment, results, rows
from .support import ThreadedFake

# -- streams --------------------------------------------------------------------------------------------------------


def test_a_pipe_is_read_once_and_every_row_is_written_with_a_true_summary(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "tokens.jsonl"
    done = batch(space, "--input", "-", "--output", str(out), stdin=rows(50))
    assert done.returncode == 0, done.stderr
    assert [r["member_id"] for r in results(out)] == [f"m{i}" for i in range(50)]
    assert "50 of 50 chat tokens minted, 0 failed" in done.stderr
    assert space.fake.chat_tokens_minted == 50


def test_a_named_pipe_like_process_substitution_works(space: ThreadedFake, tmp_path: Path) -> None:
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(rows(20)))
    writer.start()
    done = batch(space, "--input", str(fifo), "--output", str(tmp_path / "out.jsonl"))
    writer.join(10)
    assert done.returncode == 0, done.stderr
    assert len(results(tmp_path / "out.jsonl")) == 20


def test_dash_writes_the_results_to_stdout_and_the_summary_to_stderr(space: ThreadedFake) -> None:
    done = batch(space, "--input", "-", "--output", "-", stdin=rows(3))
    assert done.returncode == 0
    assert [json.loads(line)["line"] for line in done.stdout.splitlines()] == [1, 2, 3]
    assert "3 of 3 chat tokens minted" in done.stderr


@pytest.mark.parametrize("through_stdin", [False, True])
def test_the_same_file_as_input_and_output_is_refused_and_left_intact(
    space: ThreadedFake, tmp_path: Path, through_stdin: bool
) -> None:
    same = tmp_path / "same.jsonl"
    same.write_text(rows(5))
    if through_stdin:
        with same.open() as stdin:
            done = subprocess.run(
                [*COMMAND, "chat-token", "batch", "--input", "-", "--output", str(same)],
                stdin=stdin,
                capture_output=True,
                text=True,
                env=environment(space),
                timeout=60,
            )
    else:
        done = batch(space, "--input", str(same), "--output", str(same))
    assert done.returncode == 2
    assert "same file" in done.stderr
    assert same.read_text() == rows(5)
    assert space.fake.requests == []


def test_the_output_is_readable_by_its_owner_only(space: ThreadedFake, tmp_path: Path) -> None:
    fresh, existing = tmp_path / "fresh.jsonl", tmp_path / "existing.jsonl"
    existing.write_text("")
    existing.chmod(0o644)
    for out in (fresh, existing):
        assert batch(space, "--input", "-", "--output", str(out), stdin=rows(1)).returncode == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


# -- checking every row first ---------------------------------------------------------------------------------------


def test_every_invalid_row_is_listed_before_anything_is_minted(space: ThreadedFake, tmp_path: Path) -> None:
    bad = "".join(
        json.dumps({"member_id": f"b{i}", "channels": {"c": {"read": True}}, "ttl": 0}) + "\n" for i in range(25)
    )
    source = tmp_path / "members.jsonl"
    source.write_text(rows(5) + bad + "{nope\n")
    done = batch(space, "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert done.returncode == 2
    listed = [line for line in done.stderr.splitlines() if f"{source}:" in line]
    assert len(listed) == 20
    assert (
        listed[0]
        == f"signalwire-tokens: {source}:6: field 'ttl': ttl must be an int number of minutes in 1..43200, got 0"
    )
    assert listed[1].startswith(f"{source}:7: field 'ttl'")
    assert "... and 6 more invalid rows" in done.stderr and "26 invalid rows: nothing was minted" in done.stderr
    assert space.fake.requests == []
    assert not (tmp_path / "out.jsonl").exists(), "nothing is touched"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("member_id,channels,ttl,colour\na,lobby,5,red\n", ": header: column 'colour': unknown column"),
        ('member_id,channels,ttl\na,lobby,5\nb,"lobby,5\nc,lobby,5\n', ":3: not valid CSV (unclosed quote"),
        ("member_id,channels,ttl\na,lobby,sixty\n", ":2: field 'ttl': ttl must be an int number of minutes"),
    ],
)
def test_csv_follows_the_same_rules_and_says_where(
    space: ThreadedFake, tmp_path: Path, text: str, message: str
) -> None:
    source = tmp_path / "members.csv"
    source.write_text(text)
    done = batch(space, "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2
    assert f"{source}{message}" in done.stderr, done.stderr


def test_ttl_and_channels_can_come_from_the_command_line(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "members.csv"
    source.write_text("member_id\nada\nbob\n")
    out = tmp_path / "out.jsonl"
    done = batch(space, "--input", str(source), "--output", str(out), "--ttl", "30", "--channel", "lobby:rw")
    assert done.returncode == 0, done.stderr
    claims = [space.fake.decode_chat_token(r["token"]) for r in results(out)]
    assert [c["member_id"] for c in claims] == ["ada", "bob"]
    assert all(c["ch"] == {"lobby": {"read": True, "write": True}} and c["exp"] - c["iat"] == 1800 for c in claims)


def test_input_that_is_not_text_is_a_usage_error(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\xff\xfe not text\n")
    done = batch(space, "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "not UTF-8 text" in done.stderr, done.stderr
    assert space.fake.requests == []


def test_a_whole_float_ttl_is_a_whole_number_of_minutes(space: ThreadedFake) -> None:
    done = batch(space, "--input", "-", "--output", "-", stdin=rows(1, ttl=60.0))
    assert done.returncode == 0, done.stderr


def test_rate_limited_rows_are_waited_out_and_the_summary_counts_the_waits(space: ThreadedFake, tmp_path: Path) -> None:
    # A Retry-After of 0 is waited out with the backoff of the row's consecutive 429s: a few, or the test waits long.
    space.call(space.fake.fail, 429, headers={"Retry-After": "0"}, times=3)
    out = tmp_path / "tokens.jsonl"
    done = batch(space, "--input", "-", "--output", str(out), "--concurrency", "2", stdin=rows(5))
    assert done.returncode == 0, done.stderr
    assert [r["member_id"] for r in results(out)] == [f"m{i}" for i in range(5)]
    assert "5 of 5 chat tokens minted, 0 failed, 3 rate limit waits (429)" in done.stderr
    assert space.fake.chat_tokens_minted == 5


# -- stopping -------------------------------------------------------------------------------------------------------


def test_a_refused_api_token_stops_the_batch_at_once(space: ThreadedFake, tmp_path: Path) -> None:
    done = batch(
        space,
        "--input",
        "-",
        "--output",
        str(tmp_path / "o.jsonl"),
        "--concurrency",
        "8",
        stdin=rows(2000),
        api_token="PT" + "0" * 48,
    )
    assert done.returncode == 1
    assert "stopped: AuthenticationError" in done.stderr
    # The 8 rows in flight, and at most one more per worker started before the first 401 reached the writer (the
    # batch pulls up to 2 * concurrency rows ahead): not the 2,000 rows.
    assert len(space.fake.requests) <= 2 * 8
    assert results(tmp_path / "o.jsonl") == []


def test_an_unreachable_api_stops_the_batch_before_any_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", "ea14556a-984f-11ee-b9d1-0242ac120002")
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", "PTx")
    monkeypatch.setenv("SIGNALWIRE_BASE_URL", f"http://127.0.0.1:{port}")
    source = tmp_path / "in.jsonl"
    source.write_text(rows(100))
    with fast_retries():
        code = main(["chat-token", "batch", "--input", str(source), "--output", str(tmp_path / "o.jsonl")])
    assert code == 1
    assert "stopped: ConnectError" in capsys.readouterr().err


def test_sigint_finishes_what_is_in_flight_and_resume_mints_every_row_exactly_once(tmp_path: Path) -> None:
    space = ThreadedFake(latency=0.05)
    try:
        source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
        source.write_text(rows(200))
        options = ["--input", str(source), "--output", str(out), "--concurrency", "4"]
        process = subprocess.Popen(
            [*COMMAND, "chat-token", "batch", *options], stderr=subprocess.PIPE, text=True, env=environment(space)
        )
        space.wait_for_requests(20)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert "resume with:" in stderr and "--resume" in stderr
        first = results(out)
        assert 20 <= len(first) < 200
        assert space.fake.chat_tokens_minted == len(first), "every request sent has its result on disk"

        resumed = batch(space, *options, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert f"{len(first)} skipped" in resumed.stderr.replace(",", "")
        assert "stopped cleanly: every row it may have minted has its result there" in resumed.stderr
        lines = [r["line"] for r in results(out)]
        assert sorted(lines) == list(range(1, 201)), "every row exactly once"
        assert space.fake.chat_tokens_minted == 200, "no row minted twice"
    finally:
        space.close()


def test_the_resume_command_repeats_every_option_given_but_never_the_api_token(tmp_path: Path) -> None:
    from signalwire_tokens.cli._parser import build_parser

    space = ThreadedFake(latency=0.05)
    try:
        source, out = tmp_path / "members.csv", tmp_path / "my tokens.jsonl"  # a space, quoted for the shell
        source.write_text("member_id\n" + "".join(f"m{i}\n" for i in range(200)))
        argv = ["chat-token", "batch", "--input", str(source), "--output", str(out), "--format", "csv"]
        argv += ["--ttl", "30", "--channel", "lobby:rw", "--concurrency", "4", "--max-rate", "500", "--no-ordered"]
        argv += ["--space", "example", "--base-url", space.fake.url, "--project-id", space.fake.project_id]
        argv += ["--api-token", space.fake.api_token]
        bare = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALWIRE_")}  # options only
        process = subprocess.Popen([*COMMAND, *argv], stderr=subprocess.PIPE, text=True, env=bare)
        space.wait_for_requests(20)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert space.fake.api_token not in stderr, "a secret is never printed"
        command, note = stderr.split("resume with:\n  ")[1].splitlines()[:2]
        words = shlex.split(command)
        assert words[0] == "signalwire-tokens"
        parser = build_parser()
        given = vars(parser.parse_args(argv))
        assert vars(parser.parse_args(words[1:])) == {**given, "api_token": None, "resume": True}
        assert "--api-token" in note and "SIGNALWIRE_API_TOKEN" in note

        resumed = subprocess.run(
            [*COMMAND, *words[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            env={**bare, "SIGNALWIRE_API_TOKEN": space.fake.api_token},
        )
        assert resumed.returncode == 0, resumed.stderr
        assert sorted(r["line"] for r in results(out)) == list(range(2, 202))
        assert space.fake.chat_tokens_minted == 200
    finally:
        space.close()


def test_resume_redoes_a_torn_last_line(space: ThreadedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
    source.write_text(rows(3))
    assert batch(space, "--input", str(source), "--output", str(out)).returncode == 0
    whole = out.read_text().splitlines(keepends=True)
    out.write_text("".join(whole[:2]) + whole[2][:25])  # a kill -9 in the middle of the last write
    done = batch(space, "--input", str(source), "--output", str(out), "--resume")
    assert done.returncode == 0, done.stderr
    assert [r["line"] for r in results(out)] == [1, 2, 3]
    assert space.fake.chat_tokens_minted == 4


def test_resume_refuses_a_file_that_is_not_a_batch_output(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("dear diary\nmore\n")
    done = batch(space, "--input", "-", "--output", str(out), "--resume", stdin=rows(1))
    assert done.returncode == 2 and "not a result line" in done.stderr
    assert out.read_text() == "dear diary\nmore\n"


def test_resume_needs_an_output_file(space: ThreadedFake) -> None:
    done = batch(space, "--input", "-", "--output", "-", "--resume", stdin=rows(1))
    assert done.returncode == 2 and "--resume needs an --output file" in done.stderr


# -- running again over an output -----------------------------------------------------------------------------------

#: A time long past: a file that is written to again leaves it.
LONG_AGO_NS = 1_600_000_000 * 10**9


def snapshot(path: Path) -> tuple[bytes, int, int]:
    """What a file holds, when it was last written, and its mode: all three stay when nothing touches it."""
    info = path.stat()
    return path.read_bytes(), info.st_mtime_ns, stat.S_IMODE(info.st_mode)


@pytest.mark.parametrize("command", sorted(FAMILY_ROWS))
def test_a_rerun_over_an_output_holding_results_is_refused_and_touches_nothing(
    space: ThreadedFake, tmp_path: Path, command: str
) -> None:
    source, out = tmp_path / "rows.jsonl", tmp_path / "tokens.jsonl"
    source.write_text(FAMILY_ROWS[command])
    first = batch(space, "--input", str(source), "--output", str(out), command=command)
    assert first.returncode == 0, first.stderr
    os.utime(out, ns=(LONG_AGO_NS, LONG_AGO_NS))
    before, sent = snapshot(out), len(space.fake.requests)

    again = batch(space, "--input", str(source), "--output", str(out), command=command)
    assert again.returncode == 2
    assert f"{out} is not empty" in again.stderr and "--resume" in again.stderr and "--overwrite" in again.stderr
    assert snapshot(out) == before, "the tokens minted stay, the file untouched"
    assert len(space.fake.requests) == sent, "nothing minted again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl", "tokens.jsonl"], "no run record beside it"


def test_any_file_that_is_not_empty_is_refused_not_only_a_batch_output(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("dear diary\n")
    done = batch(space, "--input", "-", "--output", str(out), stdin=rows(2))
    assert done.returncode == 2 and "--overwrite" in done.stderr
    assert out.read_text() == "dear diary\n"
    assert space.fake.requests == []


def test_the_run_record_of_an_interrupted_run_is_refused_too_even_beside_an_empty_output(
    space: ThreadedFake, tmp_path: Path
) -> None:
    source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
    source.write_text(rows(20))
    options = ["--input", str(source), "--output", str(out)]
    stopped = batch(space, *options, api_token="PT" + "0" * 48)  # stopped by the 401: its run record stays
    assert stopped.returncode == 1 and out.read_bytes() == b""
    record = Path(f"{out}.run")
    before, sent = snapshot(record), len(space.fake.requests)

    again = batch(space, *options)
    assert again.returncode == 2
    assert f"{record} records a run of {out} that did not finish (interrupted" in again.stderr, again.stderr
    assert "--resume" in again.stderr and "--overwrite" in again.stderr
    assert snapshot(record) == before and out.read_bytes() == b""
    assert len(space.fake.requests) == sent

    replaced = batch(space, *options, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert [r["line"] for r in results(out)] == list(range(1, 21))
    assert not record.exists(), "a finished run leaves no record"


@pytest.mark.parametrize("output", ["empty", "-", "/dev/null"])
def test_an_empty_file_stdout_or_a_device_is_written_without_asking(
    space: ThreadedFake, tmp_path: Path, output: str
) -> None:
    # An empty file holds no results to lose: the shell's `> tokens.jsonl` or mktemp made it for this run.
    if output == "empty":
        output = str(tmp_path / "tokens.jsonl")
        Path(output).write_text("")
    for _ in range(2):
        done = batch(space, "--input", "-", "--output", output, stdin=rows(2))
        assert done.returncode == 0, done.stderr
        if output.endswith(".jsonl"):
            Path(output).write_text("")
    assert space.fake.chat_tokens_minted == 4


def test_overwrite_replaces_the_results_and_mints_every_row_again(space: ThreadedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
    source.write_text(rows(3))
    assert batch(space, "--input", str(source), "--output", str(out)).returncode == 0
    first = results(out)
    out.chmod(0o644)
    done = batch(space, "--input", str(source), "--output", str(out), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert [r["line"] for r in results(out)] == [1, 2, 3]
    assert {r["token"] for r in results(out)}.isdisjoint(r["token"] for r in first), "new tokens, as asked"
    assert space.fake.chat_tokens_minted == 6
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "a file holding tokens stays its owner's only"


def test_resume_and_overwrite_together_are_a_usage_error(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "tokens.jsonl"
    out.write_text('{"line": 1, "token": "t", "member_id": "m0", "expires_at": "x"}\n')
    done = batch(space, "--input", "-", "--output", str(out), "--resume", "--overwrite", stdin=rows(2))
    assert done.returncode == 2
    assert "--overwrite: not allowed with argument --resume" in done.stderr
    assert out.read_text().startswith('{"line": 1, "token": "t"') and space.fake.requests == []


# -- the rest of the command line -----------------------------------------------------------------------------------


def test_version() -> None:
    done = subprocess.run([*COMMAND, "--version"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"signalwire-tokens {__version__}"


def test_every_option_has_help() -> None:
    from signalwire_tokens.cli._parser import build_parser

    def walk(parser: Any) -> Iterator[Any]:
        for action in parser._actions:
            if action.choices and isinstance(action.choices, dict):
                for sub in action.choices.values():
                    yield from walk(sub)
            else:
                yield action

    undocumented = [a.option_strings or a.dest for a in walk(build_parser()) if not a.help]
    assert undocumented == []
