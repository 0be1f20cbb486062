"""Surprisal (the model's loss on each character) and the default probe window."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_text

from tuirnn.core import config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus, decode, encode
from tuirnn.core.events import ProbeCompleted, from_json_dict, to_json_dict
from tuirnn.core.probe import ProbeResult, probe_text
from tuirnn.core.probe_window import choose_window, codes_of_text, default_probe_text, ids_of
from tuirnn.core.train import Trainer
from tuirnn.remote.protocol import FrameReader, decode_event, encode_event, parse_json
from tuirnn.tui import surprisal_render as S


def trained(tmp_path, batch_size, cell="lstm"):
    cfg = config.load(None, ["model.hidden_size=16", "model.embed_size=8", "model.num_layers=2",
                             f"model.cell={cell}", "model.dropout=0.2",
                             f"train.batch_size={batch_size}", "train.seq_length=8",
                             "train.max_iters=12", "train.eval_every=6", "train.log_every=3",
                             "sample.length=10", "train.threads=1"])
    corpus = Corpus.from_text(make_text(3000, seed=5), "t", 0.2)
    t = Trainer(cfg, tmp_path, [], Control(), corpus)
    t.run()
    return t, corpus


@pytest.mark.parametrize("batch_size,cell", [(1, "lstm"), (3, "gru")])
def test_mean_surprisal_equals_the_trainers_val_loss(tmp_path, batch_size, cell):
    """Each of the eval's B streams, probed from a zero state, reads the same characters the
    eval reads (state carried across its batches); the first character of a stream is read,
    never scored. The mean of the probe's losses is the run's val loss."""
    t, corpus = trained(tmp_path, batch_size, cell)
    val = t.val_data
    B, n = val.batch_size, len(val) * val.seq_length        # n: scored chars per stream
    expected = t.evaluate()
    total = 0.0
    for b in range(B):
        ids = corpus.val[b * n:(b + 1) * n + 1]               # the stream's x, then its last y
        result = probe_text(t.model, decode(ids, corpus.vocab), corpus.vocab)
        assert math.isnan(result.loss[0]) and np.isfinite(result.loss[1:]).all()
        total += result.mean_loss() * n
    assert total / (B * n) == pytest.approx(expected, rel=1e-5)
    bits = result.surprisal_bits()
    assert bits[1:] == pytest.approx(result.loss[1:] / math.log(2))


def test_per_char_loss_is_minus_log_p_of_that_char(tmp_path):
    t, corpus = trained(tmp_path, 2)
    text = decode(corpus.val[:50], corpus.vocab)
    result = probe_text(t.model, text, corpus.vocab, k=len(corpus.vocab))
    # with k = the whole vocab, top_probs[t-1] holds p(text[t]) among the guesses
    for pos in (1, 17, 49):
        guesses = dict(zip(result.top_ids[pos - 1].tolist(), result.top_probs[pos - 1].tolist()))
        p = guesses[corpus.vocab.index(text[pos])]
        assert result.loss[pos] == pytest.approx(-math.log(p), rel=1e-4)


def test_losses_cross_the_socket_and_the_log(tmp_path):
    t, corpus = trained(tmp_path, 2)
    result = probe_text(t.model, "abc de\nf", corpus.vocab)
    result.where = "typed"
    ev = result.to_event(iteration=4, request_id=9)
    reader = FrameReader()
    frames = reader.feed(encode_event(ev))
    back = decode_event(parse_json(frames[0][1]), [p for _, p in frames[1:]])
    assert back == ev and len(back.loss) == 4 * len(result.text)
    again = ProbeResult.from_event(back)
    assert np.array_equal(again.loss, result.loss, equal_nan=True) and again.where == "typed"
    logged = from_json_dict(to_json_dict(ev))           # events.jsonl leaves the arrays out
    assert isinstance(logged, ProbeCompleted) and logged.loss == b"" and logged.where == "typed"


def test_render_buckets_and_mean_line():
    assert [S.bucket(b) for b in (0.1, 0.5, 1.5, 3, 5, 9, float("nan"))] == [0, 1, 2, 3, 4, 5, 0]
    values = S.as_values(np.array([np.nan, 0.2, 9.0], np.float32))
    assert math.isnan(values[0]) and values[1] == pytest.approx(0.0) and values[2] == pytest.approx(1.0)
    r = ProbeResult("ab", "ab", "gru", np.zeros((1, 2, 1), np.float32), None,
                    np.zeros((2, 1), np.int32), np.ones((2, 1), np.float32),
                    loss=np.array([np.nan, math.log(2) * 2], np.float32))
    assert S.mean_line(r).startswith("2.00 bits/char (1.386 nats) over 1 chars")
    assert "of this text" in S.mean_line(r) and "val split" not in S.mean_line(r)
    assert S.mean_line(r, 1.471).endswith("· whole val split 1.471 nats (2.12 bits)")
    assert S.mean_line(r, 1.471, width=70) == "1.386 nats/char (2.00 bits) on these 1 chars · whole val split 1.471"
    assert S.mean_line(r, 1.471, width=20).endswith("val split 1.471")     # the shortest
    assert "first char" in S.cursor_text(r, 0).plain and "2.00 bits (p 25%)" in S.cursor_text(r, 1).plain
    page = S.render_html(r, "t", "m")
    assert "2.00 bits" in page and "first character: not predicted" in page


# --- the default probe window ----------------------------------------------------------------
def test_window_finds_the_quotes_the_start_lacks():
    plain = "the war went on and on without end.\n" * 200         # 7,200 chars, no quotes
    talk = 'He said, "come here" (twice) [sic].\n'
    text = plain + talk * 3 + plain
    w = choose_window(codes_of_text(text), ord, 2000)
    assert w.end - w.start == 2000 and w.start <= len(plain) <= w.end - 3 * len(talk)
    assert set(w.found) >= {"quotes", "parentheses", "brackets", "line breaks"}
    assert text[w.start - 1] == "\n"                               # starts at a line start
    # the same window through vocabulary ids (the trainer never decodes its split)
    vocab = "".join(sorted(set(text)))
    by_ids = choose_window(encode(text, vocab).numpy(), ids_of(vocab), 2000)
    assert (by_ids.start, by_ids.end, by_ids.found) == (w.start, w.end, w.found)
    chosen, where = default_probe_text(encode(text, vocab), vocab, 2000)
    assert chosen == text[w.start:w.end] and where.startswith(f"validation chars {w.start:,}-")
    assert "quotes" in where


def test_window_without_patterns_is_the_start_and_short_splits_whole():
    text = "abc def\n" * 1000
    w = choose_window(codes_of_text(text), ord, 500)
    assert (w.start, w.end) == (0, 500) and w.found == ("line breaks",)
    assert "quotes" in w.missing
    short = choose_window(codes_of_text("ab\ncd"), ord, 500)
    assert (short.start, short.end, short.total) == (0, 5, 5)


def test_trainer_default_probe_uses_the_window(tmp_path):
    events = []
    plain = "and so the day went by as days do.\n" * 120
    text = plain * 9 + plain + 'She said "yes" (then no).\n' * 4 + plain
    corpus = Corpus.from_text(text, "t", 0.2)
    cfg = config.load(None, ["model.hidden_size=8", "model.embed_size=4", "train.batch_size=2",
                             "train.seq_length=8", "train.max_iters=1", "train.threads=1",
                             "sample.length=5", "sample.timeline=false"])
    control = Control()
    control.request_probe(source="val", length=1000)
    Trainer(cfg, tmp_path, [events.append], control, corpus).run()
    probe = next(e for e in events if isinstance(e, ProbeCompleted))
    assert '"yes"' in probe.text and "validation chars" in probe.where and "quotes" in probe.where
    assert len(probe.text) == 1000 and len(probe.loss) == 4 * 1000
