"""`tuirnn export`: a hand-written events.jsonl read back from the CSV (csv module) and from
TensorBoard's own event reader; values and steps equal to the log's."""
from __future__ import annotations

import builtins
import csv
from pathlib import Path

import pytest

from tuirnn.cli.main import main
from tuirnn.core.events import EvalCompleted, RunStarted, SampleGenerated, StepsCompleted
from tuirnn.core.runlog import EventLog

STEPS = [StepsCompleted(iteration=3, epoch=0.3, losses=(4.0, 3.5, 3.25), lr=2e-3,
                        chars_per_sec=1000.0, elapsed_s=1.0),
         StepsCompleted(iteration=6, epoch=0.6, losses=(3.0, 2.75, 2.5), lr=1e-3,
                        chars_per_sec=1500.0, elapsed_s=2.0)]
EVALS = [EvalCompleted(iteration=3, epoch=0.3, val_loss=3.4, best_val_loss=3.4, is_best=True),
         EvalCompleted(iteration=6, epoch=0.6, val_loss=2.6, best_val_loss=2.6, is_best=True)]


def sample(iteration: int, text: str, timeline: bool, request_id: int | None = None) -> SampleGenerated:
    return SampleGenerated(iteration=iteration, text=text, prime="", temperature=0.8, top_k=0,
                           seed=1, val_loss=3.0, word_share=0.5, request_id=request_id,
                           timeline=timeline)


SAMPLES = [sample(3, "noise, \"x\"\nzq", True), sample(3, "random one", False),
           sample(6, "words and\n  words", True), sample(6, "asked for", True, request_id=7)]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "tiny-20260101"
    run.mkdir()
    log = EventLog(run / "events.jsonl")
    log(RunStarted(run_name="tiny", run_dir=str(run), cell="lstm", hidden_size=8, num_layers=1,
                   num_params=100, device="cpu", vocab="abc", train_chars=100, val_chars=10,
                   iters_per_epoch=10, max_iters=6, start_iter=0, batch_size=2, seq_length=5,
                   learning_rate=2e-3, config={}))
    for ev in (STEPS[0], EVALS[0], SAMPLES[0], SAMPLES[1], STEPS[1], EVALS[1], SAMPLES[2], SAMPLES[3]):
        log(ev)
    log.close()
    return run


def test_csv_has_a_row_per_step_eval_and_checkpoint_sample(run_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run.csv"
    assert main(["export", str(run_dir), "--csv", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    with open(out, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    steps = [r for r in table if r["kind"] == "step"]
    assert [int(r["iteration"]) for r in steps] == [1, 2, 3, 4, 5, 6]
    assert [float(r["train_loss"]) for r in steps] == [x for s in STEPS for x in s.losses]
    assert [float(r["lr"]) for r in steps] == [2e-3] * 3 + [1e-3] * 3
    assert float(steps[-1]["epoch"]) == pytest.approx(0.6)
    evals = [r for r in table if r["kind"] == "eval"]
    assert [(int(r["iteration"]), float(r["val_loss"])) for r in evals] == [(3, 3.4), (6, 2.6)]
    assert evals[0]["train_loss"] == ""          # columns of other kinds are empty
    samples = [r for r in table if r["kind"] == "sample"]
    # the requested sample is left out; text with quotes and newlines survives the round trip
    assert [r["text"] for r in samples] == [s.text for s in SAMPLES[:3]]
    assert [r["timeline"] for r in samples] == ["True", "False", "True"]


def test_tensorboard_read_back_with_tensorboards_reader(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tb = tmp_path / "tb"
    assert main(["export", str(run_dir), "--tensorboard", str(tb)]) == 0
    assert main(["export", str(run_dir), "--tensorboard", str(tb)]) == 0   # replaces, never doubles
    assert len(list((tb / run_dir.name).glob("events.out.tfevents.*"))) == 1
    acc = EventAccumulator(str(tb / run_dir.name), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()

    def scalars(tag: str) -> list[tuple[int, float]]:
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    assert scalars("train/loss") == [(i + 1, x) for i, x in
                                     enumerate(x for s in STEPS for x in s.losses)]
    assert scalars("val/loss") == [(e.iteration, pytest.approx(e.val_loss)) for e in EVALS]
    assert scalars("lr") == [(s.iteration, pytest.approx(s.lr)) for s in STEPS]
    assert scalars("chars_per_sec") == [(s.iteration, s.chars_per_sec) for s in STEPS]
    texts = acc.Tensors("samples/timeline/text_summary")
    assert [t.step for t in texts] == [3, 6]       # the fixed samples only, one per checkpoint
    shown = [t.tensor_proto.string_val[0].decode("utf-8") for t in texts]
    assert [s.replace("\n    ", "\n").removeprefix("    ") for s in shown] == [SAMPLES[0].text,
                                                                              SAMPLES[2].text]


def test_missing_extra_is_one_line_naming_it(run_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard") or name == "torch.utils.tensorboard":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert main(["export", str(run_dir), "--tensorboard", str(tmp_path / "tb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'tuirnn[tensorboard]'" in err
    assert not (tmp_path / "tb").exists()


def test_not_a_run_folder_and_nothing_asked(tmp_path: Path, run_dir: Path, capsys) -> None:
    assert main(["export", str(tmp_path / "nope"), "--csv", str(tmp_path / "a.csv")]) == 2
    assert main(["export", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "events.jsonl" in err and "--csv" in err
