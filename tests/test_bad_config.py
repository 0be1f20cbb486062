"""Hostile and careless configs: each ends quickly in one `error:` line, exit 2, and quotes at
most a short piece of the bad value (fuzzing found tracebacks, hangs and a 2 GB error line)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli

from tuirnn.cli import main
from tuirnn.core import config
from tuirnn.core.config import Config
from tuirnn.core.errors import UserError
from tuirnn.core.model import build, check_fits, param_count


def _alias_bomb(levels: int = 9) -> str:
    """The billion-laughs shape: each level lists the one before nine times (306 bytes)."""
    lines = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "model:\n" + "\n".join(lines) + f"\n  cell: *a{levels - 1}\n"


# yaml text -> fragment of the one error line
CASES = {
    "huge hidden_size": ("model:\n  hidden_size: 1000000000\n", "model.hidden_size must be at most"),
    "huge embed_size": ("model:\n  embed_size: 1000000000\n", "model.embed_size must be at most"),
    "huge num_layers": ("model:\n  num_layers: 1000000000\n", "model.num_layers must be at most"),
    "huge batch": ("train:\n  batch_size: 10000000000\n", "train.batch_size must be at most"),
    "huge seq_length": ("train:\n  seq_length: 10000000000\n", "train.seq_length must be at most"),
    "max_epochs inf": ("train:\n  max_epochs: .inf\n", "train.max_epochs must be a finite number"),
    "max_epochs nan": ("train:\n  max_epochs: .nan\n", "train.max_epochs must be a finite number"),
    "learning_rate nan": ("train:\n  learning_rate: .nan\n", "learning_rate must be a finite number"),
    "learning_rate inf": ("train:\n  learning_rate: .inf\n", "learning_rate must be a finite number"),
    "learning_rate 1e400": ("train:\n  learning_rate: 1e400\n", "learning_rate must be a finite number"),
    "dropout nan": ("model:\n  dropout: .nan\n", "model.dropout must be a finite number"),
    "temperature nan": ("sample:\n  temperature: .nan\n", "sample.temperature must be a finite number"),
    "temperature negative": ("sample:\n  temperature: -1\n", "sample.temperature must be greater than 0"),
    "temperature zero": ("sample:\n  temperature: 0\n", "sample.temperature must be greater than 0"),
    "seed 10**20": ("train:\n  seed: 100000000000000000000\n", "train.seed must be at most 2**63 - 1"),
    "seed of 5000 digits": ("train:\n  seed: " + "9" * 5000 + "\n", "a number too long to read"),
    "threads 10**8": ("train:\n  threads: 100000000\n", "train.threads must be at most 1,024"),
    "sample length 10**12": ("sample:\n  length: 1000000000000\n", "sample.length must be at most"),
    "run name escapes": ("run:\n  name: ../../../tmp/escape\n", "one folder name of letters, digits"),
    "run name absolute": ("run:\n  name: /tmp/x\n", "one folder name"),
    "run name dot-dot": ("run:\n  name: ..\n", "one folder name"),
    "alias": ("model:\n  x: &a lstm\n  cell: *a\n", "aliases (*name) are not supported"),
    "alias bomb": (_alias_bomb(), "aliases (*name) are not supported"),
    "deep nesting": ("model:\n  cell: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than"),
    "huge data.path": ("data:\n  path: " + "a" * 10_000_000 + "\n", "over 1 MB"),
    "long data.path": ("data:\n  path: " + "a" * 100_000 + "\n", "data.path is 100,000 characters long"),
    "huge cell": ("model:\n  cell: " + "x" * 500_000 + "\n", "model.cell is 500,000 characters long"),
    "50 MB config": ("#" + "x" * 50_000_000 + "\n", "over 1 MB"),
    "budget not a duration": ("train:\n  time_budget: soon\n", "train.time_budget must be a duration"),
    "budget zero": ("train:\n  time_budget: 0s\n", "train.time_budget must be more than 0"),
    "budget negative": ("train:\n  time_budget: -30\n", "train.time_budget must be more than 0"),
    "budget inf": ("train:\n  time_budget: .inf\n", "train.time_budget must be a duration"),
    "min_lr above lr": ("train:\n  learning_rate: 1e-3\n  min_lr: 1e-2\n", "train.min_lr (0.01) is above"),
    "unknown schedule": ("train:\n  lr_schedule: exponential\n", "lr_schedule must be one of step, cosine, linear"),
    "warmup negative": ("train:\n  warmup_iters: -5\n", "train.warmup_iters must be 0 or more"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_one_short_line_quickly(name, tmp_path, capsys):
    text, fragment = CASES[name]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    start = time.perf_counter()
    assert main(["run", str(path), "--headless"]) == 2
    took = time.perf_counter() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err[:3]
    assert fragment in err[0], (fragment, err[0][:300])
    assert len(err[0]) < 300, err[0][:300]   # a bad value is quoted in ~80 characters at most
    assert took < 5, f"{name} took {took:.1f} s"


def test_model_too_big_for_memory_says_what_it_needs(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("model:\n  hidden_size: 100000\n  num_layers: 100\n  embed_size: 100000\n")
    assert main(["run", str(path), "--headless"]) == 2
    line = capsys.readouterr().err.strip()
    assert "needs ~" in line and "GB free" in line and "make model.hidden_size smaller" in line, line


def test_param_count_matches_the_built_model():
    for cell in ("lstm", "gru", "rnn"):
        cfg = Config().model
        cfg.cell, cfg.hidden_size, cfg.num_layers, cfg.embed_size = cell, 24, 3, 10
        assert param_count(37, cfg) == build(37, cfg).num_params()


def test_check_fits_refuses_only_what_does_not_fit(monkeypatch):
    from tuirnn.core import model as model_mod
    cfg = Config().model                                      # 2x128 LSTM: ~0.2 M params
    monkeypatch.setattr(model_mod, "free_memory", lambda device="cpu": 10**9)
    assert check_fits(65, cfg) == param_count(65, cfg)
    monkeypatch.setattr(model_mod, "free_memory", lambda device="cpu": 10**6)
    with pytest.raises(UserError, match=r"needs ~0\.0 GB to train, this machine has 0\.0 GB free"):
        check_fits(65, cfg)
    monkeypatch.setattr(model_mod, "free_memory", lambda device="cpu": None)  # unknown: allowed
    assert check_fits(65, cfg) > 0


def test_bad_overrides_are_bounded_too(capsys):
    for override, fragment in [("train.seed=1e30", "train.seed"),
                               ("sample.temperature=.nan", "finite"),
                               ("run.name=a/b", "one folder name"),
                               ("model.cell=&a [*a]", "model.cell must be one of"),
                               ("model.cell=" + "q" * 100_000, "model.cell")]:
        assert main(["run", "--set", override]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0] and len(err[0]) < 300, (override[:40], err)


def test_good_values_near_the_limits_still_load(tmp_path):
    path = tmp_path / "edge name.yaml"                 # a stem with a space: a safe default name
    path.write_text("train:\n  seed: 9223372036854775807\n  threads: 1024\n"
                    "sample:\n  temperature: 1.0e-3\nrun:\n  root: runs\n")
    cfg = config.load(path)
    assert cfg.train.seed == 2**63 - 1 and cfg.run.name == "edge-name"


@pytest.mark.parametrize("make", ["fifo", "dev_zero", "folder"])
def test_a_config_that_is_not_a_regular_file(make, tmp_path):
    """In a process of its own with a timeout: a hang fails the test rather than block it."""
    match make:
        case "fifo":
            import os
            path = tmp_path / "c.yaml"
            os.mkfifo(path)
        case "dev_zero":
            path = Path("/dev/zero")
        case "folder":
            path = tmp_path
    assert_user_error(run_cli("run", str(path), "--headless", timeout=60), "not a regular file"
                      if make != "folder" else "folder")


def test_alias_bomb_through_the_cli(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    assert_user_error(run_cli("run", str(path), "--headless", timeout=60), "aliases")
