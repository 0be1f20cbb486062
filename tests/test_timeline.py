"""The sample timeline: the eval schedule `auto`, the fixed sample at every checkpoint, and the
Samples tab that shows them one under another (scrolling, toggling, a diff of two)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_text
from tuirnn.core import config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.errors import UserError
from tuirnn.core.events import EvalCompleted, SampleGenerated
from tuirnn.core.train import AUTO_EVALS, Trainer, eval_due


def test_auto_schedule_is_early_then_every_eval_every_after():
    due = [i for i in range(1, 6001) if eval_due(i, "auto", 1000)]
    assert due == [100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000]
    assert list(AUTO_EVALS) == due[:8]
    assert [i for i in range(1, 12_001) if eval_due(i, "auto", 5000)][-2:] == [5000, 10_000]
    assert [i for i in range(1, 1001) if eval_due(i, 250, 1000)] == [250, 500, 750, 1000]


def test_config_takes_auto_or_a_number():
    cfg = config.load(None)
    assert cfg.train.eval_every == "auto" and cfg.train.eval_every_after == 1000
    assert cfg.sample.timeline is True and cfg.sample.timeline_prime == ""
    assert config.load(None, ["train.eval_every=250"]).train.eval_every == 250
    with pytest.raises(UserError, match="train.eval_every must be a whole number or auto"):
        config.load(None, ["train.eval_every=soon"])
    with pytest.raises(UserError, match="eval_every_after must be greater than 0"):
        config.load(None, ["train.eval_every_after=0"])
    with pytest.raises(UserError, match="sample.seed must be 0 or more"):
        config.load(None, ["sample.seed=-3"])


def tiny_cfg(*overrides: str):
    return config.load(None, ["model.hidden_size=16", "model.embed_size=8", "model.num_layers=1",
                              "train.batch_size=4", "train.seq_length=8", "train.log_every=50",
                              "sample.length=20", *overrides])


def run(cfg, run_dir: Path) -> list:
    events: list = []
    run_dir.mkdir(parents=True)
    corpus = Corpus.from_text(make_text(3000, seed=5), "t", 0.1)
    Trainer(cfg, run_dir, [events.append], Control(), corpus).run()
    return events


def test_auto_evals_with_a_fixed_sample_at_each(tmp_path):
    events = run(tiny_cfg("train.max_iters=320", "sample.timeline_prime=The", "sample.seed=7"),
                 tmp_path / "r")
    assert [e.iteration for e in events if isinstance(e, EvalCompleted)] == [100, 200, 300, 320]
    fixed = [e for e in events if isinstance(e, SampleGenerated) and e.timeline]
    drawn = [e for e in events if isinstance(e, SampleGenerated) and not e.timeline]
    assert [e.iteration for e in fixed] == [100, 200, 300, 320] == [e.iteration for e in drawn]
    assert all(e.seed == 7 and e.text.startswith("The") and e.prime == "The" for e in fixed)
    assert len({e.seed for e in drawn}) == 4              # the random ones change seed
    assert all(e.val_loss is not None for e in fixed)
    # the same model draws the same fixed sample: what differs between checkpoints is the model
    again = run(tiny_cfg("train.max_iters=100", "sample.timeline_prime=The", "sample.seed=7"),
                tmp_path / "again")
    assert [e.text for e in again if isinstance(e, SampleGenerated) and e.timeline] == [fixed[0].text]


def test_timeline_off_draws_only_the_random_sample(tmp_path):
    events = run(tiny_cfg("train.max_iters=10", "train.eval_every=5", "sample.timeline=false"),
                 tmp_path / "r")
    samples = [e for e in events if isinstance(e, SampleGenerated)]
    assert [e.iteration for e in samples] == [5, 10] and not any(e.timeline for e in samples)
