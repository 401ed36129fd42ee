"""Ctrl-C during a blocking call of SyncSignalWireClient, and a fork: a real process (tests/interrupted_client.py)
gets a real SIGINT once its call is in flight on the client's loop."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "interrupted_client.py"


class Script:
    """tests/interrupted_client.py in a process of its own; its output read line by line, with a bound."""

    def __init__(self, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str) -> None:
        while (line := self.lines.get(timeout=30)) != text:
            assert line is not None, f"the script ended before saying {text!r}"

    def finish(self) -> list[str]:
        """The rest of its output, once it has exited 0 (its stderr in :attr:`errors`)."""
        with self.process:  # closes its pipes
            try:
                self.process.wait(timeout=30)
            finally:
                self.process.kill()
            self.reader.join(5)
            assert self.process.stderr is not None
            self.errors = self.process.stderr.read()
        assert self.process.returncode == 0, self.errors
        rest = []
        while (line := self.lines.get(timeout=5)) is not None:
            rest.append(line)
        return rest


@pytest.mark.parametrize(("mode", "in_flight"), [("create", 1), ("batch", 4), ("with", 1)])
def test_ctrl_c_cancels_the_call_on_the_loop_and_leaves_the_client_usable_or_closed(mode: str, in_flight: int) -> None:
    script = Script(mode)
    script.wait_for(f"in flight: {in_flight}")
    script.process.send_signal(signal.SIGINT)
    said = script.finish()
    assert script.errors == "", "no traceback, no task left pending or exception unretrieved"
    assert said[:2] == ["KeyboardInterrupt in the calling thread", f"cancelled on the loop: {in_flight} of {in_flight}"]
    if mode == "with":
        assert said[2:] == ["closed: True, loop threads left: 0"], "closed by the with, after the interrupt"
    else:
        assert said[2:] == ["still usable: True", "closed: True, loop threads left: 0"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")
def test_after_a_fork_the_child_is_told_to_make_its_own_client() -> None:
    said = Script("fork").finish()
    assert said[0].startswith("in the child: this SyncSignalWireClient started its event loop in another process")
    assert said[1:] == ["cancelled on the loop: 0 of 0", "still usable: True", "closed: True, loop threads left: 0"]
