"""``subscriber-token create|refresh|batch``, ``guest-token create`` and ``invite-token create`` on the command line:
the subscriber batch runs on the batch engine of every family (input order, 0600 output, exit codes), and secrets
never come from an option (a password from the environment, a refresh token from standard input, the inviting
subscriber's token from SIGNALWIRE_SUBSCRIBER_TOKEN)."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from .cli_support import COMMAND, environment, results, run
from .conftest import assert_request_matches_spec
from .support import ThreadedFake


def test_subscriber_token_create_then_refresh_from_standard_input(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALICE_PASSWORD", "correct-horse-battery")
    options = ["--reference", "alice@example.com", "--first-name", "Alice", "--expire-at", "2031-01-01T00:00:00Z"]
    code, out, _ = run(capsys, "subscriber-token", "create", *options, "--password-env", "ALICE_PASSWORD", *creds)
    assert code == 0
    sat = json.loads(out)
    assert set(sat) == {"subscriber_id", "token", "refresh_token", "expires_at"}
    assert sat["expires_at"] == "2031-01-01T00:00:00+00:00"
    sent = space.fake.requests[0]
    assert sent.json() == {
        "reference": "alice@example.com",
        "expire_at": 1924992000,
        "password": "correct-horse-battery",
        "first_name": "Alice",
    }
    assert_request_matches_spec(sent)
    monkeypatch.setattr("sys.stdin", io.StringIO(sat["refresh_token"] + "\n"))
    code, out, _ = run(capsys, "subscriber-token", "refresh", *creds)
    assert code == 0 and set(json.loads(out)) == {"token", "refresh_token", "expires_at"}
    monkeypatch.setattr("sys.stdin", io.StringIO(sat["refresh_token"] + "\n"))
    code, _, err = run(capsys, "subscriber-token", "refresh", *creds)
    assert code == 1 and "UnprocessableEntityError" in err and sat["refresh_token"] not in err, "used once"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["subscriber-token", "create", "--reference", "a", "--password-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE"),
        (["subscriber-token", "create", "--reference", "a", "--fingerprint", "short"], "fingerprint"),
        (["subscriber-token", "create", "--reference", "a", "--expire-at", "2031-01-01T00:00:00"], "expire_at"),
        (["subscriber-token", "refresh"], "standard input"),
        (["invite-token", "create", "--address-id", "3fa85f64-5717-4562-b3fc-2c963f66afa6"], "SIGNALWIRE_SUBSCRIBER"),
        (["guest-token", "create", "--address", "nope"], "allowed_addresses"),
    ],
)
def test_bad_input_is_a_usage_error_and_nothing_is_sent(
    space: ThreadedFake,
    creds: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("SIGNALWIRE_SUBSCRIBER_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, *argv, *creds)
    assert code == 2 and message in err
    assert space.fake.requests == []


@pytest.mark.parametrize("fed", ["the whole JSON", "the JSON indented", "a JSON string"])
def test_refresh_fed_json_instead_of_a_refresh_token_says_so_and_sends_nothing(space: ThreadedFake, fed: str) -> None:
    created = subprocess.run(
        [*COMMAND, "subscriber-token", "create", "--reference", "alice@example.com"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert created.returncode == 0, created.stderr
    sat = json.loads(created.stdout)
    stdin = {
        "the whole JSON": created.stdout,  # `create ... | refresh`: the jq -r .refresh_token forgotten
        "the JSON indented": json.dumps(sat, indent=2),  # through `jq .`
        "a JSON string": json.dumps(sat["refresh_token"]) + "\n",  # `jq .refresh_token`, without -r
    }[fed]
    sent = len(space.fake.requests)
    done = subprocess.run(
        [*COMMAND, "subscriber-token", "refresh"], input=stdin, capture_output=True, text=True, env=environment(space)
    )
    assert done.returncode == 2
    assert "expected a refresh token on standard input, not JSON" in done.stderr, done.stderr
    assert "jq -r .refresh_token" in done.stderr and "nothing was sent" in done.stderr
    assert sat["refresh_token"] not in done.stderr and sat["token"] not in done.stderr, "no secret in the message"
    assert len(space.fake.requests) == sent


def test_guest_and_invite_tokens(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    address = space.call(space.fake.fabric.add_address)
    code, out, _ = run(capsys, "guest-token", "create", "--address", address, "--expire-at", "1924992000", *creds)
    assert code == 0 and json.loads(out)["expires_at"] == "2031-01-01T00:00:00+00:00"
    code, out, _ = run(capsys, "subscriber-token", "create", "--reference", "bob", *creds)
    sat = json.loads(out)["token"]
    monkeypatch.setenv("SIGNALWIRE_SUBSCRIBER_TOKEN", sat)
    code, out, _ = run(capsys, "invite-token", "create", "--address-id", address, *creds)
    assert code == 0 and set(json.loads(out)) == {"token", "expires_at"}
    assert space.fake.requests[-1].headers["Authorization"] == f"Bearer {sat}"
    for recorded in space.fake.requests:
        assert_request_matches_spec(recorded)


EXPIRY_COMMANDS = {
    "subscriber-token": (["--reference", "alice@example.com"], "expire_at"),
    "guest-token": (["--address", "{address}"], "expire_at"),
    "invite-token": (["--address-id", "{address}"], "expires_at"),
}


@pytest.mark.parametrize("spelling", ["--expire-at", "--expires-at"])
@pytest.mark.parametrize("command", list(EXPIRY_COMMANDS))
def test_every_command_with_an_expiry_takes_both_spellings_and_shows_one(
    space: ThreadedFake,
    creds: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    spelling: str,
) -> None:
    address = space.call(space.fake.fabric.add_address)
    code, out, _ = run(capsys, "subscriber-token", "create", "--reference", "inviter", *creds)
    monkeypatch.setenv("SIGNALWIRE_SUBSCRIBER_TOKEN", json.loads(out)["token"])
    options, field = EXPIRY_COMMANDS[command]
    options = [option.format(address=address) for option in options]
    code, out, _ = run(capsys, command, "create", *options, spelling, "2031-01-01T00:00:00Z", *creds)
    assert code == 0 and json.loads(out)["expires_at"] == "2031-01-01T00:00:00+00:00"
    assert space.fake.requests[-1].json()[field] == 1924992000
    with pytest.raises(SystemExit):
        run(capsys, command, "create", "--help")
    shown = capsys.readouterr().out
    assert "--expire-at" in shown and "--expires-at" not in shown


def test_subscriber_token_batch_writes_a_line_per_row_in_order(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "subscribers.csv"
    rows = ["reference,first_name,expire_at"] + [f"user{i}@example.com,U{i},1924992000" for i in range(30)]
    source.write_text("\n".join(rows) + "\n")
    out = tmp_path / "sats.jsonl"
    done = subprocess.run(
        [*COMMAND, "subscriber-token", "batch", "--input", str(source), "--output", str(out), "--concurrency", "4"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 0, done.stderr
    lines = results(out)
    assert [line["line"] for line in lines] == list(range(2, 32))
    assert all(line["expires_at"] == "2031-01-01T00:00:00+00:00" and line["refresh_token"] for line in lines)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(space.fake.fabric.subscribers) == 30


def test_subscriber_token_batch_reports_every_bad_row_before_minting(space: ThreadedFake, tmp_path: Path) -> None:
    source = tmp_path / "subscribers.jsonl"
    source.write_text(
        json.dumps({"first_name": "no reference"})
        + "\n"
        + json.dumps({"reference": "ok", "scope": "all"})
        + "\n"
        + json.dumps({"reference": "fine"})
        + "\n"
    )
    done = subprocess.run(
        [*COMMAND, "subscriber-token", "batch", "--input", str(source), "--output", "-", "--application-id", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 2 and "--application-id" in done.stderr
    done = subprocess.run(
        [*COMMAND, "subscriber-token", "batch", "--input", str(source), "--output", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(space),
    )
    assert done.returncode == 2
    assert "subscribers.jsonl:1: field 'reference'" in done.stderr
    assert "subscribers.jsonl:2: field 'scope'" in done.stderr
    assert space.fake.requests == []


def test_a_batch_takes_an_application_for_rows_without_one_and_reads_expiries(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    application = "123e4567-e89b-12d3-a456-426614174000"
    source = tmp_path / "subscribers.jsonl"
    source.write_text(
        json.dumps({"reference": "a", "expire_at": 1924992000})
        + "\n"
        + json.dumps({"reference": "b", "expire_at": "1924992000.5"})
        + "\n"
    )
    out = tmp_path / "sats.jsonl"
    argv = ["subscriber-token", "batch", "--input", str(source), "--output", str(out), "--application-id", application]
    code, _, err = run(capsys, *argv, *creds)
    assert code == 0, err
    assert [line["expires_at"] for line in results(out)] == ["2031-01-01T00:00:00+00:00"] * 2
    assert all(r.json()["application_id"] == application for r in space.fake.requests)
    source.write_text(json.dumps({"reference": "c", "expire_at": "next tuesday"}) + "\n")
    code, _, err = run(capsys, *argv[:-3], str(tmp_path / "more.jsonl"), *creds)
    assert code == 2 and "field 'expire_at'" in err


def test_a_batchs_passwords_are_sent_and_written_to_no_file_but_the_users_input(
    space: ThreadedFake,
    creds: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every temporary file the command makes lands where the test can read it afterwards, kept.
    spools = tmp_path / "temporary"
    spools.mkdir()
    monkeypatch.setattr(
        "tempfile.TemporaryFile",
        # The file is the command's, which closes it: not a context manager of the test's.
        lambda *args, **kwargs: tempfile.NamedTemporaryFile(*args, dir=spools, delete=False, **kwargs),  # noqa: SIM115
    )
    source, out = tmp_path / "subscribers.jsonl", tmp_path / "sats.jsonl"
    rows = [{"reference": f"user{n}@example.com", "password": f"hunter-{n}-secret"} for n in range(3)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, _, err = run(capsys, "subscriber-token", "batch", "--input", str(source), "--output", str(out), *creds)
    assert code == 0, err
    assert sorted(r.json()["password"] for r in space.fake.requests) == [f"hunter-{n}-secret" for n in range(3)]
    written = list(spools.iterdir())
    assert written, "the batch spooled its rows"
    for path in [*written, out]:
        assert "hunter-" not in path.read_text(), f"a password in {path.name}"
    assert "hunter-" not in err
