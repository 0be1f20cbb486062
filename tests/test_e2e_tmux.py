"""The monitor as a person uses it: a real `tuirnn run` in tmux, keys sent, screen captured.

Also: SIGHUP and SIGTERM sent to a real training process save checkpoints/last.pt and exit
cleanly. These train a tiny model for real (seconds on a CPU).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUIRNN = [sys.executable, "-m", "tuirnn"]
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None,
                                                  reason="tmux is not installed")]


class Tmux:
    def __init__(self, command: str, width: int = 120, height: int = 36) -> None:
        # a server of its own (-L): killing the last session of a shared server races with the
        # next test's new-session ("server exited unexpectedly"), and a user's tmux is left alone
        self.name = f"tuirnn-test-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        # under load the pane can still be 80x24 when the command starts, and a resize that
        # lands while Textual starts may be missed: start once the pane has its size (<= 5 s)
        settle = (f'for i in $(seq 100); do [ "$(stty size)" = "{height} {width}" ] && break; '
                  f"sleep 0.05; done; ")
        subprocess.run([*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), "-c", str(ROOT), settle + command], check=True)

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
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{self.capture()}")

    def alive(self) -> bool:
        return subprocess.run([*self.tmux, "has-session", "-t", self.name],
                              capture_output=True).returncode == 0

    def kill(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def run_command(run_dir: Path, *args: str) -> str:
    # stderr stays on the terminal (Textual draws there); the exit status lands in a file
    quoted = " ".join(f"'{a}'" for a in [*TUIRNN, "run", *args])
    return f"{quoted}; echo $? > '{run_dir}.exit'; sleep 30"


def exit_status(run_dir: Path, timeout: float = 60.0) -> int:
    path = Path(f"{run_dir}.exit")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.2)
    raise AssertionError("the process did not exit")


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def test_train_pause_sample_resume_quit_and_resume(tmp_path):
    run_dir = tmp_path / "run"
    tmux = Tmux(run_command(run_dir, "configs/tiny.yaml", "--run-dir", str(run_dir),
                            "--set", "train.max_iters=5000", "--set", "train.eval_every=50"))
    try:
        tmux.wait_for("sample 1/", timeout=90)
        tmux.keys("Space")
        screen = tmux.wait_for("PAUSED")
        tmux.keys("s")
        tmux.wait_for("Sample now")
        tmux.keys("The ", literal=True)
        tmux.keys("Enter")
        screen = tmux.wait_for("requested")
        end = time.monotonic() + 120  # generous: a loaded 2-core CI machine is slow
        while not ("generating" not in screen and "The " in screen) and time.monotonic() < end:
            time.sleep(0.2)
            screen = tmux.capture()
        assert "generating" not in screen and "The " in screen, screen
        assert "PAUSED" in screen
        tmux.keys("Space")
        tmux.wait_for("TRAINING")
        tmux.keys("q")
        assert exit_status(run_dir) == 0
    finally:
        tmux.kill()
    assert (run_dir / "checkpoints" / "last.pt").exists()
    names = [e["event"] for e in events(run_dir)]
    assert "Paused" in names and "Resumed" in names
    assert any(e["event"] == "SampleGenerated" and e.get("prime") == "The " for e in events(run_dir))
    finished = [e for e in events(run_dir) if e["event"] == "RunFinished"]
    assert finished[-1]["reason"] == "stopped"
    stopped_at = finished[-1]["iteration"]

    # --resume continues the same run from where it stopped, in the monitor again
    Path(f"{run_dir}.exit").unlink()
    tmux = Tmux(run_command(run_dir, "--resume", str(run_dir), "--set", "train.max_iters="
                            + str(stopped_at + 20)))
    try:
        tmux.wait_for("FINISHED", timeout=90)
        tmux.keys("q")
        assert exit_status(run_dir) == 0
    finally:
        tmux.kill()
    starts = [e for e in events(run_dir) if e["event"] == "RunStarted"]
    assert starts[-1]["start_iter"] == stopped_at


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_signal_saves_and_exits_cleanly(tmp_path, sig):
    run_dir = tmp_path / "run"
    pid_file = tmp_path / "pid"
    quoted = " ".join(f"'{a}'" for a in [*TUIRNN, "run", "configs/tiny.yaml", "--run-dir",
                                         str(run_dir), "--set", "train.max_iters=100000"])
    # `exec` so the signal reaches the Python process itself, as a hung-up SSH session does
    tmux = Tmux(f"sh -c 'echo $$ > {pid_file}; exec {quoted.replace(chr(39), '')}'; "
                f"echo $? > '{run_dir}.exit'; sleep 30")
    try:
        screen = tmux.wait_for("TRAINING", timeout=90)
        deadline = time.monotonic() + 60
        while "iter 0/" in screen and time.monotonic() < deadline:
            time.sleep(0.2)
            screen = tmux.capture()
        pid = int(pid_file.read_text())
        t0 = time.monotonic()
        os.kill(pid, sig)
        status = exit_status(run_dir, timeout=60)
        took = time.monotonic() - t0
    finally:
        tmux.kill()
    assert status == 0
    assert took < 30
    assert (run_dir / "checkpoints" / "last.pt").exists()
    last = [e for e in events(run_dir) if e["event"] == "RunFinished"][-1]
    assert last["reason"] == "stopped"
