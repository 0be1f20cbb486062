"""`tuirnn errors`: the breakdown of a tiny trained model's errors, and bad input as one line."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tuirnn.cli import main
from tuirnn.core import checkpoint as ckpt_mod
from tuirnn.core import error_analysis as E
from tuirnn.core.config import Config
from tuirnn.core.evaluate import char_probs
from tuirnn.core.model import build
from tuirnn.core.probe import probe_text

TEXT = ("The old prince said: \"Come here, Natasha.\" And she came (slowly).\n"
        "Pierre looked at the prince; the prince looked away.\n") * 40


def train_tiny(vocab: str, cfg: Config, steps: int = 40):
    """A 1x32 LSTM fitted for a moment on TEXT: it learns the common letters, not all."""
    torch.manual_seed(0)
    model = build(len(vocab), cfg.model)
    ids = torch.tensor([vocab.index(c) for c in TEXT])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        s = (step * 97) % (len(ids) - 65)
        x, y = ids[None, s:s + 64], ids[None, s + 1:s + 65]
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits[0], y[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("errors")
    corpus = tmp / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    cfg = Config()
    cfg.data.path = str(corpus)
    cfg.data.val_frac = 0.2
    cfg.model.hidden_size, cfg.model.num_layers = 32, 1
    vocab = "".join(sorted(set(TEXT)))
    model = train_tiny(vocab, cfg)
    path = tmp / "model.pt"
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": model.state_dict(), "vocab": vocab,
                          "config": cfg.to_dict(), "iteration": 40}, path)
    return path


def run(args, capsys):
    code = main(["errors", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def shares(out: str) -> dict[str, tuple[float, int]]:
    """{oracle: (share %, count)} from the printed table."""
    found = {}
    for name in ("n-gram (1-9)", *E.ORACLES[1:]):
        m = re.search(rf"^{re.escape(name)}\s+([\d.]+)%\s+([\d,]+)", out, re.M)
        assert m, f"no row for {name}:\n{out}"
        found[name] = (float(m.group(1)), int(m.group(2).replace(",", "")))
    return found


def test_prints_the_breakdown_in_the_papers_order(ckpt_path, capsys):
    code, out, err = run([ckpt_path, "--length", "0"], capsys)
    assert code == 0, err
    rows = shares(out)
    assert list(rows) == ["n-gram (1-9)", *E.ORACLES[1:]]
    m = re.search(r"errors ([\d,]+) of ([\d,]+) chars \(([\d.]+)%", out)
    assert m, out
    errors, chars = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    n_val = int(len(TEXT) * 0.2)
    assert chars == n_val - 1                       # the whole val split, all but its first
    assert 0 < errors < chars
    assert sum(c for _, c in rows.values()) == errors
    assert sum(s for s, _ in rows.values()) == pytest.approx(100, abs=0.5)
    # a text this repetitive: the 1..9-grams of its training split explain most errors
    assert rows["n-gram (1-9)"][1] > 0
    assert "needs core/ngram.py" not in err


def test_length_and_examples(ckpt_path, capsys):
    code, out, err = run([ckpt_path, "--length", "300", "--examples", "1"], capsys)
    assert code == 0, err
    assert "of 299 chars" in out
    assert "its first 300 chars" in out


def test_char_probs_match_the_probe(ckpt_path):
    model, vocab, _ = ckpt_mod.model_from_checkpoint(ckpt_path)
    text = TEXT[:500]
    ids = torch.tensor([vocab.index(c) for c in text])
    p = char_probs(model, ids, "cpu", chunk=64)     # chunks carry the state: same as one pass
    loss = probe_text(model, text, vocab).loss
    assert np.isnan(p[0])
    np.testing.assert_allclose(-np.log(p[1:]), loss[1:], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("args, says", [
    (["--length", "-1"], "--length must be 0"),
    (["--examples", "-2"], "--examples must be 0 or more"),
    (["--split", "test"], "no test split"),
])
def test_bad_flags_are_one_line(ckpt_path, capsys, args, says):
    code, out, err = run([ckpt_path, *args], capsys)
    assert code == 2
    assert says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    code, _, err = run([tmp_path / "nope.pt"], capsys)
    assert code == 2 and "not found" in err


def test_a_probe_of_the_val_text_is_followed_by_its_breakdown(ckpt_path):
    """The trainer's side: the probe's per-char losses give ErrorsCounted (a few ints)."""
    from tuirnn.core.control import ProbeRequest
    from tuirnn.core.events import ErrorsCounted, ProbeCompleted, from_json_dict, to_json_dict
    from tuirnn.core.responder import Responder
    model, vocab, _ = ckpt_mod.model_from_checkpoint(ckpt_path)
    ids = torch.tensor([vocab.index(c) for c in TEXT])
    n_train = int(len(TEXT) * 0.8)
    events: list = []
    r = Responder(model, vocab, torch.device("cpu"), events.append, ids[n_train:],
                  train_ids=ids[:n_train])
    r.probe(ProbeRequest(1, length=600), iteration=7)
    assert [type(e) for e in events] == [ProbeCompleted, ErrorsCounted]
    probe, counted = events
    p = np.exp(-np.frombuffer(probe.loss, "<f4")[1:].astype(np.float64))
    assert counted.iteration == 7 and counted.chars == len(probe.text) - 1
    assert counted.errors == int(np.sum(p < 0.5)) > 0
    b = E.from_event(counted)
    assert sum(b.counts) == b.errors and b.ngram_used
    assert from_json_dict(to_json_dict(counted)) == counted      # logged and read back whole
    events.clear()
    r.probe(ProbeRequest(2, text="Pierre said", source="typed"), iteration=7)
    assert [type(e) for e in events] == [ProbeCompleted]          # only the validation text


def test_a_corpus_that_is_gone_is_one_line(ckpt_path, tmp_path, capsys):
    ck = torch.load(ckpt_path, weights_only=True)
    ck["config"]["data"]["path"] = str(tmp_path / "moved.txt")
    moved = tmp_path / "moved.pt"
    ckpt_mod.save_atomic(ck, moved)
    code, _, err = run([moved], capsys)
    assert code == 2 and "Traceback" not in err
    assert "moved.txt" in err and len(err.strip().splitlines()) == 1
