"""Whenever and however a run stops, nothing saved is lost: kill -9 at random moments (inside
saves too), repeated and badly timed signals, a full disk, a read-only folder."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, assert_user_error, make_text, run_cli, tiny_config

from tuirnn.cli.stopping import StopSignals
from tuirnn.core import config, runlog
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.events import CheckpointSaved, RunFailed, RunFinished, StepsCompleted
from tuirnn.core.train import Trainer

ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuirnn", "run", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 90.0, poll: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)


def log_text(run_dir: Path) -> str:
    try:
        return (run_dir / "events.jsonl").read_text()
    except FileNotFoundError:
        return ""


def step_losses(run_dir: Path) -> list[float]:
    return [x for e in runlog.read_events(run_dir / "events.jsonl")
            if isinstance(e, StepsCompleted) for x in e.losses]


def assert_whole(run_dir: Path, kills: int) -> None:
    """Every checkpoint loads; at most one torn events.jsonl line per kill."""
    for p in (run_dir / "checkpoints").glob("*.pt"):
        ck = torch.load(p, weights_only=True)
        assert ck["format"] == "tuirnn-checkpoint", p
    lines = [x for x in log_text(run_dir).split("\n") if x]
    assert len(lines) - len(runlog.read_events(run_dir / "events.jsonl", raw=True)) <= kills


# --- kill -9 -----------------------------------------------------------------------------------
def test_kill_9_anywhere_then_resume_gives_the_uninterrupted_run(tmp_path, corpus_file):
    """Saves every iteration (last, best, snapshot), so kills land inside them often. The
    schedule is fixed: the first kill comes as the folder appears (before any checkpoint)."""
    cfg = tiny_config(tmp_path, corpus_file, max_iters=40, eval_every=1, log_every=1)
    reference = tmp_path / "reference"
    ref = start(str(cfg), "--run-dir", str(reference))          # runs beside the kills
    run_dir = tmp_path / "killed"
    rng = random.Random(20240611)
    kills = 0
    for delay in [None] + [rng.uniform(0.0, 0.8) for _ in range(6)]:
        args = ["--resume", str(run_dir)] if runlog.holds_run(run_dir) else [str(cfg), "--run-dir", str(run_dir)]
        starts = log_text(run_dir).count('"RunStarted"')
        proc = start(*args)
        if delay is None:
            wait_for(lambda p=proc: (run_dir / "config.yaml").exists() or p.poll() is not None,
                     poll=0.002)
        else:
            wait_for(lambda p=proc, n=starts: log_text(run_dir).count('"RunStarted"') > n
                     or p.poll() is not None)
            time.sleep(delay)
        if proc.poll() is not None:
            break
        proc.kill()
        proc.communicate()
        kills += 1
        assert_whole(run_dir, kills)
    assert kills >= 4, "the run finished before the schedule could kill it"
    final = start("--resume", str(run_dir))
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    out_ref, err_ref = ref.communicate(timeout=120)
    assert ref.returncode == 0, err_ref
    assert not list(run_dir.rglob("*.tmp"))
    last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    last_ref = torch.load(reference / "checkpoints" / "last.pt", weights_only=True)
    assert last["iteration"] == last_ref["iteration"] == 40
    assert last["val_loss"] == pytest.approx(last_ref["val_loss"], abs=1e-6)
    best = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert best["val_loss"] == last["best_val_loss"]            # best.pt agrees with last.pt
    # the history read back is the uninterrupted run's: every step once, no loops
    assert step_losses(run_dir) == pytest.approx(step_losses(reference), abs=1e-6)


# --- signals -----------------------------------------------------------------------------------
def test_second_signal_waits_for_the_save_third_abandons():
    said, control = [], Control()
    stops = StopSignals(control, say=said.append)
    stops.handle(signal.SIGINT)
    assert control.stopped and "saving checkpoints/last.pt" in said[-1]
    stops.handle(signal.SIGINT)
    assert said[-1].startswith("saving, one moment")
    stops(CheckpointSaved(50, "x/last.pt", "last", 2.0))
    with pytest.raises(KeyboardInterrupt):
        stops.handle(signal.SIGINT)
    assert "holds iteration 50" in stops.what_was_kept()
    done = StopSignals(Control(), say=said.append)
    done(RunFinished(60, "max_iters", None, None))
    done.handle(signal.SIGTERM)                     # after the finish: ignored
    assert not done.control.stopped


def test_double_sigint_saves_and_exits_0(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=100000, eval_every=100000, log_every=5)
    run_dir = tmp_path / "run"
    proc = start(str(cfg), "--run-dir", str(run_dir), "--set", "model.hidden_size=512")
    wait_for(lambda: "StepsCompleted" in log_text(run_dir))
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted" not in err and "Traceback" not in err
    finished = [e for e in runlog.read_events(run_dir / "events.jsonl") if isinstance(e, RunFinished)]
    last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert finished and last["iteration"] == finished[-1].iteration


def test_signal_as_the_folder_appears_leaves_it_resumable(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=4, eval_every=2)
    run_dir = tmp_path / "run"
    proc = start(str(cfg), "--run-dir", str(run_dir))
    wait_for(lambda: run_dir.exists() or proc.poll() is not None, poll=0.001)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    again = run_cli("run", "--resume", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 4


def test_signal_after_the_finish_exits_0(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=4, eval_every=2)
    run_dir = tmp_path / "run"
    proc = start(str(cfg), "--run-dir", str(run_dir))
    wait_for(lambda: "RunFinished" in log_text(run_dir) or proc.poll() is not None, poll=0.002)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "finished at iter 4" in out


# --- disks ------------------------------------------------------------------------------------------
def mounted_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True,
                       capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a tmpfs here ({e}); needs root and mount rights")


def unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=10)


@pytest.mark.parametrize("ranks", [1, 2])
def test_full_disk_says_so_and_keeps_the_previous_checkpoint(tmp_path, corpus_file, ranks):
    """Snapshots are all kept, so the disk fills up within a few evals. With 2 ranks, rank 0's
    failed write ends every rank at the same step (no rank left waiting in a collective)."""
    cfg = tiny_config(tmp_path, corpus_file, max_iters=60, eval_every=2, log_every=1)
    disk = tmp_path / "disk"
    mounted_tmpfs(disk, "size=256k")
    try:
        run_dir = disk / "run"
        more = ["--nproc", "2", "--set", "train.device=cpu"] if ranks == 2 else []
        proc = run_cli("run", str(cfg), "--run-dir", str(run_dir), "--set", "train.keep_snapshots=0",
                       *more)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        if ranks == 2:      # torchrun then reports a child that exited 1, in lines of its own
            lines = [x for x in lines if x.startswith("error:")]
        assert len(lines) == 1 and lines[0].startswith("error: No space left on device"), proc.stderr
        assert str(run_dir) in lines[0] and "is kept" in lines[0]
        if ".pt" in lines[0]:
            assert "needs about" in lines[0] and "KB" in lines[0]
        assert "Traceback" not in proc.stdout + (proc.stderr if ranks == 1 else "")
        last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
        assert last["iteration"] >= 2                        # the previous checkpoint is whole
        assert not list(run_dir.rglob("*.tmp"))
    finally:
        unmount(disk)


def test_read_only_checkpoints_is_one_line(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file)
    run_dir = tmp_path / "run"
    assert run_cli("run", str(cfg), "--run-dir", str(run_dir)).returncode == 0
    saved = tmp_path / "saved"
    shutil.copytree(run_dir / "checkpoints", saved)
    mounted_tmpfs(run_dir / "checkpoints", "ro,size=64k")
    try:
        proc = run_cli("run", "--resume", str(run_dir))
    finally:
        unmount(run_dir / "checkpoints")
    assert_user_error(proc, "cannot write", "checkpoints", "Read-only file system")


def test_events_that_cannot_grow_end_in_one_failure(tmp_path):
    """events.jsonl on a full device: one RunFailed naming it, error.log written."""
    cfg = config.load(None, ["model.hidden_size=16", "model.embed_size=8", "train.batch_size=4",
                             "train.seq_length=8", "train.max_iters=5", "train.eval_every=5",
                             "sample.length=5"])
    corpus = Corpus.from_text(make_text(3000), "t", 0.1)
    failures: list[RunFailed] = []
    trainer = Trainer(cfg, tmp_path, [runlog.EventLog(Path("/dev/full")),
                                      lambda ev: failures.append(ev) if isinstance(ev, RunFailed) else None],
                      Control(), corpus)
    trainer.run()                                  # never raises
    assert len(failures) == 1 and failures[0].exit_status == 1
    assert failures[0].error.startswith("No space left on device: writing /dev/full")
    assert "No space left" in (tmp_path / "error.log").read_text()
