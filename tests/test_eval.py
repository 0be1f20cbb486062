"""The held-out test split (data.test_frac) and `tuirnn eval`."""
from __future__ import annotations

import math
import re

import pytest
import torch
from conftest import make_text

from tuirnn.cli import main
from tuirnn.core import config as config_mod
from tuirnn.core.checkpoint import load_checkpoint
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus, encode, split_sizes, vocab_of
from tuirnn.core.train import Trainer


def train_tiny(tmp_path, test_frac: float = 0.1):
    """A 2x16 LSTM trained 8 steps on a self-made text; returns the run folder."""
    corpus_path = tmp_path / "corpus.txt"
    corpus_path.write_text(make_text(30_000), encoding="utf-8")
    cfg = config_mod.from_dict({
        "data": {"path": str(corpus_path), "val_frac": 0.1, "test_frac": test_frac},
        "model": {"hidden_size": 16, "num_layers": 2, "embed_size": 8, "dropout": 0.2},
        "train": {"batch_size": 4, "seq_length": 16, "max_iters": 8, "eval_every": 4,
                  "log_every": 4, "device": "cpu"},
        "sample": {"length": 10}})
    text = corpus_path.read_text(encoding="utf-8")
    corpus = Corpus.from_text(text, "corpus.txt", cfg.data.val_frac, cfg.data.test_frac)
    run_dir = tmp_path / "run"
    trainer = Trainer(cfg, run_dir, [], Control(), corpus)
    trainer.run()
    return run_dir, trainer


def printed_loss(out: str, label: str) -> tuple[float, float]:
    m = re.search(rf"^{label}.*: ([0-9.]+) nats/char, ([0-9.]+) bits/char", out, re.M)
    assert m, out
    return float(m.group(1)), float(m.group(2))


def test_splits_are_cut_train_val_test_in_that_order():
    text = make_text(10_000)
    corpus = Corpus.from_text(text, "t", val_frac=0.1, test_frac=0.2)
    n_train, n_val, n_test = split_sizes(len(text), 0.1, 0.2)
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (n_train, n_val, n_test)
    assert (n_train, n_val, n_test) == (7000, 1000, 2000)
    # the test split is the end of the text and training never holds any of it
    whole = encode(text, vocab_of(text))
    assert torch.equal(corpus.test, whole[-n_test:])
    assert torch.equal(torch.cat([corpus.train, corpus.val, corpus.test]), whole)
    assert len(Corpus.from_text(text, "t", 0.1).test) == 0  # default: no test split


def test_trainer_never_sees_the_test_split(tmp_path):
    _, trainer = train_tiny(tmp_path, test_frac=0.25)
    n_train = len(trainer.corpus.train)
    # what the batches cover is the train split, and val is scored on val only
    assert trainer.train_data.x.numel() <= n_train
    assert trainer.val_data.x.numel() <= len(trainer.corpus.val)
    assert len(trainer.corpus.test) == int(30_000 * 0.25)


def test_eval_val_equals_the_trainers_last_val_loss(tmp_path, capsys):
    run_dir, trainer = train_tiny(tmp_path)
    last = run_dir / "checkpoints" / "last.pt"
    assert main(["eval", str(last), "--device", "cpu"]) == 0
    nats, bits = printed_loss(capsys.readouterr().out, "val split of ")
    saved = load_checkpoint(last)["val_loss"]
    assert saved == trainer.last_val_loss
    assert nats == pytest.approx(saved, abs=6e-5)
    assert bits == pytest.approx(saved / math.log(2), abs=6e-5)


def test_eval_test_split_and_a_file(tmp_path, capsys):
    run_dir, _ = train_tiny(tmp_path)
    assert main(["eval", str(run_dir), "--split", "test", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    test_nats, _ = printed_loss(out, "test split of ")
    assert "best.pt" in out                       # a run folder means the checkpoint chosen on val
    other = tmp_path / "other.txt"
    other.write_text(make_text(3_000, seed=5), encoding="utf-8")
    assert main(["eval", str(run_dir), "--split", str(other), "--device", "cpu"]) == 0
    file_nats, _ = printed_loss(capsys.readouterr().out, re.escape(str(other)))
    assert 0 < test_nats < 5 and 0 < file_nats < 5 and file_nats != test_nats


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_eval_refuses_what_it_cannot_score(tmp_path, capsys):
    run_dir, _ = train_tiny(tmp_path, test_frac=0.0)
    assert main(["eval", str(run_dir), "--split", "test"]) == 2
    assert "no test split" in error_line(capsys)
    assert main(["eval", str(run_dir), "--split", str(tmp_path / "missing.txt")]) == 2
    assert "neither val, test nor an existing file" in error_line(capsys)
    odd = tmp_path / "odd.txt"
    odd.write_text("the war \u2603 and peace " * 50, encoding="utf-8")
    assert main(["eval", str(run_dir), "--split", str(odd)]) == 2
    assert "never saw ('\u2603')" in error_line(capsys)
    assert main(["eval", str(run_dir), "--threads", "-1"]) == 2
    assert "--threads must be 0" in error_line(capsys)


def test_test_frac_is_checked():
    with pytest.raises(Exception, match="data.test_frac must be between 0.0 and 0.5"):
        config_mod.from_dict({"data": {"test_frac": 0.6}})
