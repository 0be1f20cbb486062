"""Driving the real program in tmux: a pane per monitor, keys sent, the screen captured.

Each Tmux runs on a server of its own (`-L`), killed by kill(): killing the last session of a
shared server races with the next test's new-session ("server exited unexpectedly"), and a
user's own tmux is left alone. Killing the server hangs up the pane (SIGHUP), as a dropped SSH
link does. Trainers outlive their monitors, so `stop_trainers` ends every run a test started.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tuirnn.core import runlog

ROOT = Path(__file__).resolve().parents[1]
TUIRNN = [sys.executable, "-m", "tuirnn"]


class Tmux:
    def __init__(self, command: str, width: int = 120, height: int = 36) -> None:
        self.name = f"tuirnn-test-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        # under load the pane can still be 80x24 when the command starts, and a resize that
        # lands while Textual starts may be missed: start once the pane has its size (<= 5 s)
        settle = (f'for i in $(seq 100); do [ "$(stty size)" = "{height} {width}" ] && break; '
                  f"sleep 0.05; done; ")
        # no config file of the user's; `window-size manual`: the size given stays, whatever
        # clients come and go (a window resized back to 80x24 drew the monitor there)
        # an explicit environment without LINES/COLUMNS: under pytest, readline has set them
        # (80x24) in the C environment a plain subprocess inherits, and Textual obeys them
        env = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")}
        subprocess.run([*self.tmux, "-f", "/dev/null", "new-session", "-d", "-s", self.name,
                        "-x", str(width), "-y", str(height), "-c", str(ROOT), settle + command,
                        ";", "set-option", "-g", "window-size", "manual"], check=True, env=env)

    def capture(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        cmd = [*self.tmux, "send-keys", "-t", self.name] + (["-l"] if literal else []) + list(keys)
        subprocess.run(cmd, check=True)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.capture()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{self.capture()}")

    def alive(self) -> bool:
        return subprocess.run([*self.tmux, "has-session", "-t", self.name],
                              capture_output=True).returncode == 0

    def kill(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def shell_command(*args: str, exit_file: Path, pid_file: Path | None = None) -> str:
    """`tuirnn ARGS` for a pane: its exit status lands in `exit_file`; the pane stays open for
    the last lines. With `pid_file`, the pid of the tuirnn process itself (exec: signals sent to
    it reach Python, as a hung-up terminal's do)."""
    quoted = " ".join(shlex.quote(a) for a in [*TUIRNN, *args])
    if pid_file is not None:
        inner = f"echo $$ > {shlex.quote(str(pid_file))}; exec {quoted}"
        quoted = f"sh -c {shlex.quote(inner)}"
    return f"{quoted}; echo $? > {shlex.quote(str(exit_file))}; sleep 60"


def exit_status(exit_file: Path, timeout: float = 60.0) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if exit_file.exists() and exit_file.read_text().strip():
            return int(exit_file.read_text())
        time.sleep(0.1)
    raise AssertionError(f"the process did not exit within {timeout:.0f} s")


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()
            if line.strip()]


def trainer_pid(run_dir: Path) -> int | None:
    """The pid of the process training `run_dir` now, None when none holds its lock."""
    if not runlog.is_live(run_dir):
        return None
    who = runlog.holder(run_dir)
    return who[0] if who is not None else None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(check, timeout: float, what: str) -> float:
    """Poll `check()` until true; returns the seconds it took, fails naming `what`."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - t0


def wait_grows(path: Path, timeout: float = 30.0) -> None:
    """The file grows (a trainer is writing it) within `timeout`."""
    size = path.stat().st_size
    wait_until(lambda: path.stat().st_size > size, timeout, f"{path.name} growing")


@pytest.fixture
def stop_trainers(tmp_path):
    """At teardown, kill every trainer still holding a run folder under tmp_path: a monitor
    whose tmux session is killed leaves its trainer training."""
    yield
    for lock in tmp_path.rglob(runlog.LOCK_NAME):
        pid = trainer_pid(lock.parent)
        if pid is not None and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
