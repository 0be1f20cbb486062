"""The Trainer end to end on tiny CPU runs: exact resume, control requests, checkpoints."""
from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
import torch
from conftest import make_text

from tuirnn.core import checkpoint, config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.errors import StorageError
from tuirnn.core.events import (
    CheckpointSaved,
    EvalCompleted,
    Paused,
    RunFinished,
    SampleChunkGenerated,
    SampleGenerated,
    StepsCompleted,
)
from tuirnn.core.train import Trainer


def small_cfg(**train):
    cfg = config.load(None, ["model.hidden_size=16", "model.embed_size=8", "model.num_layers=2",
                             "model.dropout=0.3", "train.batch_size=4", "train.seq_length=8",
                             "train.log_every=1", "train.eval_every=5", "sample.length=10",
                             "train.lr_decay_after=1", "train.lr_decay=0.5"])
    for k, v in train.items():
        config.set_key(cfg, f"train.{k}", v)
    return cfg


def corpus(n=1500):
    return Corpus.from_text(make_text(n, seed=3), "t", 0.1)


def train(cfg, run_dir: Path, resume=None, control=None, c=None):
    events: list = []
    run_dir.mkdir(parents=True, exist_ok=True)
    t = Trainer(cfg, run_dir, [events.append], control or Control(), c or corpus(), resume)
    t.run()
    return t, events


def step_losses(events):
    return [loss for e in events if isinstance(e, StepsCompleted) for loss in e.losses]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_resume_continues_the_same_curve(tmp_path, cell):
    # 1350 train chars / (4*8) = 42 iterations an epoch: the runs cross an epoch wrap,
    # an lr decay, evals, samples and dropout draws.
    N = 30
    cfg = small_cfg(max_iters=2 * N)
    cfg.model.cell = cell
    _, straight = train(cfg, tmp_path / "a")
    first_cfg = small_cfg(max_iters=N)
    first_cfg.model.cell = cell
    _, first = train(first_cfg, tmp_path / "b")
    state = checkpoint.load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    config.set_key(first_cfg, "train.max_iters", 2 * N)
    t, second = train(first_cfg, tmp_path / "b", resume=state)
    resumed = step_losses(first) + step_losses(second)
    assert len(resumed) == 2 * N
    assert resumed == pytest.approx(step_losses(straight), abs=1e-6)
    assert t.lr == pytest.approx(cfg.train.learning_rate * 0.5)  # decayed once, after epoch 1


def test_checkpoints_and_events(tmp_path):
    t, events = train(small_cfg(max_iters=10), tmp_path / "r")
    folder = tmp_path / "r" / "checkpoints"
    snaps = sorted(p.name for p in folder.glob("iter*.pt"))
    assert len(snaps) == 2 and snaps[0].startswith("iter0000005_epoch0.12_val")
    assert (folder / "last.pt").exists() and (folder / "best.pt").exists()
    evals = [e for e in events if isinstance(e, EvalCompleted)]
    assert [e.iteration for e in evals] == [5, 10]
    samples = [e for e in events if isinstance(e, SampleGenerated) and not e.timeline]
    assert len(samples) == 2 and all(len(s.text) == 10 for s in samples)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "max_iters"
    assert events[-1].best_val_loss == min(e.val_loss for e in evals)
    # a snapshot samples but cannot resume (no optimiser state)
    model, vocab, ck = checkpoint.model_from_checkpoint(folder / snaps[0])
    assert "optimizer" not in ck and ck["iteration"] == 5


def test_loss_goes_down_for_every_cell(tmp_path):
    for cell in ("lstm", "gru", "rnn"):
        cfg = small_cfg(max_iters=60, eval_every=1000, learning_rate=0.01)
        cfg.model.cell = cell
        cfg.model.dropout = 0.0
        _, events = train(cfg, tmp_path / cell)
        losses = step_losses(events)
        assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 0.3, cell


def test_pause_sample_save_resume_stop_from_another_thread(tmp_path):
    control = Control()
    events = []
    seen = threading.Event()

    def sink(e):
        events.append(e)
        if isinstance(e, StepsCompleted) and e.iteration == 3:
            control.pause()
        if isinstance(e, Paused):
            control.request_sample(prime="the", temperature=0.5, length=30, seed=7)
            control.request_save()
        if isinstance(e, SampleGenerated) and e.request_id is not None:
            seen.set()
            control.resume()
        if isinstance(e, StepsCompleted) and e.iteration == 8:
            control.stop()

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    Trainer(small_cfg(max_iters=1000, eval_every=1000), run_dir, [sink], control, corpus()).run()
    assert seen.is_set()
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("Paused") < kinds.index("SampleGenerated") < kinds.index("Resumed")
    paused = next(e for e in events if isinstance(e, Paused))
    assert paused.iteration == 3
    chunks = "".join(e.text for e in events if isinstance(e, SampleChunkGenerated))
    sample = next(e for e in events if isinstance(e, SampleGenerated))
    assert chunks == sample.text and sample.text.startswith("the") and len(sample.text) == 33
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert saved[0].kind == "manual" and saved[0].iteration == 3
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "stopped"
    assert events[-1].iteration == 8
    assert len(step_losses(events)) == 8   # every step reported, the last window too
    assert checkpoint.load_checkpoint(run_dir / "checkpoints" / "last.pt")["iteration"] == 8


def test_requested_sample_does_not_change_training(tmp_path):
    """Sampling uses its own generator: the training curve is the same with or without it."""
    _, plain = train(small_cfg(max_iters=12, eval_every=1000), tmp_path / "a")
    control = Control()
    for _ in range(3):
        control.request_sample(prime="", length=20, temperature=1.0)
    _, with_samples = train(small_cfg(max_iters=12, eval_every=1000), tmp_path / "b", control=control)
    assert step_losses(with_samples) == step_losses(plain)


def test_interrupted_checkpoint_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoint.save_atomic({"format": "x", "n": 1}, path)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(StorageError, match="cannot write .*last.pt .disk full.; the previous last.pt is kept"):
        checkpoint.save_atomic({"format": "x", "n": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left


def test_failure_is_an_event_and_a_file(tmp_path, monkeypatch):
    def boom(self):
        raise RuntimeError("simulated CUDA error")

    monkeypatch.setattr(Trainer, "evaluate", boom)
    t, events = train(small_cfg(max_iters=10), tmp_path / "r")
    assert type(events[-1]).__name__ == "RunFailed"
    assert "simulated CUDA error" in events[-1].error
    assert "Traceback" in (tmp_path / "r" / "error.log").read_text()


def test_sampling_is_seeded_and_top_k_limits_choices():
    from tuirnn.core.model import CharRNN
    from tuirnn.core.sample import generate
    torch.manual_seed(0)
    m = CharRNN(5, "lstm", 8, 1, 0.0, 4)
    a = "".join(generate(m, "abcde", 50, "ab", 1.0, 0, seed=3))
    b = "".join(generate(m, "abcde", 50, "ab", 1.0, 0, seed=3))
    c = "".join(generate(m, "abcde", 50, "ab", 1.0, 0, seed=4))
    assert a == b and a != c
    greedy = "".join(generate(m, "abcde", 20, "ab", argmax=True))
    assert greedy == "".join(generate(m, "abcde", 20, "ab", 1.0, top_k=1, seed=9))
    assert not math.isnan(0.0)


def test_probe_request_answers_with_activations_and_lists_unknown_chars(tmp_path):
    from tuirnn.core.probe import ProbeResult
    control = Control()
    control.request_probe(text="the war é", source="typed")
    control.request_probe(source="val", length=40)
    _, events = train(small_cfg(max_iters=1, eval_every=1000), tmp_path / "r", control=control)
    typed, val = [e for e in events if type(e).__name__ == "ProbeCompleted"]
    assert typed.text == "the war " and "é" in typed.dropped and typed.source == "typed"
    assert (typed.num_layers, typed.hidden_size) == (2, 16)
    result = ProbeResult.from_event(typed)
    assert result.h.shape == (2, 8, 16) and result.c.shape == (2, 8, 16)
    assert abs(result.c).max() <= 1.0
    assert len(val.text) == 40 and val.source == "val"


def test_stop_between_reports_still_reports_every_step(tmp_path):
    class StopAfterChecks(Control):
        """`stopped` turns true at its 8th reading: the loop reads it once before each step."""
        checks = 0

        @property
        def stopped(self):
            self.checks += 1
            return self.checks >= 8

    _, events = train(small_cfg(max_iters=100, log_every=5, eval_every=1000), tmp_path / "r",
                      control=StopAfterChecks())
    reports = [e for e in events if isinstance(e, StepsCompleted)]
    assert [(r.iteration, len(r.losses)) for r in reports] == [(5, 5), (7, 2)]
    assert isinstance(events[-1], RunFinished) and events[-1].iteration == 7


def test_every_control_satisfies_the_protocols() -> None:
    """The Trainer is typed against TrainerControl; monitors steer through ControlLike. mypy
    checks these assignments structurally; the loop checks the same at run time."""
    from tuirnn.core.control import ControlLike, TrainerControl
    from tuirnn.core.ranks import SyncedControl
    from tuirnn.remote.client import RemoteControl
    steer: list[type[ControlLike]] = [Control, RemoteControl, SyncedControl]
    drive: list[type[TrainerControl]] = [Control, SyncedControl]
    for cls in steer:
        assert all(callable(getattr(cls, name)) for name in ("pause", "stop"))
        assert all(isinstance(getattr(cls, name), property) for name in ("paused", "stopped"))
    for cls in drive:
        assert isinstance(vars(cls)["has_work"], property)
        assert all(callable(getattr(cls, name)) for name in ("take", "wait"))
