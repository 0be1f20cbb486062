"""The monitor as a person uses it: a real `tuirnn run` in tmux, keys sent, screen captured.

Also the signals a monitor gets: SIGTERM stops the run (the trainer saves checkpoints/last.pt
and exits), SIGHUP (a hung-up terminal) only detaches, and the trainer trains on until
`tuirnn stop`. These train a tiny model for real (seconds on a CPU).
"""
from __future__ import annotations

import os
import shutil
import signal
import time

import pytest
from conftest import run_cli, tiny_config
from tmux_driver import (  # noqa: F401
    Tmux,
    events,
    exit_status,
    running,
    shell_command,
    stop_trainers,
    trainer_pid,
    wait_grows,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stop_trainers"),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def test_train_pause_sample_resume_quit_and_resume(tmp_path):
    run_dir = tmp_path / "run"
    done = tmp_path / "exit"
    tmux = Tmux(shell_command("run", "configs/tiny.yaml", "--run-dir", str(run_dir),
                              "--set", "train.max_iters=5000", "--set", "train.eval_every=50",
                              exit_file=done))
    try:
        tmux.wait_for("· T 0.8 ·", timeout=90)      # the first sample's header line
        tmux.keys("Space")
        screen = tmux.wait_for("PAUSED")
        tmux.keys("s")
        tmux.wait_for("Sample now")
        tmux.keys("The ", literal=True)
        tmux.keys("Enter")
        screen = tmux.wait_for("requested")
        end = time.monotonic() + 120  # generous: a loaded 2-core CI machine is slow
        while "generating" in screen and time.monotonic() < end:
            time.sleep(0.2)
            screen = tmux.capture()
        assert "generating" not in screen and "PAUSED" in screen, screen
        # the sample asked for, primed; its seed is fresh, so its length on screen varies
        # (a long one shows its end): the log says what was drawn
        asked = [e for e in events(run_dir)
                 if e["event"] == "SampleGenerated" and e.get("request_id") is not None]
        assert asked and asked[-1]["text"].startswith("The ") and asked[-1]["prime"] == "The "
        assert f"seed {asked[-1]['seed']}" in screen, screen
        tmux.keys("Space")
        tmux.wait_for("TRAINING")
        tmux.keys("q")
        status = exit_status(done)
        assert status == 0, tmux.capture()
    finally:
        tmux.kill()
    assert (run_dir / "checkpoints" / "last.pt").exists()
    names = [e["event"] for e in events(run_dir)]
    assert "Paused" in names and "Resumed" in names
    assert any(e["event"] == "SampleGenerated" and e.get("prime") == "The " for e in events(run_dir))
    finished = [e for e in events(run_dir) if e["event"] == "RunFinished"]
    assert finished[-1]["reason"] == "stopped"
    stopped_at = finished[-1]["iteration"]
    assert trainer_pid(run_dir) is None            # q stopped the trainer, not only the monitor

    # --resume continues the same run from where it stopped, in the monitor again
    done.unlink()
    tmux = Tmux(shell_command("run", "--resume", str(run_dir), "--set",
                              f"train.max_iters={stopped_at + 20}", exit_file=done))
    try:
        tmux.wait_for("FINISHED", timeout=90)
        tmux.keys("q")
        assert exit_status(done) == 0
    finally:
        tmux.kill()
    starts = [e for e in events(run_dir) if e["event"] == "RunStarted"]
    assert starts[-1]["start_iter"] == stopped_at


def start_monitor(tmp_path, corpus):
    """`tuirnn run` of a long tiny run in tmux, training past iter 0; returns (tmux, run folder,
    exit file, monitor pid)."""
    cfg = tiny_config(tmp_path, corpus, max_iters=100_000, eval_every=50, log_every=5)
    run_dir, done, pid_file = tmp_path / "run", tmp_path / "exit", tmp_path / "pid"
    tmux = Tmux(shell_command("run", str(cfg), "--run-dir", str(run_dir),
                              exit_file=done, pid_file=pid_file))
    screen = tmux.wait_for("TRAINING", timeout=90)
    deadline = time.monotonic() + 60
    while "iter 0/" in screen and time.monotonic() < deadline:
        time.sleep(0.1)
        screen = tmux.capture()
    return tmux, run_dir, done, int(pid_file.read_text())


def test_sigterm_to_the_monitor_stops_the_run_and_saves(tmp_path, corpus_file):
    tmux, run_dir, done, pid = start_monitor(tmp_path, corpus_file)
    try:
        trainer = trainer_pid(run_dir)
        assert trainer is not None and trainer != pid     # the trainer is a process of its own
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        status = exit_status(done, timeout=60)
        took = time.monotonic() - t0
    finally:
        tmux.kill()
    assert status == 0
    assert took < 30
    assert (run_dir / "checkpoints" / "last.pt").exists()
    last = [e for e in events(run_dir) if e["event"] == "RunFinished"][-1]
    assert last["reason"] == "stopped"
    wait_until(lambda: not running(trainer), 15, "the trainer exiting")


def test_sighup_to_the_monitor_detaches_and_the_run_goes_on(tmp_path, corpus_file):
    tmux, run_dir, done, pid = start_monitor(tmp_path, corpus_file)
    try:
        os.kill(pid, signal.SIGHUP)
        assert exit_status(done, timeout=30) == 0
    finally:
        tmux.kill()
    assert not any(e["event"] == "RunFinished" for e in events(run_dir))
    wait_grows(run_dir / "events.jsonl")                   # still training, nobody attached
    assert trainer_pid(run_dir) is not None
    t0 = time.time()
    proc = run_cli("stop", str(run_dir), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"stopped {run_dir.name} at iter" in proc.stdout
    assert (run_dir / "checkpoints" / "last.pt").stat().st_mtime >= t0 - 1
    assert [e for e in events(run_dir) if e["event"] == "RunFinished"][-1]["reason"] == "stopped"
    assert trainer_pid(run_dir) is None
