"""`tuirnn neurons`: ranking table, coloured text, HTML page, and bad input as one line."""
from pathlib import Path

import pytest
import torch

from tuirnn.cli import main
from tuirnn.core import checkpoint as ckpt_mod
from tuirnn.core.config import Config
from tuirnn.core.model import build

TEXT = 'He said "come here" and (then) left [quickly].\n\tShe said "no".\n' * 30


@pytest.fixture
def ckpt_path(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    cfg = Config()
    cfg.data.path = str(corpus)
    cfg.model.hidden_size, cfg.model.num_layers = 16, 2
    vocab = "".join(sorted(set(TEXT)))
    torch.manual_seed(0)
    model = build(len(vocab), cfg.model)
    path = tmp_path / "model.pt"
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": model.state_dict(), "vocab": vocab,
                          "config": cfg.to_dict(), "iteration": 42}, path)
    return path


def run(args, capsys):
    code = main(["neurons", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_prints_builtin_ranking_from_the_corpus_val_split(ckpt_path, capsys):
    code, out, err = run([ckpt_path], capsys)
    assert code == 0, err
    for label in ("inside double quotes", "inside parentheses", "inside brackets",
                  "position in line", "start of word", "after newline"):
        assert label in out
    assert "validation split" in out and "iteration 42" in out


def test_pattern_ranking(ckpt_path, capsys):
    code, out, err = run([ckpt_path, "--pattern", r"\bsaid\b", "--top", "4"], capsys)
    assert code == 0, err
    assert "regex /\\bsaid\\b/" in out and out.count("tanh(c)") + out.count(" h ") >= 4


def test_unit_prints_coloured_text(ckpt_path, tmp_path, capsys):
    text = tmp_path / "mine.txt"
    text.write_text("tab\there\n漢 \"quoted\"\n", encoding="utf-8")
    code, out, err = run([ckpt_path, "--unit", "1:3", "--text", text, "--kind", "h",
                          "--guesses"], capsys)
    assert code == 0, err
    assert "layer 1 unit 3 h" in out and "→" in out and "↵" in out
    assert "'漢'" in err                              # left out, and said so


def test_html_page_for_best_unit(ckpt_path, tmp_path, capsys):
    page = tmp_path / "unit.html"
    code, out, err = run([ckpt_path, "--html", page, "--pattern", '"'], capsys)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "layer " in html and "<script" not in html
    assert "wrote" in err


def test_sample_text_when_corpus_is_gone(ckpt_path, tmp_path, capsys):
    (tmp_path / "corpus.txt").unlink()
    code, out, err = run([ckpt_path, "--find", "--length", "300"], capsys)
    assert code == 0, err
    assert "sample from the model" in out


@pytest.mark.parametrize("args, message", [
    (["--unit", "2:0"], "out of range"),
    (["--unit", "0:16"], "out of range"),
    (["--unit", "seven"], "LAYER:UNIT"),
    (["--pattern", "(unclosed"], "bad regex '(unclosed'"),
    (["--text", "/no/such/file.txt"], "cannot read"),
    (["--length", "0"], "--length"),
])
def test_bad_input_is_one_line_exit_2(ckpt_path, capsys, args, message):
    code, out, err = run([ckpt_path, *args], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_text_with_only_unknown_characters(ckpt_path, tmp_path, capsys):
    text = tmp_path / "alien.txt"
    text.write_text("漢字漢字", encoding="utf-8")
    code, out, err = run([ckpt_path, "--text", text], capsys)
    assert code == 2 and "fewer than 2 characters" in err


def test_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, out, err = run([bad], capsys)
    assert code == 2 and "error:" in err


def test_html_without_unit_or_pattern_picks_the_best_builtin(ckpt_path, tmp_path, capsys):
    page = tmp_path / "best.html"
    code, out, err = run([ckpt_path, "--html", page, "--length", "400"], capsys)
    assert code == 0, err
    assert "best unit for" in err and page.read_text(encoding="utf-8").count("<span") > 400
