"""`tuirnn baseline RUN`: n-gram losses on the run's own split, stored as one event."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from conftest import make_text

from tuirnn.cli import main
from tuirnn.core import config as config_mod
from tuirnn.core import ngram
from tuirnn.core.data import Corpus
from tuirnn.core.eventfile import read_file_events
from tuirnn.core.events import BaselineComputed, EvalCompleted, to_json_dict


def run_folder(tmp_path, evals=((10, 3.0), (20, 1.5)), test_frac=0.0):
    """A run folder as a trainer leaves one: config.yaml and events with val losses."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(20_000), encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    cfg = config_mod.from_dict({"data": {"path": str(corpus), "val_frac": 0.1,
                                         "test_frac": test_frac}})
    (run / "config.yaml").write_text(config_mod.dump(cfg), encoding="utf-8")
    lines = [json.dumps(to_json_dict(EvalCompleted(it, it / 100, v, v, True))) for it, v in evals]
    (run / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run, cfg, corpus


def rows(out: str) -> dict[int, tuple[float, float, str]]:
    found = re.findall(r"^\s*(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+(.*)$", out, re.M)
    return {int(n): (float(a), float(b), rest) for n, a, b, rest in found}


def test_baseline_prints_every_order_and_stores_the_event(tmp_path, capsys):
    run, cfg, corpus_path = run_folder(tmp_path, evals=((10, 2.0), (20, 1.2)))
    assert main(["baseline", str(run), "--max-order", "6"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert sorted(table) == [1, 2, 3, 4, 5, 6], out
    # the same figures as the model fitted here on the split training uses
    text = corpus_path.read_text(encoding="utf-8")
    corpus = Corpus.from_text(text, "c", cfg.data.val_frac, cfg.data.test_frac)
    m = ngram.fit(corpus.train.numpy(), len(corpus.vocab), 6)
    for n, (nats, bits, _) in table.items():
        expected = m.loss(corpus.val.numpy(), n)
        assert nats == pytest.approx(expected, abs=1e-4)
        assert bits == pytest.approx(nats / math.log(2), abs=2e-4)
    for n, (nats, _, rest) in table.items():          # val 2.0 at iteration 10, 1.2 at 20
        first = 10 if 2.0 < nats else 20 if 1.2 < nats else None
        assert rest.startswith(f"iteration {first}" if first else "-"), (n, nats, rest)
    assert table[1][0] > 2.0 > table[2][0] > 1.2 > table[6][0], out   # all three cases
    assert re.search(r"fit [0-9.]+s, peak [0-9,]+ MiB", out), out
    events = read_file_events(run / "events.jsonl")
    stored = [e for e in events if isinstance(e, BaselineComputed)]
    assert len(stored) == 1 and len(events) == 3
    ev = stored[0]
    assert ev.split == "val" and len(ev.losses) == 6
    assert ev.losses[3] == pytest.approx(table[4][0], abs=1e-4)
    assert ev.train_chars == len(corpus.train) and ev.scored_chars == len(corpus.val)


def test_below_at_is_the_first_eval_under_each_order(tmp_path, capsys):
    run, _, _ = run_folder(tmp_path, evals=((5, 9.0), (10, 2.0), (15, 0.01)))
    assert main(["baseline", str(run), "--max-order", "3", "--no-save"]) == 0
    table = rows(capsys.readouterr().out)
    for n, (nats, _, rest) in table.items():
        assert rest.startswith("iteration 10" if nats > 2.0 else "iteration 15"), (n, nats, rest)
    assert len(read_file_events(run / "events.jsonl")) == 3       # --no-save: nothing added


def test_a_torn_last_line_is_closed_before_the_event(tmp_path, capsys):
    run, _, _ = run_folder(tmp_path, test_frac=0.1)
    with open(run / "events.jsonl", "a", encoding="utf-8") as f:
        f.write('{"event": "EvalCompl')
    assert main(["baseline", str(run), "--max-order", "2", "--split", "test"]) == 0
    events = read_file_events(run / "events.jsonl")
    assert [type(e).__name__ for e in events] == ["EvalCompleted", "EvalCompleted",
                                                  "BaselineComputed"]
    assert events[-1].split == "test"


@pytest.mark.parametrize("args,fragment", [
    (["--max-order", "0"], "--max-order 0"),
    (["--split", "test"], "no test split"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, fragment):
    run, _, _ = run_folder(tmp_path)
    assert main(["baseline", str(run), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err


def test_not_a_run_folder(tmp_path, capsys):
    assert main(["baseline", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err


def test_the_event_round_trips_through_the_reader():
    ev = BaselineComputed("val", (3.1, 2.0, float("nan")), 100, 10, 0.5, 12.0)
    from tuirnn.core.eventfile import parse_line
    back = parse_line(json.dumps(to_json_dict(ev)))
    assert back == BaselineComputed("val", (3.1, 2.0, back.losses[2]), 100, 10, 0.5, 12.0)
    assert np.isnan(back.losses[2])
    assert parse_line(json.dumps({**to_json_dict(ev), "losses": "no"})) is None


def test_vs_ngram_render_signs_and_buckets():
    from tuirnn.tui import vs_ngram_render as M
    model_nats = np.array([np.nan, 0.1, 2.0, 1.0, 0.5])
    logp = np.log(np.array([0.5, 0.5, 0.5, 0.5, 0.5]))      # the n-gram: 1 bit each
    diff = M.difference_bits(model_nats, logp)
    assert np.isnan(diff[0])
    assert diff[1:] == pytest.approx([0.1 / math.log(2) - 1, 2 / math.log(2) - 1,
                                      1 / math.log(2) - 1, 0.5 / math.log(2) - 1], abs=1e-6)
    v = M.as_values(diff)
    assert np.isnan(v[0]) and v[1] < 0 < v[2] and v[1] == pytest.approx(-2 / 5)   # -0.86: [½, 1)
    assert M.as_values(np.array([0.0, 0.1, -5.0, 5.0])).tolist() == pytest.approx(
        [0.0, 0.0, -1.0, 1.0])
    line = M.mean_line(model_nats, logp, 3)
    assert "3-gram 1.000" in line and "over 4 chars" in line
    page = M.render_html("abcde", diff, "t", "m")
    assert "#005faf" in page or "#0087d7" in page          # a blue: the model better somewhere


def trained_run(tmp_path):
    from tuirnn.core.control import Control
    from tuirnn.core.train import Trainer
    corpus_path = tmp_path / "corpus.txt"
    corpus_path.write_text(make_text(30_000), encoding="utf-8")
    cfg = config_mod.from_dict({
        "data": {"path": str(corpus_path), "val_frac": 0.1},
        "model": {"hidden_size": 16, "num_layers": 1, "embed_size": 8},
        "train": {"batch_size": 4, "seq_length": 16, "max_iters": 4, "eval_every": 4,
                  "log_every": 2, "device": "cpu"},
        "sample": {"length": 10}})
    corpus = Corpus.from_text(corpus_path.read_text(encoding="utf-8"), "corpus.txt", 0.1)
    run_dir = tmp_path / "run"
    Trainer(cfg, run_dir, [], Control(), corpus).run()
    return run_dir


def test_neurons_vs_ngram_prints_both_means(tmp_path, capsys):
    run = trained_run(tmp_path)
    assert main(["neurons", str(run), "--vs-ngram", "3", "--length", "200"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"model ([0-9.]+) bits/char · 3-gram ([0-9.]+) · model − 3-gram ([-+][0-9.]+)",
                  out)
    assert m, out
    assert float(m.group(3)) == pytest.approx(float(m.group(1)) - float(m.group(2)), abs=2e-3)
    # a model of 4 steps knows far less than a trigram of 27,000 characters
    assert float(m.group(3)) > 0.5
    page = tmp_path / "vs.html"
    assert main(["neurons", str(run), "--vs-ngram", "3", "--html", str(page)]) == 0
    assert "model − 3-gram" in page.read_text(encoding="utf-8")
    assert main(["neurons", str(run), "--vs-ngram", "0"]) == 2
    assert main(["neurons", str(run), "--vs-ngram", "3", "--surprisal"]) == 2
    assert "--vs-ngram" in capsys.readouterr().err


def test_where_it_wins_splits_quotes_closings_and_the_rest():
    from tuirnn.tui import vs_ngram_render as M
    text = 'a "bc" (d) e'
    #        0123456789AB
    diff = np.array([np.nan, 1, 1, -2, -2, -4, 1, 1, 1, -3, 1, 1], dtype=np.float32)
    groups = {name: (mean, n) for name, mean, n in M.where_it_wins(text, diff)}
    assert groups["inside quotes"] == (pytest.approx(-1.0), 3)        # the opening quote, b, c
    assert groups["closing quote or bracket"] == (pytest.approx(-3.5), 2)   # '"' and ')'
    assert groups["elsewhere"] == (pytest.approx(1.0), 6)
    assert "closing quote or bracket -3.50 (2)" in M.where_line(text, diff)
