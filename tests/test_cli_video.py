"""``room-token create|batch`` and ``conference-token list|get|reset`` on the command line: the room batch is the
chat batch's engine (streaming, input order, --resume, 0600 output, exit codes), interrupted and resumed against
``fake-space serve`` run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signalwire_tokens.cli import main

from .cli_support import COMMAND, environment, results, run
from .conftest import assert_request_matches_spec
from .support import ThreadedFake


def room_rows(n: int, start: int = 0) -> str:
    return "".join(json.dumps({"room_name": "standup", "user_name": f"u{i}"}) + "\n" for i in range(start, start + n))


def test_room_token_create_prints_the_token(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--room-name", "standup", "--user-name", "alice", "--permission", "room.self.audio_mute"]
    options += ["--join-until", "2031-01-01T18:00:00Z", "--meta", '{"team": 7}', "--no-auto-create-room"]
    code, out, _ = run(capsys, "room-token", "create", *options, *creds)
    assert code == 0
    printed = json.loads(out)
    assert (printed["room_name"], printed["user_name"]) == ("standup", "alice")
    assert space.fake.decode_room_token(printed["token"])["r"] == "standup"
    (sent,) = space.fake.requests
    assert sent.json() == {
        "room_name": "standup",
        "user_name": "alice",
        "permissions": ["room.self.audio_mute"],
        "join_until": "2031-01-01T18:00:00+00:00",
        "auto_create_room": False,
        "meta": {"team": 7},
    }
    assert_request_matches_spec(sent)


def test_a_bad_room_token_option_is_a_usage_error_with_nothing_sent(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "room-token", "create", "--room-name", "no spaces", *creds)
    assert code == 2 and "room_name" in err
    code, _, err = run(capsys, "room-token", "create", "--room-name", "r", "--join-from", "2026-01-01T09:00", *creds)
    assert code == 2 and "join_from" in err and "aware" in err
    assert space.fake.requests == []


def test_conference_tokens_are_listed_read_and_reset(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    conference = space.call(space.fake.add_conference, 5)
    code, out, _ = run(capsys, "conference-token", "list", conference, "--page-size", "2", *creds)
    assert code == 0
    listed = [json.loads(line) for line in out.splitlines()]
    assert [t["name"] for t in listed] == [f"Token {n}" for n in range(1, 6)]
    assert len(space.fake.requests) == 3
    code, out, _ = run(capsys, "conference-token", "get", listed[0]["id"], *creds)
    assert json.loads(out) == listed[0]
    code, out, _ = run(capsys, "conference-token", "reset", listed[0]["id"], *creds)
    assert code == 0 and json.loads(out)["token"] != listed[0]["token"]
    assert space.fake.conference_token_resets == 1
    code, _, err = run(capsys, "conference-token", "get", "not-a-uuid", *creds)
    assert code == 2 and "token_id" in err


def test_a_listing_cut_off_by_its_reader_stops_quietly(space: ThreadedFake) -> None:
    conference = space.call(space.fake.add_conference, 500)
    command = [*COMMAND, "conference-token", "list", conference, "--page-size", "10"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(space)) as listing:
        assert listing.stdout is not None and listing.stderr is not None
        first = json.loads(listing.stdout.readline())
        listing.stdout.close()  # as `| head -1` does once it has its line
        assert listing.wait(timeout=60) == 141, "SIGPIPE's status, as cat cut off by head"
        assert listing.stderr.read() == b"", "no traceback, no '[Errno 32] Broken pipe'"
    assert first["name"] == "Token 1"
    assert len(space.fake.requests) < 50, "it stopped listing"


def test_a_room_batch_writes_every_row_in_order_to_an_owner_only_file(space: ThreadedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "people.csv", tmp_path / "rooms.jsonl"
    source.write_text(
        "room_name,user_name,permissions,join_as,remove_after_seconds_elapsed,join_audio_muted\n"
        "standup,alice,room.self.audio_mute;room.self.video_mute,member,900,true\n"
        ",bob,,audience,,\n"
    )
    done = subprocess.run(
        [*COMMAND, "room-token", "batch", "--input", str(source), "--output", str(out), "--room-name", "lobby"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 0, done.stderr
    assert "2 of 2 room tokens minted, 0 failed" in done.stderr
    lines = results(out)
    assert [(r["line"], r["room_name"], r["user_name"]) for r in lines] == [
        (2, "standup", "alice"),
        (3, "lobby", "bob"),
    ]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    # The rows go out concurrently: find alice's request by its body, not by its place.
    [first] = [r.json() for r in space.fake.requests if r.json()["user_name"] == "alice"]
    assert first["permissions"] == ["room.self.audio_mute", "room.self.video_mute"]
    assert (first["remove_after_seconds_elapsed"], first["join_audio_muted"]) == (900, True)
    for recorded in space.fake.requests:
        assert_request_matches_spec(recorded)


def test_every_invalid_room_row_is_listed_before_anything_is_minted(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "people.jsonl"
    source.write_text(
        '{"room_name": "ok"}\n{"user_name": "no room"}\n{"room_name": "a b"}\n{"room_name": "r", "colour": 1}\n'
        '{"room_name": "r", "join_from": "2026-02-30"}\n'
    )
    done = subprocess.run(
        [*COMMAND, "room-token", "batch", "--input", str(source), "--output", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 2
    for expected in (
        f"{source}:2: field 'room_name': missing (give it in every row, or --room-name for all of them)",
        f"{source}:3: field 'room_name'",
        f"{source}:4: field 'colour': unknown field",
        f"{source}:5: field 'join_from'",
        "4 invalid rows: nothing was minted",
    ):
        assert expected in done.stderr
    assert space.fake.requests == []


class ServedFake:
    """``signalwire-tokens fake-space serve --log`` as a user runs it; counts what it answered from its log."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, "fake-space", "serve", "--log", *options],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        header = [self.process.stdout.readline() for _ in range(7)]  # the exports, a conference, address, c2c
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALWIRE_")}
        self.env.update(line.removeprefix("export ").strip().split("=", 1) for line in header[1:4])
        self.log: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.log.append(line)
                self._changed.notify_all()

    def minted(self) -> int:
        """Room tokens the fake minted: its 200s to POST /api/video/room_tokens."""
        with self._changed:
            return sum(line.startswith("POST /api/video/room_tokens -> 200") for line in self.log)

    def wait_for_answers(self, n: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.log) >= n, timeout=30), self.log[-5:]

    def close(self) -> None:
        self.process.terminate()
        assert self.process.wait(10) == 0, "SIGTERM is a clean shutdown"
        self._reader.join(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def served() -> Iterator[ServedFake]:
    fake = ServedFake("--latency", "0.02")
    yield fake
    fake.close()


def test_a_500_row_room_batch_interrupted_and_resumed_mints_every_row_once(served: ServedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "people.jsonl", tmp_path / "rooms.jsonl"
    source.write_text(room_rows(500))
    options = ["--input", str(source), "--output", str(out), "--concurrency", "8"]
    process = subprocess.Popen(
        [*COMMAND, "room-token", "batch", *options], stderr=subprocess.PIPE, text=True, env=served.env
    )
    served.wait_for_answers(40)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "resume with:" in stderr and "room-token batch" in stderr and "--resume" in stderr
    first = results(out)
    assert 40 <= len(first) < 500
    assert served.minted() == len(first), "every room token minted has its result on disk"

    resumed = subprocess.run(
        [*COMMAND, "room-token", "batch", *options, "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
        env=served.env,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(first)} skipped" in resumed.stderr.replace(",", "")
    lines = results(out)
    assert sorted(r["line"] for r in lines) == list(range(1, 501)), "every row exactly once"
    assert [r["user_name"] for r in sorted(lines, key=lambda r: r["line"])] == [f"u{i}" for i in range(500)]
    assert all(r["token"] for r in lines)
    assert served.minted() == 500, "no row minted twice"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_a_room_row_the_api_refuses_is_a_result_line_naming_the_row(space: ThreadedFake, tmp_path: Path) -> None:
    source, out = tmp_path / "people.csv", tmp_path / "rooms.jsonl"
    source.write_text(
        "room_name,user_name,permissions,remove_after_seconds_elapsed,sync_audio_video\n"
        'standup,alice,"[""room.self.audio_mute""]",900.0,FALSE\n'
        "standup,bob,,,\n"
    )
    space.call(space.fake.fail, 422, operation="video.room_tokens.create")
    done = subprocess.run(
        [*COMMAND, "room-token", "batch", "--input", str(source), "--output", str(out), "--concurrency", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 1
    assert "1 of 2 room tokens minted, 1 failed" in done.stderr
    failed, minted = results(out)
    assert (failed["line"], failed["room_name"], failed["user_name"]) == (2, "standup", "alice")
    assert failed["error"]["type"] == "UnprocessableEntityError" and failed["error"]["status"] == 422
    assert (minted["line"], minted["user_name"]) == (3, "bob")
    sent = space.fake.requests[0].json()
    assert sent["permissions"] == ["room.self.audio_mute"]
    assert (sent["remove_after_seconds_elapsed"], sent["sync_audio_video"]) == (900, False)


def test_a_bad_csv_cell_or_default_is_a_usage_error(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("room_name,join_audio_muted,meta\nr,yes,\nr,,{not json\n")
    done = subprocess.run(
        [*COMMAND, "room-token", "batch", "--input", str(source), "--output", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 2
    assert f"{source}:2: field 'join_audio_muted': 'yes' is not true or false" in done.stderr
    assert f"{source}:3: field 'meta'" in done.stderr
    bad_default = subprocess.run(
        [*COMMAND, "room-token", "batch", "--input", str(source), "--output", "-", "--room-name", "a b"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert bad_default.returncode == 2
    assert (
        "--room-name: room_name may hold only" in bad_default.stderr
        and "nothing was read or minted" in bad_default.stderr
    )
    assert space.fake.requests == []


def test_a_meta_option_that_is_not_a_json_object_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for meta in ("{not json", "[1]"):
        with pytest.raises(SystemExit) as exit_info:
            main(["room-token", "create", "--room-name", "r", "--meta", meta])
        assert exit_info.value.code == 2
    assert "must be a JSON object" in capsys.readouterr().err
