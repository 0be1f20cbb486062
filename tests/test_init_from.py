"""`tuirnn run CONFIG --init-from CHECKPOINT`: a new run from another run's weights."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from conftest import assert_user_error, make_text, run_cli, tiny_config

from tuirnn.core import checkpoint, config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.errors import UserError
from tuirnn.core.events import from_json_dict
from tuirnn.core.train import Trainer
from tuirnn.tui.render import header_lines, source_name
from tuirnn.tui.state import RunState


def trained_run(tmp_path: Path) -> tuple[Path, Path]:
    """(config, run folder) of a short finished run on a made-up corpus."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(20_000, seed=3), encoding="utf-8")
    cfg = tiny_config(tmp_path, corpus, max_iters=40, eval_every=20, log_every=5)
    done = run_cli("run", str(cfg), "--headless")
    assert done.returncode == 0, done.stderr
    return cfg, only_run(tmp_path)


def only_run(tmp_path: Path, but: tuple[Path, ...] = ()) -> Path:
    runs = [p for p in (tmp_path / "runs").iterdir() if p not in but]
    assert len(runs) == 1, runs
    return runs[0]


def first_loss(run: Path) -> float:
    for line in (run / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "StepsCompleted":
            return event["losses"][0]
    raise AssertionError("no steps logged")


def test_trainer_starts_from_the_weights_with_its_own_optimizer_and_count(tmp_path):
    _, source = trained_run(tmp_path)
    ck = checkpoint.load_checkpoint(source)                    # a folder: its best.pt
    cfg = config.from_dict(ck["config"])
    text = make_text(20_000, seed=3)
    corpus = Corpus.from_text(text, "made-up", cfg.data.val_frac, cfg.data.test_frac)
    trainer = Trainer(cfg, tmp_path / "new", [], Control(), corpus, init_from=ck)
    trainer.prepare()
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, ck["model"][name]), name
    assert trainer.iteration == 0 and trainer.resumed_from is None
    assert not trainer.optimizer.state                         # nothing carried: a new optimizer


def test_a_new_run_goes_on_from_the_weights_with_the_checkpoints_model(tmp_path):
    cfg, source = trained_run(tmp_path)
    fresh = first_loss(source)
    # the config asks for a bigger model: the checkpoint's shape wins, and the run says so
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(cfg.read_text().replace("hidden_size: 16", "hidden_size: 32"))
    done = run_cli("run", str(bigger), "--headless", "--init-from", str(source),
                   "--set", "train.max_iters=5")
    assert done.returncode == 0, done.stderr
    assert "the model is the checkpoint's (lstm 2x16)" in done.stdout
    assert f"starting from the weights of {source / 'checkpoints' / 'best.pt'}" in done.stdout
    new = only_run(tmp_path, but=(source,))
    saved = yaml.safe_load((new / "config.yaml").read_text())
    assert saved["model"]["hidden_size"] == 16
    started = json.loads((new / "events.jsonl").read_text().splitlines()[0])
    assert started["event"] == "RunStarted" and started["start_iter"] == 0
    # where the weights came from is in the log, and the monitor's header says it
    assert started["init_from"] == str(source / "checkpoints" / "best.pt")
    assert started["init_from_iter"] == checkpoint.load_checkpoint(source)["iteration"]
    state = RunState()
    state.apply(from_json_dict(started))
    assert f"from {source.name}@{started['init_from_iter']}" in header_lines(state, 160)[0].plain
    # the trained weights start where the source ended, far below a fresh model's first loss
    best = checkpoint.load_checkpoint(source)["val_loss"]
    start = first_loss(new)
    assert start < fresh - 0.25 and abs(start - best) < abs(start - fresh)


def test_init_from_refuses_what_it_cannot_honour(tmp_path):
    cfg, source = trained_run(tmp_path)
    other = tmp_path / "other.txt"
    other.write_text("0123456789 " * 3000, encoding="utf-8")
    digits = tmp_path / "digits.yaml"
    digits.write_text(cfg.read_text().replace(str(tmp_path / "corpus.txt"), str(other)))
    assert_user_error(run_cli("run", str(digits), "--headless", "--init-from", str(source)),
                      "--init-from", "other characters than this corpus")
    assert_user_error(run_cli("run", str(cfg), "--headless", "--init-from", str(source),
                              "--set", "model.hidden_size=32"), "leave out --set model.*")
    assert_user_error(run_cli("run", "--resume", str(source), "--init-from", str(source)),
                      "give one of them")
    assert_user_error(run_cli("run", str(cfg), "--headless", "--init-from", str(tmp_path / "nope.pt")),
                      "not found")
    assert [p for p in (tmp_path / "runs").iterdir()] == [source]      # nothing made, nothing lost


def test_a_vocabulary_mismatch_is_a_user_error_in_the_core(tmp_path):
    _, source = trained_run(tmp_path)
    ck = checkpoint.load_checkpoint(source)
    cfg = config.from_dict(ck["config"])
    corpus = Corpus.from_text("abc " * 5000, "abc", cfg.data.val_frac, cfg.data.test_frac)
    trainer = Trainer(cfg, tmp_path / "new", [], Control(), corpus, init_from=ck)
    try:
        trainer.prepare()
    except UserError as e:
        assert "missing here" in str(e)
    else:
        raise AssertionError("a model for other characters was loaded")


def test_source_name_is_the_run_of_a_checkpoint_or_the_file():
    assert source_name("/a/runs/tiny-1/checkpoints/best.pt") == "tiny-1"
    assert source_name("runs/w/checkpoints/iter0000300_epoch0.08_val2.2815.pt") == "w"
    assert source_name("/x/model.pt") == "model.pt"
