"""``chat-token batch`` under faults and mistakes (issue 24): the output order, what ``--resume`` accepts and what it
says after a hard interruption, a CSV's header, and the messages a user reads. The command line runs as a
subprocess against a fake space on its own thread."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from .cli_support import COMMAND, batch, environment, results, rows
from .support import ThreadedFake

PROGRESS = re.compile(r"^minting: ([\d,]+)/[\d,]+ done, ([\d,]+) failed", re.MULTILINE)
SUMMARY = re.compile(r"^([\d,]+) of [\d,]+ chat tokens? minted, ([\d,]+) failed", re.MULTILINE)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def help_text(*command: str) -> str:
    """A command's --help on one line per paragraph (wide, so that no option is broken at its hyphen)."""
    env = {**os.environ, "COLUMNS": "1000"}
    return subprocess.run([*COMMAND, *command, "--help"], capture_output=True, text=True, env=env).stdout


# -- the order of the results ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordered", [True, False])
def test_results_are_in_input_order_by_default_and_as_each_row_is_done_with_no_ordered(
    space: ThreadedFake, tmp_path: Path, ordered: bool
) -> None:
    space.call(space.fake.delay, 0.5, times=1)  # one slow answer among the first rows
    out = tmp_path / "tokens.jsonl"
    options = [] if ordered else ["--no-ordered"]
    done = batch(space, "--input", "-", "--output", str(out), "--concurrency", "4", *options, stdin=rows(20))
    assert done.returncode == 0, done.stderr
    lines = [r["line"] for r in results(out)]
    assert sorted(lines) == list(range(1, 21)), "every row exactly once, each line naming its input line"
    assert (lines == sorted(lines)) is ordered
    assert all(r["member_id"] == f"m{r['line'] - 1}" for r in results(out))


def test_the_batch_help_says_which_order_is_the_default() -> None:
    text = help_text("chat-token", "batch")
    assert "--ordered, --no-ordered" in text
    assert "--ordered (the default): write the results in input order" in text
    assert "--no-ordered: write each result as soon as its row is done" in text


@pytest.mark.parametrize("command", ["chat-token", "pubsub-token", "room-token", "subscriber-token"])
def test_every_batch_help_offers_overwrite_beside_resume(command: str) -> None:
    text = help_text(command, "batch")
    assert "[--resume | --overwrite]" in text
    assert re.search(r"--overwrite +replace an output file that is not empty", text)
    assert "truncate it and mint every row again; the tokens it held are lost" in text


# -- what --resume accepts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "existing",
    [
        "hello world\n",
        "hello world",
        '{"member_id": "m0"}\n',
        '{"line": 1, "token": "t", "member_id": "m0", "expires_at": "x"}\n{"note": "mine"}\n',
        '{"line": 1, "token": "t", "member_id": "m0", "expires_at": "x"}\nhello\n{"line": 2, "token": "t"}\n',
    ],
    ids=["one-line", "one-line-no-newline", "json-not-a-result", "last-line-not-a-result", "middle-line"],
)
def test_resume_refuses_any_output_that_is_not_a_batch_output_and_touches_nothing(
    space: ThreadedFake, tmp_path: Path, existing: str
) -> None:
    out = tmp_path / "junk.txt"
    out.write_text(existing)
    done = batch(space, "--input", "-", "--output", str(out), "--resume", stdin=rows(3))
    assert done.returncode == 2, done.stderr
    assert f"{out} is not a batch output, so --resume will not append to it; nothing was touched" in done.stderr
    assert out.read_text() == existing
    assert space.fake.requests == []
    assert not Path(f"{out}.run").exists()


def test_resume_takes_an_empty_output_for_a_run_that_wrote_nothing_yet(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "tokens.jsonl"
    out.write_text("")
    done = batch(space, "--input", "-", "--output", str(out), "--resume", stdin=rows(3))
    assert done.returncode == 0, done.stderr
    assert [r["line"] for r in results(out)] == [1, 2, 3]


def test_resume_takes_a_lone_torn_result_line_for_the_first_result_of_a_killed_run(
    space: ThreadedFake, tmp_path: Path
) -> None:
    out = tmp_path / "tokens.jsonl"
    out.write_text('{"line": 3, "tok')  # a kill -9 in the middle of writing the first result
    done = batch(space, "--input", "-", "--output", str(out), "--resume", stdin=rows(3))
    assert done.returncode == 0, done.stderr
    assert sorted(r["line"] for r in results(out)) == [1, 2, 3], "the torn row is done again"
    assert space.fake.chat_tokens_minted == 3


# -- after a hard interruption --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "bound"),
    [
        # In flight (4), or finished and waiting to be written (4 more): the rows the batch pulls ahead.
        ("--no-ordered", 8),
        # With input order, its reorder window (4,096 rows finished behind a slow one) on top.
        ("--ordered", 4104),
    ],
)
def test_after_kill_9_resume_says_how_many_rows_may_have_been_minted_unwritten(
    tmp_path: Path, order: str, bound: int
) -> None:
    space = ThreadedFake(latency=0.05)
    try:
        source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
        source.write_text(rows(200))
        options = ["--input", str(source), "--output", str(out), "--concurrency", "4", order]
        process = subprocess.Popen(
            [*COMMAND, "chat-token", "batch", *options], stderr=subprocess.DEVNULL, env=environment(space)
        )
        space.wait_for_requests(20)
        process.kill()
        process.wait(30)

        resumed = batch(space, *options, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert (
            f"the run that wrote {out} was killed (kill -9 or a crash): at most {bound:,} rows may have been minted"
            " without their results being written" in resumed.stderr
        )
        assert sorted(r["line"] for r in results(out)) == list(range(1, 201)), "every row exactly once"
        assert space.fake.chat_tokens_minted - 200 <= bound
        assert not Path(f"{out}.run").exists(), "a finished run leaves no record"
    finally:
        space.close()


def test_a_second_ctrl_c_aborts_and_resume_repeats_the_count_of_rows_in_flight(tmp_path: Path) -> None:
    space = ThreadedFake(latency=0.5)
    try:
        source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
        source.write_text(rows(12))
        options = ["--input", str(source), "--output", str(out), "--no-ordered", "--concurrency", "4"]
        process = subprocess.Popen(
            [*COMMAND, "chat-token", "batch", *options], stderr=subprocess.PIPE, text=True, env=environment(space)
        )
        assert process.stderr is not None
        space.wait_for_requests(5)  # the first four are written, the next ones in flight
        process.send_signal(signal.SIGINT)
        while "SIGINT: finishing the requests in flight" not in process.stderr.readline():
            pass
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        aborted = re.search(r"aborted: at most (\d+) rows? may have been minted without their results", stderr)
        assert aborted is not None, stderr
        in_flight = int(aborted[1])
        assert 1 <= in_flight <= 2 * 4
        assert f"resume with:\n  signalwire-tokens chat-token batch {' '.join(options)} --resume" in stderr

        resumed = batch(space, *options, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert f"was aborted: at most {in_flight} row" in resumed.stderr
        assert sorted(r["line"] for r in results(out)) == list(range(1, 13))
        assert space.fake.chat_tokens_minted - 12 <= in_flight
    finally:
        space.close()


def test_a_stop_on_a_refused_token_leaves_the_exact_count_for_resume(space: ThreadedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "members.jsonl", tmp_path / "tokens.jsonl"
    source.write_text(rows(50))
    options = ["--input", str(source), "--output", str(out), "--concurrency", "8"]
    stopped = batch(space, *options, api_token="PT" + "0" * 48)
    assert stopped.returncode == 1 and "stopped: AuthenticationError" in stopped.stderr

    resumed = batch(space, *options, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    counted = re.search(r"the run that wrote .* was aborted: at most (\d+) rows? may have been minted", resumed.stderr)
    assert counted is not None and 1 <= int(counted[1]) <= 2 * 8, resumed.stderr
    assert sorted(r["line"] for r in results(out)) == list(range(1, 51))
    assert space.fake.chat_tokens_minted == 50, "a refused request mints nothing"


# -- CSV headers ----------------------------------------------------------------------------------------------------


def test_a_csv_header_problem_is_the_headers_error_and_every_bad_row_is_still_listed(
    space: ThreadedFake, tmp_path: Path
) -> None:
    source = tmp_path / "members.csv"
    bad_rows = "".join(f"b{i},lobby,0,blue\n" for i in range(25))
    source.write_text("member_id,channels,ttl,colour\na,lobby,5,red\nc,,5,green\n" + bad_rows)
    done = batch(space, "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2
    listed = [line.removeprefix("signalwire-tokens: ") for line in done.stderr.splitlines() if str(source) in line]
    assert listed[0] == (
        f"{source}: header: column 'colour': unknown column (the columns are member_id, channels, ttl, state)"
    )
    assert listed[1].startswith(f"{source}:3: field 'channels': missing")
    assert listed[2].startswith(f"{source}:4: field 'ttl': ttl must be")
    assert len(listed) == 21, "the header, then the first 20 bad rows"
    assert "... and 6 more invalid rows\na bad header and 26 invalid rows: nothing was minted" in done.stderr
    assert space.fake.requests == []


def test_a_repeated_csv_column_is_a_header_error(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "members.csv"
    source.write_text("member_id,ttl,channels,ttl\na,5,lobby,6\n")
    done = batch(space, "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2
    assert f"{source}: header: column 'ttl': given more than once\na bad header: nothing was minted" in done.stderr


# -- what the user reads --------------------------------------------------------------------------------------------


def test_the_progress_line_and_the_summary_count_the_same_failures(space: ThreadedFake, tmp_path: Path) -> None:
    space.call(space.fake.fail, 422, times=1)
    done = batch(space, "--input", "-", "--output", str(tmp_path / "o.jsonl"), stdin=rows(5))
    assert done.returncode == 1, done.stderr
    last = PROGRESS.findall(done.stderr)[-1]
    summary = SUMMARY.search(done.stderr)
    assert summary is not None
    assert (number(last[0]), number(last[1])) == (5, 1)
    assert (number(summary[1]), number(summary[2])) == (4, 1)


def test_the_summary_says_which_rows_the_api_refused_and_which_failed_in_transport(
    space: ThreadedFake, tmp_path: Path
) -> None:
    space.call(space.fake.fail, 422, times=2)  # refused by the API
    space.call(space.fake.reset, times=4)  # the connection lost at every attempt of the row (4: the default policy's)
    space.call(space.fake.fail, 200, body="not a token")  # an answer that is not the API's: neither
    out = tmp_path / "o.jsonl"
    done = batch(space, "--input", "-", "--output", str(out), "--concurrency", "1", stdin=rows(7))
    assert done.returncode == 1, done.stderr
    assert [r.get("error", {}).get("type") for r in results(out)] == [
        "UnprocessableEntityError",
        "UnprocessableEntityError",
        "ConnectionLostError",
        "UnexpectedResponseError",
        None,
        None,
        None,
    ]
    assert (
        "3 of 7 chat tokens minted, 4 failed (2 refused by the API, 1 transport failure: connection or timeout,"
        " 1 other failure)" in done.stderr
    ), done.stderr


def test_a_refused_api_token_shows_no_failure_the_summary_does_not_count(space: ThreadedFake, tmp_path: Path) -> None:
    refused = "PT" + "0" * 48
    done = batch(space, "--input", "-", "--output", str(tmp_path / "o.jsonl"), stdin=rows(500), api_token=refused)
    assert done.returncode == 1
    summary = SUMMARY.search(done.stderr)
    assert summary is not None and number(summary[2]) == 0
    assert all(number(failed) == 0 for _, failed in PROGRESS.findall(done.stderr)), done.stderr


@pytest.mark.parametrize("command", ["chat-token", "pubsub-token"])
def test_the_batch_help_shows_the_exit_codes_the_csv_channels_and_the_output_line(command: str) -> None:
    text = help_text(command, "batch")
    for expected in ("exit codes:", "  0 ", "  1 ", "  2 ", "130/143", "lobby;room:rw", '{"line": 7, "token": '):
        assert expected in text, expected
    assert '{"line": 8, "member_id": "bob", "error": {' in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ttl", "0"], "--ttl: ttl must be an int number of minutes in 1..43200, got 0"),
        (["--ttl", "5", "--channel", "x" * 251], "--channel: channel 'xxx"),
        (["--ttl", "5", "--channel", "sw_internal"], "--channel: channel 'sw_internal': names starting with"),
    ],
)
def test_a_bad_default_is_one_usage_error_before_any_row_is_read(
    space: ThreadedFake, tmp_path: Path, options: list[str], message: str
) -> None:
    source, out = tmp_path / "members.csv", tmp_path / "o.jsonl"
    source.write_text("member_id,channels\n" + "".join(f"m{i},lobby\n" for i in range(30)))
    done = batch(space, "--input", str(source), "--output", str(out), *options)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("signalwire-tokens:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert str(source) not in done.stderr, "no row is reported"
    assert not out.exists() and space.fake.requests == []


@pytest.mark.parametrize("options", [["--concurrency", "0"], ["--max-rate", "0"]])
def test_an_impossible_pace_is_a_usage_error_that_leaves_the_output_alone(
    space: ThreadedFake, tmp_path: Path, options: list[str]
) -> None:
    out = tmp_path / "tokens.jsonl"
    out.write_text("keep me\n")
    done = batch(space, "--input", "-", "--output", str(out), *options, stdin=rows(3))
    assert done.returncode == 2
    assert out.read_text() == "keep me\n"


def test_counts_of_one_are_singular(space: ThreadedFake, tmp_path: Path) -> None:
    bad = batch(space, "--input", "-", "--output", str(tmp_path / "o.jsonl"), stdin=rows(2) + "{nope\n")
    assert "\n1 invalid row: nothing was minted" in bad.stderr
    space.call(space.fake.fail, 429, headers={"Retry-After": "0"}, times=1)
    waited = batch(space, "--input", "-", "--output", str(tmp_path / "o.jsonl"), stdin=rows(2))
    assert "2 of 2 chat tokens minted, 0 failed, 1 rate limit wait (429)" in waited.stderr
    one = batch(space, "--input", "-", "--output", str(tmp_path / "one.jsonl"), stdin=rows(1))
    assert "1 of 1 chat token minted, 0 failed" in one.stderr


def test_fake_space_serve_help_says_which_faults_and_that_credentials_are_new_each_start() -> None:
    text = help_text("fake-space", "serve")
    for expected in ("a 500, 502 or 503", "a 429 with Retry-After: 1", "a connection reset", "up to 20 ms late"):
        assert expected in text, expected
    assert "a new UUID each start" in text and "a new one each start" in text


def test_a_complete_run_leaves_only_its_output(space: ThreadedFake, tmp_path: Path) -> None:
    out = tmp_path / "tokens.jsonl"
    assert batch(space, "--input", "-", "--output", str(out), stdin=rows(3)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.jsonl"]
    assert json.loads(out.read_text().splitlines()[0])["line"] == 1


def test_an_output_that_is_a_pipe_gets_no_run_record_beside_it(tmp_path: Path) -> None:
    space = ThreadedFake(latency=0.05)
    try:
        source, fifo, received = tmp_path / "members.jsonl", tmp_path / "out.fifo", []
        source.write_text(rows(200))
        os.mkfifo(fifo)
        reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
        reader.start()
        process = subprocess.Popen(
            [*COMMAND, "chat-token", "batch", "--input", str(source), "--output", str(fifo), "--concurrency", "4"],
            stderr=subprocess.PIPE,
            text=True,
            env=environment(space),
        )
        space.wait_for_requests(20)
        process.send_signal(signal.SIGINT)  # an interrupted run is one that would keep its record
        _, stderr = process.communicate(timeout=30)
        reader.join(10)
        assert process.returncode == 130, stderr
        assert 20 <= len(received[0].splitlines()) < 200
        assert sorted(p.name for p in tmp_path.iterdir()) == ["members.jsonl", "out.fifo"], "nothing beside a pipe"
    finally:
        space.close()
