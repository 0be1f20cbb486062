"""Runs that outlive the terminal, driven as a person would: real processes, monitors in tmux.

- start a run, detach with d: the trainer trains on; a second monitor hung up (its tmux
  killed): training goes on; `tuirnn ls` says training; two monitors attached, a pause in one
  shows PAUSED in both; `tuirnn stop` saves a fresh last.pt and the socket goes;
- `tuirnn attach` to a `nohup tuirnn run --headless &` run; kill -9 of its trainer: the
  monitor says "trainer gone", `tuirnn ls` says crashed;
- `tuirnn attach` to a finished run: its history, and `s` still samples (from the checkpoint).
Tiny models and texts; each tmux on a server of its own; trainers killed at teardown.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_cli, tiny_config
from tmux_driver import (
    ROOT,
    TUIRNN,
    Tmux,
    events,
    exit_status,
    running,
    shell_command,
    stop_trainers,  # noqa: F401
    trainer_pid,
    wait_grows,
    wait_until,
)

from tuirnn.remote.paths import SOCKET_NAME, is_answering

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stop_trainers"),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


PRIME = "war peace war "      # words of the test corpus, unlikely in a row by chance


def long_run_config(tmp_path: Path, corpus: Path) -> Path:
    return tiny_config(tmp_path, corpus, max_iters=100_000, eval_every=50, log_every=5)


def state_of(root: Path, name: str) -> str:
    """The STATE column of `tuirnn ls ROOT` (plain text, as piped) for run `name`."""
    proc = run_cli("ls", str(root), timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:]}
    return rows[name]


def attach(tmp_path: Path, run_dir: Path, tag: str) -> tuple[Tmux, Path, Path]:
    """`tuirnn attach RUN` in a tmux of its own; returns (tmux, exit file, pid file)."""
    done, pid_file = tmp_path / f"{tag}.exit", tmp_path / f"{tag}.pid"
    return Tmux(shell_command("attach", str(run_dir), exit_file=done, pid_file=pid_file)), \
        done, pid_file


def test_detach_hang_up_attach_twice_pause_and_stop(tmp_path, corpus_file):
    cfg = long_run_config(tmp_path, corpus_file)
    run_dir, done = tmp_path / "runs" / "live", tmp_path / "first.exit"
    first = Tmux(shell_command("run", str(cfg), "--run-dir", str(run_dir), exit_file=done))
    monitors = [first]
    try:
        first.wait_for("TRAINING", timeout=90)
        first.keys("d")                              # detach: the monitor exits, the run goes on
        assert exit_status(done, timeout=30) == 0
        hint = first.wait_for("Back with:")
        assert "attach" in hint and "detached" in hint
        wait_grows(run_dir / "events.jsonl")

        # a second monitor whose terminal goes away (tmux killed: SIGHUP to the monitor)
        second, second_done, second_pid = attach(tmp_path, run_dir, "second")
        monitors.append(second)
        second.wait_for("TRAINING", timeout=60)
        pid = int(second_pid.read_text())
        second.kill()
        wait_until(lambda: not running(pid), 15, "the hung-up monitor exiting")
        wait_grows(run_dir / "events.jsonl")          # training goes on without it
        assert state_of(run_dir.parent, "live") == "training"

        # two monitors at once: a pause from one shows in both
        third, _, _ = attach(tmp_path, run_dir, "third")
        fourth, _, _ = attach(tmp_path, run_dir, "fourth")
        monitors += [third, fourth]
        third.wait_for("TRAINING", timeout=60)
        fourth.wait_for("TRAINING", timeout=60)
        t0 = time.monotonic()
        third.keys("Space")
        third.wait_for("PAUSED", timeout=20)
        fourth.wait_for("PAUSED", timeout=20)
        both = time.monotonic() - t0
        print(f"space in one monitor -> PAUSED in both: {both:.2f} s")
        assert both < 10
        assert state_of(run_dir.parent, "live") == "paused"

        # tuirnn stop from the shell: saves, exits, removes its socket
        stop_from = time.time()
        proc = run_cli("stop", str(run_dir), timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "stopped live at iter" in proc.stdout
        last = run_dir / "checkpoints" / "last.pt"
        assert last.stat().st_mtime >= stop_from - 1
        assert [e for e in events(run_dir) if e["event"] == "RunFinished"][-1]["reason"] == "stopped"
        assert not (run_dir / SOCKET_NAME).exists()
        assert trainer_pid(run_dir) is None
        third.wait_for("STOPPED", timeout=20)        # the monitors see the run end
    finally:
        for tmux in monitors:
            tmux.kill()


def start_nohup(run_dir: Path, cfg: Path, out: Path) -> None:
    """`nohup tuirnn run CFG --run-dir RUN --headless > OUT &` from a shell that then exits."""
    argv = " ".join(shlex.quote(a) for a in [*TUIRNN, "run", str(cfg), "--run-dir", str(run_dir),
                                              "--headless"])
    subprocess.run(["sh", "-c", f"nohup {argv} > {shlex.quote(str(out))} 2>&1 &"], cwd=ROOT,
                   check=True, stdin=subprocess.DEVNULL)
    wait_until(lambda: is_answering(run_dir), 90, "the nohup run serving its socket")


def test_attach_to_a_nohup_run_then_its_trainer_is_killed(tmp_path, corpus_file):
    run_dir = tmp_path / "runs" / "bg"
    start_nohup(run_dir, long_run_config(tmp_path, corpus_file), tmp_path / "bg.out")
    monitor, done, _ = attach(tmp_path, run_dir, "bg")
    try:
        monitor.wait_for("TRAINING", timeout=60)
        monitor.keys("Space")                         # keys reach the trainer: pause, resume
        monitor.wait_for("PAUSED", timeout=20)
        monitor.keys("Space")
        monitor.wait_for("TRAINING", timeout=20)
        pid = trainer_pid(run_dir)
        assert pid is not None
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        screen = monitor.wait_for("trainer gone", timeout=20)
        print(f"kill -9 -> 'trainer gone' on screen: {time.monotonic() - t0:.2f} s")
        assert "CRASHED" in screen and "Traceback" not in screen
        assert state_of(run_dir.parent, "bg") == "crashed"
        monitor.keys("q")                             # nothing to stop: the monitor just closes
        assert exit_status(done, timeout=30) == 0
        assert "trainer of bg is gone" in monitor.capture()
    finally:
        monitor.kill()


def test_attach_to_a_finished_run_shows_its_history_and_samples(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=20, eval_every=10, log_every=2)
    run_dir = tmp_path / "runs" / "done"
    proc = run_cli("run", str(cfg), "--run-dir", str(run_dir), "--headless", timeout=120)
    assert proc.returncode == 0, proc.stderr
    monitor, done, _ = attach(tmp_path, run_dir, "done")
    try:
        monitor.wait_for("FINISHED", timeout=60)
        monitor.wait_for("iter 20/20")
        monitor.keys("s")
        monitor.wait_for("Sample now")
        monitor.keys(PRIME, literal=True)
        monitor.wait_for(PRIME.strip(), timeout=20)   # echoed in the prime field: then Enter
        monitor.keys("Enter")
        # 180 s: the monitor loads the checkpoint on a thread of its own before it answers; on a loaded
        # 2-core CI machine (the whole suite beside it) that once took over 60 s
        try:
            wait_until(lambda: "generating" not in (s := monitor.capture()) and PRIME in s
                       and "requested" in s, 180, "the sample answered from the checkpoint")
        except AssertionError:
            print(monitor.capture())
            raise
        monitor.keys("q")
        assert exit_status(done, timeout=30) == 0
    finally:
        monitor.kill()
    # answered here, not by a trainer: the run's log is as the run left it
    assert not any(e["event"] == "SampleGenerated" and e.get("prime") == PRIME
                   for e in events(run_dir))
