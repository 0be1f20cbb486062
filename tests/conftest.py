"""Shared helpers: tiny corpora the tests make themselves, and a CLI runner."""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

# One torch thread in the tests and the processes they start (torch reads this when it loads):
# `train.threads: 0` means all cores, and on a machine the tests share with other work, tiny
# models on threads that spin against it ran 40-70x slower (0.6 s -> 42 s for one test).
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def make_text(n_chars: int = 20_000, seed: int = 0) -> str:
    """Pseudo-English: words from a small lexicon, punctuation and newlines."""
    rng = random.Random(seed)
    words = "the a of and to in he she was it his her that with for on as at by war peace".split()
    out, size = [], 0
    while size < n_chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))).capitalize() + ".\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:n_chars]


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(make_text(), encoding="utf-8")
    return p


def tiny_config(tmp_path: Path, corpus: Path, **train) -> Path:
    """A config that trains a very small LSTM for a few iterations."""
    t = {"batch_size": 4, "seq_length": 16, "max_iters": 6, "eval_every": 3, "log_every": 1}
    t.update(train)
    lines = ["data:", f"  path: {corpus}", "  val_frac: 0.1", "model:", "  hidden_size: 16",
             "  num_layers: 2", "  embed_size: 8", "train:"]
    lines += [f"  {k}: {v}" for k, v in t.items()]
    lines += ["sample:", "  length: 20", "run:", f"  root: {tmp_path / 'runs'}"]
    p = tmp_path / "tiny.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "tuirnn", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2, one line on stderr starting 'error:', naming the problem; no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in err and "Traceback" not in proc.stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def untrained_checkpoint(path: Path) -> Path:
    """A sampling checkpoint of an untrained 1x16 LSTM over make_text()'s characters."""
    from tuirnn.core import checkpoint as ckpt_mod
    from tuirnn.core.config import Config
    from tuirnn.core.model import build
    cfg = Config()
    cfg.model.hidden_size, cfg.model.num_layers, cfg.model.embed_size = 16, 1, 8
    vocab = "".join(sorted(set(make_text(2000))))
    ckpt_mod.save_atomic({"format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
                          "model": build(len(vocab), cfg.model).state_dict(), "vocab": vocab,
                          "config": cfg.to_dict(), "iteration": 1}, path)
    return path
