"""The shipped configs' corpora, when ../shared/data holds them (skipped otherwise)."""
from __future__ import annotations

import pytest
from conftest import SHARED_DATA

from tuirnn.core import config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus, decode_corpus
from tuirnn.core.events import StepsCompleted
from tuirnn.core.train import Trainer


def corpus_or_skip(name: str) -> Corpus:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the real corpora live beside the repo in shared/data)")
    return Corpus.from_text(decode_corpus(path.read_bytes(), name), name, 0.05)


def test_tinyshakespeare_loads_like_char_rnn():
    c = corpus_or_skip("tinyshakespeare.txt")
    assert len(c.vocab) == 65                     # char-rnn reports 65 characters
    assert len(c.train) + len(c.val) == 1_115_394
    assert {"king", "thou", "romeo"} <= c.known_words


def test_warpeace_loads():
    c = corpus_or_skip("warpeace.txt")
    assert "\r" not in c.vocab and 80 <= len(c.vocab) <= 90
    assert {"natasha", "pierre", "moscow"} <= c.known_words


def test_a_small_lstm_learns_tinyshakespeare(tmp_path):
    c = corpus_or_skip("tinyshakespeare.txt")
    cfg = config.load(None, ["model.hidden_size=64", "model.num_layers=1", "train.batch_size=32",
                             "train.seq_length=32", "train.max_iters=150", "train.eval_every=150",
                             "train.log_every=10", "train.learning_rate=0.005", "sample.length=50"])
    losses = []
    Trainer(cfg, tmp_path, [lambda e: isinstance(e, StepsCompleted) and losses.extend(e.losses)],
            Control(), c).run()
    assert len(losses) == 150
    assert sum(losses[-10:]) / 10 < 2.7 < losses[0]   # from ln(65) ~ 4.17 towards words
