"""One run per folder: exclusive folders, the run lock, resumable dead ends, honest overrides,
and a history that drops what a crashed process logged past its checkpoint."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, assert_user_error, run_cli, tiny_config

from tuirnn.core import checkpoint, config, runlog
from tuirnn.core.errors import UserError
from tuirnn.core.events import (
    EvalCompleted,
    ProbeCompleted,
    RunResumed,
    RunStarted,
    SampleGenerated,
    StepsCompleted,
)
from tuirnn.tui.state import RunState


# --- the lock ---------------------------------------------------------------------------------
def test_lock_refuses_a_second_holder_and_is_live_sees_it(tmp_path):
    assert not runlog.is_live(tmp_path)
    with runlog.RunLock(tmp_path):
        assert runlog.is_live(tmp_path) and runlog.is_live(tmp_path)  # probing does not disturb
        with pytest.raises(UserError, match=f"in use by process {os.getpid()}; attach to it or stop it"):
            runlog.RunLock(tmp_path).acquire()
        assert runlog.holder(tmp_path)[0] == os.getpid()
    assert not runlog.is_live(tmp_path)
    runlog.RunLock(tmp_path).acquire().release()          # free again once released


def test_lock_dies_with_its_process(tmp_path):
    """Another process's lock is seen; a kill -9 frees the folder at once."""
    code = ("import sys, time; from tuirnn.core.runlog import RunLock; "
            f"RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "held"
        assert runlog.is_live(tmp_path)
        with pytest.raises(UserError, match=f"in use by process {child.pid}"):
            runlog.RunLock(tmp_path).acquire()
    finally:
        child.kill()
        child.wait()
    assert not runlog.is_live(tmp_path)


def test_folders_made_at_once_get_suffixes(tmp_path):
    """Eight makers of one name at the same moment get eight folders, each locked."""
    base = tmp_path / "runs" / "tiny-20250101-000000"
    made, barrier = [], threading.Barrier(8)

    def make():
        barrier.wait()
        made.append(runlog.make_run_dir(base, exact=False))
    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(p.name for p, _ in made)
    assert names == sorted([base.name] + [f"{base.name}-{n}" for n in range(2, 9)])
    assert all(runlog.is_live(p) for p, _ in made)
    for _, lock in made:
        lock.release()


# --- history -----------------------------------------------------------------------------------
def steps(upto: int, every: int = 10) -> list[StepsCompleted]:
    """Step reports for iterations 1..upto whose loss is the iteration number."""
    return [StepsCompleted(i, i / 100, tuple(float(k) for k in range(i - every + 1, i + 1)), 1e-3, 1.0, 1.0)
            for i in range(every, upto + 1, every)]


def test_history_drops_the_abandoned_future():
    """A process logged up to 40 and died; its checkpoint was at 25: 26..40 are done again."""
    first = [*steps(40), EvalCompleted(20, 0.2, 2.0, 2.0, True), SampleGenerated(30, "x", "", 1, 0, 1, 2.0, 0.5)]
    second = [RunResumed(25), *[StepsCompleted(i, i / 100, tuple(float(k) for k in range(max(26, i - 9), i + 1)),
                                               1e-3, 1.0, 1.0) for i in (30, 40, 50)]]
    history = runlog.drop_abandoned(first + second)
    losses = [x for ev in history if isinstance(ev, StepsCompleted) for x in ev.losses]
    assert losses == [float(k) for k in range(1, 51)]         # no loop, no gap
    its = [ev.iteration for ev in history if isinstance(ev, StepsCompleted)]
    assert its == sorted(set(its)) == [10, 20, 25, 30, 40, 50]  # the report at 30 was cut at 25
    assert [e for e in history if isinstance(e, SampleGenerated)] == []      # drawn at 30, lost
    assert [e.iteration for e in history if isinstance(e, EvalCompleted)] == [20]


def test_monitor_state_rewinds_on_resume():
    st = RunState()
    st.apply(RunStarted("r", "d", "lstm", 16, 2, 1, "cpu", "ab", 1, 1, 100, 100, 0, 1, 1, 1e-3, {}))
    for ev in [*steps(40), EvalCompleted(20, 0.2, 2.0, 2.0, True), EvalCompleted(40, 0.4, 1.0, 1.0, True)]:
        st.apply(ev)
    st.apply(RunResumed(25))
    assert list(st.losses) == [float(k) for k in range(1, 26)] and len(st.smooth) == 25
    assert st.val == [(20, 2.0)] and st.best == (20, 2.0)
    st.apply(StepsCompleted(30, 0.3, (26.0, 27.0, 28.0, 29.0, 30.0), 1e-3, 1.0, 1.0))
    assert list(st.losses) == [float(k) for k in range(1, 31)]


def test_a_torn_last_line_never_swallows_the_next_event(tmp_path):
    log_path = tmp_path / "events.jsonl"
    log_path.write_text(json.dumps({"event": "RunResumed", "iteration": 3}) + "\n" + '{"event": "Steps')
    log = runlog.EventLog(log_path)
    log(RunResumed(7))
    log.close()
    assert [e.iteration for e in runlog.read_events(log_path, raw=True)] == [3, 7]


def test_a_probe_text_is_never_logged(tmp_path):
    """A probe's text may be a file only the owner can read, named in the monitor: events.jsonl,
    which others may read, holds no trace of it (the live client got it through the socket)."""
    log_path = tmp_path / "events.jsonl"
    log = runlog.EventLog(log_path)
    secret = "password: hunter2\n"
    log(ProbeCompleted(5, secret, "lstm", 1, 2, 1, h=b"", c=b"", top_ids=b"", top_probs=b"",
                       vocab="abc", source="file", where="/home/owner/.secret"))
    log(RunResumed(7))
    log.close()
    text = log_path.read_text()
    assert "hunter2" not in text and ".secret" not in text and "ProbeCompleted" not in text
    assert runlog.read_events(log_path, raw=True) == [RunResumed(7)]


def test_the_event_log_never_appends_through_a_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, tmp_path / "events.jsonl")
    with pytest.raises(UserError, match="is a link or not a regular file"):
        runlog.EventLog(tmp_path / "events.jsonl")
    assert victim.read_text() == "keep me\n"


# --- reopening a folder ------------------------------------------------------------------------------
def test_reopening_removes_stale_temps_and_reconciles_best(tmp_path):
    """A kill during the best.pt save left an older best.pt and a temp file behind."""
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / ".last.pt.abc123.tmp").write_bytes(b"x" * 100)
    (tmp_path / ".config.yaml.tmp").write_text("half")
    w = {"w": torch.zeros(2)}
    checkpoint.save_atomic({"model": w, "val_loss": 2.4721, "best_val_loss": 2.4721, "iteration": 85}, ck / "best.pt")
    last = {"model": {"w": torch.ones(2)}, "val_loss": 2.4348, "best_val_loss": 2.4348, "iteration": 90}
    checkpoint.save_atomic(last, ck / "last.pt")
    lock, removed = runlog.open_run_dir(tmp_path)
    lock.release()
    assert removed == 2 and not list(tmp_path.rglob("*.tmp"))
    assert checkpoint.reconcile_best(ck, dict(last, path="x")) == 2.4348
    best = torch.load(ck / "best.pt", weights_only=True)
    assert best["iteration"] == 90 and best["val_loss"] == 2.4348 and "path" not in best


def test_reconcile_keeps_the_best_on_disk_when_none_matches(tmp_path):
    checkpoint.save_atomic({"val_loss": 2.5, "iteration": 85}, tmp_path / "best.pt")
    last = {"val_loss": 2.6, "best_val_loss": 2.4, "iteration": 90}
    assert checkpoint.reconcile_best(tmp_path, last) == 2.5    # what is on disk counts


# --- the CLI ----------------------------------------------------------------------------------------
def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def started(run_dir: Path) -> bool:
    log = run_dir / "events.jsonl"
    return log.exists() and '"RunStarted"' in log.read_text()


def test_eight_starts_at_once_make_eight_folders(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=2, eval_every=2)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = [subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--headless",
                               "--set", f"model.cell={cell}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cell in ["lstm", "gru"] * 4]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 8
    cells = []
    for folder in folders:
        events = runlog.read_events(folder / "events.jsonl", raw=True)
        starts = [e for e in events if isinstance(e, RunStarted)]
        assert len(starts) == 1 and starts[0].run_dir == str(folder)     # one run per folder
        saved = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["config"]
        assert saved["model"]["cell"] == starts[0].cell == config.load(folder / "config.yaml").model.cell
        cells.append(starts[0].cell)
    assert sorted(cells) == ["gru"] * 4 + ["lstm"] * 4


def test_a_live_folder_is_refused_then_resumes_with_honest_overrides(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file, max_iters=100000, eval_every=20, log_every=5)
    run_dir = tmp_path / "run"
    live = subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--run-dir", str(run_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: started(run_dir) and "CheckpointSaved" in (run_dir / "events.jsonl").read_text())
        for args in (["--resume", str(run_dir)], [str(cfg), "--run-dir", str(run_dir)]):
            assert_user_error(run_cli("run", *args), f"is in use by process {live.pid}", "stop it first")
        assert runlog.is_live(run_dir)
    finally:
        live.send_signal(signal.SIGTERM)
        live.communicate(timeout=60)
    assert live.returncode == 0 and not runlog.is_live(run_dir)
    before = (run_dir / "checkpoints" / "last.pt").read_bytes()
    refused = run_cli("run", "--resume", str(run_dir), "--set", "train.optimizer=rmsprop")
    assert_user_error(refused, "train.optimizer cannot change with --resume")
    assert (run_dir / "checkpoints" / "last.pt").read_bytes() == before
    assert config.load(run_dir / "config.yaml").train.optimizer == "adam"   # config.yaml unchanged
    stopped_at = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["iteration"]
    more = run_cli("run", "--resume", str(run_dir), "--set", f"train.max_iters={stopped_at + 10}",
                   "--set", "train.learning_rate=1e-4")
    assert more.returncode == 0, more.stderr
    events = runlog.read_events(run_dir / "events.jsonl", raw=True)
    after = events[events.index(RunResumed(stopped_at)):]
    lrs = {e.lr for e in after if isinstance(e, StepsCompleted)}
    assert lrs == {1e-4}                                      # the override is in force ...
    assert config.load(run_dir / "config.yaml").train.learning_rate == 1e-4   # ... and recorded


def test_a_folder_without_a_checkpoint_resumes_from_zero(tmp_path, corpus_file):
    """A process that died before its first save left config.yaml and a torn events.jsonl."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = config.load(tiny_config(tmp_path, corpus_file, max_iters=4, eval_every=2))
    runlog.write_config(run_dir, cfg)
    (run_dir / "events.jsonl").write_text('{"event": "RunStarted", "run_na')
    again = run_cli("run", str(tiny_config(tmp_path, corpus_file)), "--run-dir", str(run_dir))
    assert_user_error(again, "already holds a run", "--resume")
    proc = run_cli("run", "--resume", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "starts again from iteration 0 with its config.yaml" in proc.stdout
    events = runlog.read_events(run_dir / "events.jsonl", raw=True)
    assert events[0] == RunResumed(0) and isinstance(events[1], RunStarted)
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 4
