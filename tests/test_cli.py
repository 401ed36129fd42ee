"""The signalwire-tokens command line, run in-process against a fake space on its own thread."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from signalwire_tokens.cli import main

from .cli_support import run
from .support import ThreadedFake


def test_api_token_create_update_delete(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "api-token", "create", "--name", "ci", "--permission", "chat", "--permission", "fax", *creds
    )
    assert code == 0
    token = json.loads(out)
    assert token["permissions"] == ["chat", "fax"]
    assert token["token"] == space.fake.api_tokens[token["id"]]["token"], "the secret is the requested output"
    code, out, _ = run(capsys, "api-token", "update", token["id"], "--name", "renamed", *creds)
    assert (code, json.loads(out)["name"]) == (0, "renamed")
    code, out, _ = run(capsys, "api-token", "delete", token["id"], *creds)
    assert (code, json.loads(out)) == (0, {"id": token["id"], "deleted": True})
    code, _, err = run(capsys, "api-token", "delete", token["id"], *creds)
    assert code == 1
    assert "NotFoundError" in err


def test_flags_override_the_environment(space: ThreadedFake, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--base-url", space.fake.url, "--project-id", space.fake.project_id, "--api-token", space.fake.api_token]
    code, out, _ = run(capsys, "chat-token", "create", "--ttl", "5", "--channel", "lobby", *args)
    assert code == 0
    assert json.loads(out)["member_id"] is None


def test_chat_token_create(space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "chat-token",
        "create",
        "--ttl",
        "60",
        "--channel",
        "lobby:r",
        "--channel",
        "room:rw",
        "--member-id",
        "alice",
        "--state",
        '{"n": 1}',
        *creds,
    )
    assert code == 0
    minted = json.loads(out)
    claims = space.fake.decode_chat_token(minted["token"])
    assert claims["ch"] == {"lobby": {"read": True, "write": False}, "room": {"read": True, "write": True}}
    assert claims["s"] == {"n": 1}
    assert minted["expires_at"].endswith("+00:00")


@pytest.mark.parametrize(
    "argv",
    [
        ["chat-token", "create", "--ttl", "5", "--channel", "lobby:x"],
        ["chat-token", "create", "--ttl", "5", "--channel", "lobby", "--state", "[1]"],
        ["chat-token", "create", "--ttl", "5", "--channel", "lobby", "--state", "{nope"],
        ["api-token", "create", "--name", "n", "--permission", "voice"],
        ["chat-token"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_invalid_values_exit_2_before_sending(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "chat-token", "create", "--ttl", "0", "--channel", "lobby", *creds)
    assert code == 2
    assert "ttl" in err
    assert space.fake.requests == []


def test_missing_credentials_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("SIGNALWIRE_SPACE", "SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "chat-token", "create", "--ttl", "5", "--channel", "lobby")
    assert code == 2
    assert "SIGNALWIRE_PROJECT_ID" in err


ENV_CREDENTIALS = ("SIGNALWIRE_SPACE", "SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN", "SIGNALWIRE_BASE_URL")


def test_missing_credentials_name_the_options_and_variables_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ENV_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "api-token", "delete", "9a7fc048-984f-11ee-b9d1-0242ac120002")
    assert code == 2
    assert err == (
        "signalwire-tokens: missing credentials: pass --space (or --base-url), --project-id and --api-token,"
        " or set SIGNALWIRE_SPACE, SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN\n"
    )


def test_missing_credentials_name_only_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ENV_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", "ea14556a-984f-11ee-b9d1-0242ac120002")
    argv = ["chat-token", "create", "--ttl", "5", "--channel", "lobby", "--base-url", "http://127.0.0.1:1"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.endswith("missing credentials: pass --api-token, or set SIGNALWIRE_API_TOKEN\n")


def test_signalwire_base_url_in_the_environment_replaces_the_space(
    space: ThreadedFake, creds: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNALWIRE_BASE_URL", space.fake.url)
    code, out, _ = run(capsys, "chat-token", "create", "--ttl", "5", "--channel", "lobby")
    assert code == 0
    assert space.fake.decode_chat_token(json.loads(out)["token"])["ch"] == {"lobby": {"read": True, "write": False}}


def test_refused_credentials_exit_1_without_echoing_them(
    space: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--base-url", space.fake.url, "--project-id", space.fake.project_id, "--api-token", "PTwrong-secret"]
    code, out, err = run(capsys, "chat-token", "create", "--ttl", "5", "--channel", "lobby", *args)
    assert code == 1
    assert "AuthenticationError" in err
    assert "PTwrong-secret" not in out + err


# -- batches ---------------------------------------------------------------------------------------------------------


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_jsonl_in_input_order(
    space: ThreadedFake, creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [json.dumps({"member_id": f"m{n}", "channels": {"c": {"read": True}}, "ttl": 5}) for n in range(60)]
    source = write(tmp_path / "in.jsonl", [rows[0], "", *rows[1:]])
    target = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys, "chat-token", "batch", "--input", str(source), "--output", str(target), "--concurrency", "8", *creds
    )
    assert code == 0
    results = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["member_id"] for r in results] == [f"m{n}" for n in range(60)]
    assert [r["line"] for r in results] == [1, *range(3, 62)], "blank lines are skipped, line numbers kept"
    assert "60 of 60 chat tokens minted" in err
    assert "minting: 60/60 done" in err, "plain progress lines when not on a terminal"


def test_batch_csv(space: ThreadedFake, creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(
        tmp_path / "in.csv",
        [
            "member_id,channels,ttl,state",
            'ada,lobby:r;room:rw,60,"{""k"": 1}"',
            'bob,"{""lobby"": {""write"": true}}",5,',
        ],
    )
    target = tmp_path / "out.jsonl"
    code, _, _ = run(capsys, "chat-token", "batch", "--input", str(source), "--output", str(target), *creds)
    assert code == 0
    ada, bob = (json.loads(line) for line in target.read_text().splitlines())
    claims = space.fake.decode_chat_token(ada["token"])
    assert claims["ch"]["room"] == {"read": True, "write": True}
    assert claims["s"] == {"k": 1}
    assert space.fake.decode_chat_token(bob["token"])["ch"] == {"lobby": {"read": False, "write": True}}


def test_batch_failures_exit_1_with_a_summary(
    space: ThreadedFake, creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space.call(
        space.fake.fail,
        422,
        times=1,
        body={
            "errors": [
                {
                    "type": "validation_error",
                    "code": "bad",
                    "message": "Member is blocked",
                    "attribute": "member_id",
                    "url": "u",
                }
            ]
        },
    )
    rows = [json.dumps({"member_id": f"m{n}", "channels": {"c": {"read": True}}, "ttl": 5}) for n in range(5)]
    target = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys,
        "chat-token",
        "batch",
        "--input",
        str(write(tmp_path / "in.jsonl", rows)),
        "--output",
        str(target),
        "--concurrency",
        "1",
        *creds,
    )
    assert code == 1
    assert "4 of 5 chat tokens minted, 1 failed" in err
    failed = [json.loads(line) for line in target.read_text().splitlines() if "error" in line]
    assert failed[0]["error"]["status"] == 422
    assert failed[0]["error"]["attribute"] == "member_id"
    assert failed[0]["member_id"] == "m0"


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}, "ttl": 5}', "{nope"], "bad.jsonl:2: not valid JSON"),
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}, "ttl": 0}'], "bad.jsonl:1: field 'ttl'"),
        ("bad.jsonl", ['{"channels": {"sw_c": {"read": true}}, "ttl": 5}'], "bad.jsonl:1: field 'channels'"),
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}}'], "bad.jsonl:1: field 'ttl': missing"),
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}, "ttl": 5, "colour": 1}'], "field 'colour': unknown"),
        ("bad.jsonl", ["[1, 2]"], "bad.jsonl:1: each line must be a JSON object"),
        ("bad.csv", ["member_id,ttl", "a,5"], "bad.csv:2: field 'channels': missing"),
        ("bad.csv", ["member_id,channels,ttl", "a,lobby:r,soon"], "bad.csv:2: field 'ttl'"),
        ("bad.csv", ["member_id,channels,ttl", "a,lobby:x,5"], "bad.csv:2: field 'channels'"),
        ("bad.csv", ["member_id,channels,ttl,state", "a,lobby,5,{bad"], "bad.csv:2: field 'state'"),
        ("bad.csv", ["member_id,channels,ttl", "a,lobby:r,5,extra"], "bad.csv:2: more values"),
        ("bad.csv", ["member_id,channels,ttl", "a,sw_x,5"], "bad.csv:2: field 'channels'"),
        ("bad.csv", ["member_id,channels,ttl", 'a,"[1, 2]",5'], "bad.csv:2: field 'channels'"),
        # The field comes from the error, not from words in its message: these channel names hold other fields' names.
        ("bad.jsonl", ['{"channels": {"sw_ttl": {"read": true}}, "ttl": 5}'], "bad.jsonl:1: field 'channels'"),
        ("bad.jsonl", ['{"channels": {"sw_state": {"read": true}}, "ttl": 5}'], "bad.jsonl:1: field 'channels'"),
        ("bad.csv", ["member_id,channels,ttl", "a,sw_member_id,5"], "bad.csv:2: field 'channels'"),
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}, "ttl": 5, "member_id": 7}'], "field 'member_id'"),
        ("bad.jsonl", ['{"channels": {"c": {"read": true}}, "ttl": 5, "state": [1]}'], "bad.jsonl:1: field 'state'"),
    ],
)
def test_bad_input_files_exit_2_naming_line_and_field(
    space: ThreadedFake,
    creds: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    lines: list[str],
    message: str,
) -> None:
    source = write(tmp_path / name, lines)
    code, _, err = run(
        capsys, "chat-token", "batch", "--input", str(source), "--output", str(tmp_path / "o.jsonl"), *creds
    )
    assert code == 2
    assert message in err
    assert space.fake.requests == [], "nothing is minted when a row is bad"


def test_a_missing_input_file_exits_2(creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "chat-token", "batch", "--input", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "o"), *creds
    )
    assert code == 2
    assert "none.jsonl" in err


def test_csv_format_can_be_forced(
    space: ThreadedFake, creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "members.txt", ["channels,ttl", "lobby,5"])
    code, _, _ = run(
        capsys,
        "chat-token",
        "batch",
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o"),
        "--format",
        "csv",
        *creds,
    )
    assert code == 0


# -- demo and fake-space ---------------------------------------------------------------------------------------------


def test_demo_runs_offline(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIGNALWIRE_SPACE", "SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "demo")
    assert code == 0
    for expected in (
        "created  ApiToken(",
        "claims   member_id='alice'",
        "1,000 of 1,000 minted",
        "NotFoundError: status=404",
        "attempt statuses: [503, 200]",
        "== summary",
    ):
        assert expected in out
    assert "minting: 1000/1000 done" in err


def test_fake_space_serve(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "signalwire_tokens.cli", "fake-space", "serve"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split(" on ")[1].split()[0]
        project = process.stdout.readline().strip().split("=")[1]
        token = process.stdout.readline().strip().split("=")[1]
        request = urllib.request.Request(
            f"{url}/api/chat/tokens",
            data=b'{"ttl": 5, "channels": {"c": {"read": true}}}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(f"{project}:{token}".encode()).decode())
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["token"].startswith("eyJ")
    finally:
        process.terminate()
        assert process.wait(10) == 0, "SIGTERM is a clean shutdown"
        assert process.stdout is not None
        process.stdout.close()


async def test_fake_space_serve_logs_and_injects_latency_faults_and_a_rate_limit() -> None:
    from signalwire_tokens import RateLimitError, RetryPolicy, SignalWireClient

    options = ["--log", "--latency", "0.01", "--fail-rate", "0", "--rate-limit", "2/60"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signalwire_tokens.cli", "fake-space", "serve", *options, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    header = [(await process.stdout.readline()).decode() for _ in range(7)]
    exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in header[1:4])
    assert header[4].startswith("a video conference holding 3 conference tokens: ")
    assert header[5].startswith("a Call Fabric address: ") and header[6].startswith("a click-to-call token: c2c_")
    assert set(exports) == {"SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN", "SIGNALWIRE_BASE_URL"}
    client = SignalWireClient.from_env(environ=exports, retry=RetryPolicy.disabled())
    async with client:
        for _ in range(2):
            await client.chat_tokens.create(ttl=5, channels={"c": {"read": True}})
        with pytest.raises(RateLimitError):
            await client.chat_tokens.create(ttl=5, channels={"c": {"read": True}})
    process.send_signal(signal.SIGINT)
    log = (await process.stdout.read()).decode().splitlines()
    assert await process.wait() == 0
    assert [line.split(" (")[0] for line in log] == ["POST /api/chat/tokens -> 200"] * 2 + [
        "POST /api/chat/tokens -> 429"
    ]
    assert all(float(line.split("(")[1].split()[0]) >= 10 for line in log[:2]), "the latency is in every answer"


def test_progress_draws_a_bar_on_a_terminal() -> None:
    import io

    from signalwire_tokens import BatchProgress
    from signalwire_tokens.cli._progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with Progress(10, "minting", stream=screen) as progress:
        for done in range(1, 11):
            progress.update(BatchProgress(done, 1, 0, 8, 0))
    assert "minting" in screen.getvalue()
    assert "10/10" in screen.getvalue()
    assert "1 failed, concurrency 8" in screen.getvalue()


def test_the_documented_command_lines_run(
    space: ThreadedFake,
    creds: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each command of the docs' command-line section, as written, against the fake space."""
    import re
    import shlex

    page = (Path(__file__).parents[1] / "docs" / "batches.md").read_text()
    section = page[page.index("## Command line") : page.index("## Batch jobs")]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    (tmp_path / "members.csv").write_text("member_id,channels,ttl\nada,lobby,60\nbob,lobby:rw,5\n")
    (tmp_path / "attendees.csv").write_text("user_name,join_as\nalice,member\nbob,audience\n")
    conference_id = space.call(space.fake.add_conference, 2)
    placeholders = {"CONFERENCE_ID": conference_id, "CONFERENCE_TOKEN_ID": next(iter(space.fake.conference_tokens))}
    placeholders["ADDRESS_ID"] = space.call(space.fake.fabric.add_address)
    (tmp_path / "subscribers.csv").write_text("reference,first_name\nada@example.com,Ada\nbob@example.com,Bob\n")
    monkeypatch.setenv("ALICE_PASSWORD", "correct-horse-battery")
    monkeypatch.chdir(tmp_path)
    token_id = None
    ran = []
    for line in block.group(1).splitlines():
        argv = shlex.split(line, comments=True)
        assert argv[0] == "signalwire-tokens"
        if argv[1:3] == ["fake-space", "serve"]:
            continue  # runs until interrupted: test_fake_space_serve covers it
        if "TOKEN_ID" in argv:
            assert token_id is not None
            argv = [token_id if arg == "TOKEN_ID" else arg for arg in argv]
        argv = [placeholders.get(arg, arg) for arg in argv]
        extra = creds if argv[1] != "demo" else []
        code, out, _ = run(capsys, *argv[1:], *extra)
        assert code == 0, line
        if argv[1:3] == ["api-token", "create"]:
            token_id = json.loads(out)["id"]
        if argv[1:3] == ["subscriber-token", "create"]:
            # What the next lines read: the refresh token on standard input, the SAT in the environment.
            monkeypatch.setattr("sys.stdin", io.StringIO(json.loads(out)["refresh_token"] + "\n"))
            monkeypatch.setenv("SIGNALWIRE_SUBSCRIBER_TOKEN", json.loads(out)["token"])
        ran.append(argv[1])
    assert len(ran) == 17
    assert len((tmp_path / "sats.jsonl").read_text().splitlines()) == 2
    assert len((tmp_path / "tokens.jsonl").read_text().splitlines()) == 2
    assert len((tmp_path / "room-tokens.jsonl").read_text().splitlines()) == 2
    assert space.fake.room_tokens_minted == 3 and space.fake.conference_token_resets == 1


def test_project_token_commands_use_the_platform_api(
    space: ThreadedFake, creds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "project-token", "create", "--name", "ci", "--permission", "chat", *creds)
    token = json.loads(out)
    assert code == 0 and token["permissions"] == ["chat"]
    code, out, _ = run(capsys, "project-token", "update", token["id"], "--permission", "video", *creds)
    assert (code, json.loads(out)["permissions"]) == (0, ["video"])
    code, out, _ = run(capsys, "project-token", "delete", token["id"], *creds)
    assert (code, json.loads(out)) == (0, {"id": token["id"], "deleted": True})
    assert [r.operation for r in space.fake.requests] == [
        "project_tokens.create",
        "project_tokens.update",
        "project_tokens.delete",
    ]


def test_pubsub_token_create_and_batch(
    space: ThreadedFake, creds: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "pubsub-token", "create", "--ttl", "5", "--channel", "news", "--member-id", "a", *creds)
    assert code == 0 and json.loads(out)["member_id"] == "a"
    source = write(tmp_path / "in.csv", ["member_id", "b", "c"])
    target = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys,
        "pubsub-token",
        "batch",
        "--input",
        str(source),
        "--output",
        str(target),
        "--ttl",
        "5",
        "--channel",
        "news:rw",
        *creds,
    )
    assert code == 0 and "2 of 2 PubSub tokens minted" in err
    assert [json.loads(line)["member_id"] for line in target.read_text().splitlines()] == ["b", "c"]
    assert (space.fake.pubsub_tokens_minted, space.fake.chat_tokens_minted) == (3, 0)
