"""Alerts: divergence stops a headless run (exit 1, best.pt kept sane) and pauses a watched
one; overfitting and plateau are events and header marks."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch
from conftest import make_text
from test_ui_app import SIZE, screen_text
from ui_fakes import fake_run, sync

from tuirnn.core import checkpoint, config
from tuirnn.core.alerts import AlertWatch
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.events import (
    AlertCleared,
    AlertRaised,
    EvalCompleted,
    Paused,
    Resumed,
    RunFinished,
    from_json_dict,
    to_json_dict,
)
from tuirnn.core.train import Trainer
from tuirnn.tui.app import make_app

ROOT = Path(__file__).resolve().parent.parent


# --- the bookkeeping alone --------------------------------------------------------------------
def test_divergence_nan_or_three_times_the_first_loss_once():
    w = AlertWatch()
    assert w.train_losses(10, [4.0, 3.9]) is None
    assert w.train_losses(20, [11.9]) is None                  # under 3x 4.0
    alert = w.train_losses(30, [3.0, 12.5])
    assert alert.kind == "diverged" and alert.value == 12.5 and "iter 30" in alert.message
    assert w.train_losses(40, [float("nan")]) is None           # said once
    assert w.train_losses(50, [3.1]) == AlertCleared(50, "diverged")
    assert w.train_losses(60, [float("inf")]).kind == "diverged"
    assert AlertWatch().val_exploded(float("nan"))


def test_overfitting_after_three_rises_and_plateau_after_n_evals():
    w = AlertWatch(plateau_evals=4)
    kinds = []
    for it, val in enumerate([2.0, 1.8, 1.9, 2.0, 2.1, 2.2, 1.95, 1.7], 1):
        kinds.append([(type(e).__name__, e.kind) for e in w.val_loss(it * 100, val)])
    assert kinds[4] == [("AlertRaised", "overfitting")]        # 1.8 -> 1.9 -> 2.0 -> 2.1
    assert kinds[5] == [("AlertRaised", "plateau")]            # 4 evals since 1.8
    assert kinds[6] == [("AlertCleared", "overfitting")]       # it fell
    assert kinds[7] == [("AlertCleared", "plateau")]           # a new best
    assert all(k == [] for k in kinds[:4])
    assert AlertWatch(plateau_evals=0).val_loss(1, 1.0) == []


def test_alert_events_round_trip_as_json():
    ev = AlertRaised(57, "diverged", "loss is exploding: nan at iter 57", float("nan"), "paused")
    back = from_json_dict(json.loads(json.dumps(to_json_dict(ev))))
    assert back.kind == "diverged" and back.action == "paused" and math.isnan(back.value)
    assert from_json_dict(to_json_dict(AlertCleared(3, "plateau"))) == AlertCleared(3, "plateau")


# --- the trainer ------------------------------------------------------------------------------
def small(lr, iters, clip=0.0):
    return config.load(None, ["model.hidden_size=16", "model.embed_size=8", "train.batch_size=4",
                              "train.seq_length=8", "train.log_every=2", "train.eval_every=4",
                              f"train.max_iters={iters}", f"train.learning_rate={lr}",
                              f"train.grad_clip={clip}", "sample.length=5", "train.threads=1"])


def run(cfg, run_dir, watched=False, resume=None, control=None):
    events = []
    t = Trainer(cfg, run_dir, [events.append], control or Control(),
                Corpus.from_text(make_text(1500, seed=3), "t", 0.1), resume,
                watched=lambda: watched)
    t.run()
    return t, events


def test_watched_divergence_pauses_and_a_diverged_eval_is_never_best(tmp_path):
    sane, _ = run(small(2e-3, 8), tmp_path)
    best_before = (tmp_path / "checkpoints" / "best.pt").read_bytes()
    state = checkpoint.load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    control = Control()
    cfg = small(1e6, 40)
    events = []

    def sink(ev):                 # the user looks, then goes on anyway, then stops
        events.append(ev)
        if isinstance(ev, Paused):
            control.resume()
        if isinstance(ev, EvalCompleted) and ev.iteration >= 24:
            control.stop()

    t = Trainer(cfg, tmp_path, [sink], control, Corpus.from_text(make_text(1500, seed=3), "t", 0.1),
                state, watched=lambda: True)
    t.run()
    alerts = [e for e in events if isinstance(e, AlertRaised)]
    assert alerts[0].kind == "diverged" and alerts[0].action == "paused"
    paused = [e for e in events if isinstance(e, Paused)]
    assert paused and paused[0].iteration == alerts[0].iteration   # at once, not a step later
    assert any(isinstance(e, Resumed) for e in events)
    evals = [e for e in events if isinstance(e, EvalCompleted)]
    assert evals and not any(e.is_best for e in evals)
    assert (tmp_path / "checkpoints" / "best.pt").read_bytes() == best_before
    assert events[-1].reason == "stopped"


def test_e2e_headless_divergence_exits_1_with_best_pt_sane(tmp_path):
    """lr 1e6, no clipping, on a run that has a sane best.pt: one line, exit 1."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(4000, seed=1), encoding="utf-8")
    run_dir = tmp_path / "run"
    common = [sys.executable, "-m", "tuirnn", "run", "--headless"]
    sets = ["model.hidden_size=16", "model.num_layers=1", "train.batch_size=4",
            "train.seq_length=16", "train.eval_every=10", "train.log_every=5", "train.threads=1",
            "sample.length=20", f"data.path={corpus}", "data.val_frac=0.1"]
    first = subprocess.run(common + ["--run-dir", str(run_dir), "--set", "train.max_iters=10"]
                           + [a for s in sets for a in ("--set", s)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    best = checkpoint.load_checkpoint(run_dir / "checkpoints" / "best.pt")
    blown = subprocess.run(common + ["--resume", str(run_dir), "--set", "train.max_iters=200",
                                     "--set", "train.learning_rate=1e6", "--set", "train.grad_clip=0"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert blown.returncode == 1, blown.stdout + blown.stderr
    lines = [ln for ln in blown.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: loss is exploding")
    assert "at iter" in lines[0] and "last.pt" in lines[0] and "Traceback" not in blown.stderr
    after = checkpoint.load_checkpoint(run_dir / "checkpoints" / "best.pt")
    assert after["iteration"] == best["iteration"] == 10
    assert all(torch.isfinite(v).all() for v in after["model"].values())
    last = checkpoint.load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert last["iteration"] > 10                       # the diverged state, saved to look at
    logged = [json.loads(ln) for ln in (run_dir / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "AlertRaised" and e["action"] == "stopped" for e in logged)
    assert logged[-1]["event"] == "RunFinished" and logged[-1]["reason"] == "diverged"


# --- the monitor ------------------------------------------------------------------------------
@sync
async def test_monitor_red_banner_on_divergence_and_header_marks():
    app = make_app(events=fake_run(20))
    async with app.run_test(size=SIZE) as pilot:
        app.feed(AlertRaised(200, "overfitting", "overfitting? val loss rose 3 evals in a row",
                             1.9),
                 AlertRaised(200, "plateau", "plateau: no new best val loss in 5 evals", 1.9))
        await pilot.pause()
        text = screen_text(app)
        assert "overfitting?" in text and "plateau" in text
        app.feed(AlertCleared(300, "plateau"))
        app.feed(AlertRaised(210, "diverged", "loss is exploding: nan at iter 210", float("nan"),
                             "paused"), Paused(210))
        await pilot.pause()
        text = screen_text(app)
        banner = app.monitor.query_one("#banner")
        assert banner.display and banner.has_class("failed")
        assert "loss diverged, run paused" in text and "nan at iter 210" in text
        assert "DIVERGED" in text and "plateau" not in text.split("\n")[0]
        app.feed(Resumed(210))
        await pilot.pause()
        assert not banner.display
        app.feed(RunFinished(220, "diverged", 1.6, None))
        await pilot.pause()
        assert banner.display and "✖ diverged at iter 220" in screen_text(app)


def test_e2e_divergence_pauses_a_run_its_monitor_watches(tmp_path, monkeypatch):
    """The way `tuirnn run` in a terminal starts a trainer (its monitor on the way): the
    divergence pauses the run, the attached client hears why, and a stop ends it with exit 0."""
    import time

    from tuirnn.cli import launch
    from tuirnn.remote.client import connect
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(4000, seed=1), encoding="utf-8")
    sets = ["model.hidden_size=16", "model.num_layers=1", "train.batch_size=4",
            "train.seq_length=16", "train.eval_every=50", "train.log_every=5", "train.threads=1",
            "sample.length=20", f"data.path={corpus}", "data.val_frac=0.1",
            "train.max_iters=100000", "train.learning_rate=1e6", "train.grad_clip=0"]
    argv = ["run", "--run-dir", str(tmp_path / "run")] + [a for s in sets for a in ("--set", s)]
    proc, run_dir = launch.start_trainer(argv + ["--headless"])
    assert run_dir is not None
    got = []
    ctl = connect(run_dir, on_event=got.append, on_history=got.extend)
    try:
        deadline = time.monotonic() + 60
        while not any(isinstance(e, Paused) for e in got) and time.monotonic() < deadline:
            time.sleep(0.05)
        alert = next(e for e in got if isinstance(e, AlertRaised))
        assert alert.kind == "diverged" and alert.action == "paused"
        assert proc.poll() is None                       # paused, waiting for the user
        ctl.stop()
        assert proc.wait(60) == 0
    finally:
        ctl.close()
        if proc.poll() is None:
            proc.kill()
    assert (run_dir / "checkpoints" / "last.pt").exists()
    logged = (run_dir / "events.jsonl").read_text()
    assert '"action": "paused"' in logged and '"reason": "stopped"' in logged
