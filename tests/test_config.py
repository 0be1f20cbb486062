from pathlib import Path

import pytest

from tuirnn.core import config
from tuirnn.core.errors import UserError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_defaults_and_name_from_file(tmp_path):
    cfg = config.load(write(tmp_path, "model:\n  cell: gru\n"))
    assert cfg.model.cell == "gru"
    assert cfg.model.hidden_size == 128 and cfg.train.batch_size == 50
    assert cfg.run.name == "c"


def test_unknown_key_suggests_the_near_one(tmp_path):
    with pytest.raises(UserError, match=r"unknown key 'train.learning_rat'.*did you mean 'train.learning_rate'"):
        config.load(write(tmp_path, "train:\n  learning_rat: 0.01\n"))


def test_unknown_section(tmp_path):
    with pytest.raises(UserError, match="unknown section 'modle'.*did you mean 'model'"):
        config.load(write(tmp_path, "modle:\n  cell: gru\n"))


@pytest.mark.parametrize("text, fragment", [
    ("model:\n  hidden_size: big\n", "model.hidden_size must be a whole number"),
    ("model:\n  hidden_size: 0\n", "greater than 0"),
    ("train:\n  batch_size: -3\n", "greater than 0"),
    ("model:\n  cell: transformer\n", "one of lstm, gru, rnn"),
    ("model:\n  dropout: 1.5\n", "between"),
    ("train:\n  device: tpu\n", "auto, cpu, cuda"),
    ("train:\n  grad_clip: -1\n", "0 or more"),
    ("data:\n  normalize_newlines: 3\n", "must be true or false"),
])
def test_bad_values_name_key_and_range(tmp_path, text, fragment):
    with pytest.raises(UserError, match=fragment):
        config.load(write(tmp_path, text))


def test_malformed_yaml_gives_line(tmp_path):
    with pytest.raises(UserError, match="not valid YAML at line 2, column 1: found character"):
        config.load(write(tmp_path, "model:\n\tcell: lstm\n"))


def test_overrides_are_typed_like_yaml():
    cfg = config.load(None, ["train.max_iters=200", "train.learning_rate=1e-3", "model.cell=gru",
                             "data.normalize_newlines=false"])
    assert cfg.train.max_iters == 200 and isinstance(cfg.train.max_iters, int)
    assert cfg.train.learning_rate == pytest.approx(1e-3)
    assert cfg.model.cell == "gru" and cfg.data.normalize_newlines is False
    assert cfg.run.name == "default"


def test_override_needs_dotted_key():
    with pytest.raises(UserError, match="section.key=value"):
        config.load(None, ["max_iters=3"])
    with pytest.raises(UserError, match="did you mean 'train.max_iters'"):
        config.load(None, ["train.max_iter=3"])


def test_round_trip_through_dump():
    cfg = config.load(None, ["model.hidden_size=32"])
    again = config.from_dict(__import__("yaml").safe_load(config.dump(cfg)))
    assert again == cfg


def test_shipped_configs_load():
    root = Path(__file__).resolve().parents[1] / "configs"
    for name in ("warpeace", "tinyshakespeare", "tiny"):
        cfg = config.load(root / f"{name}.yaml")
        assert cfg.run.name == name
    wp = config.load(root / "warpeace.yaml")
    assert (wp.model.cell, wp.model.num_layers, wp.model.hidden_size, wp.model.dropout) == ("lstm", 3, 512, 0.5)


def test_whole_numbers_written_with_an_exponent_are_ints():
    cfg = config.load(None, ["train.max_iters=1e3"])
    assert cfg.train.max_iters == 1000 and isinstance(cfg.train.max_iters, int)
    with pytest.raises(UserError, match="must be a whole number or null, got '1.5e0'"):
        config.load(None, ["train.max_iters=1.5e0"])


def test_deadline_configs_and_keys():
    root = Path(__file__).resolve().parents[1] / "configs"
    thirty = config.load(root / "warpeace-paper-30m.yaml")
    paper = config.load(root / "warpeace-paper.yaml")
    assert (thirty.train.time_budget, thirty.train.lr_schedule) == ("30m", "cosine")
    assert thirty.model == paper.model and thirty.data.test_frac == paper.data.test_frac == 0.1
    first = config.load(root / "first-look.yaml")
    assert first.train.time_budget == "60s" and first.train.lr_schedule == "linear"
    assert first.train.max_iters is None      # the budget alone ends it: the rate reaches 0
    assert config.Config().train.lr_schedule == "step" and config.Config().train.time_budget is None
    cfg = config.load(None, ["train.time_budget=1h30m", "train.lr_schedule=linear",
                             "train.warmup_iters=100", "train.min_lr=1e-5"])
    assert (cfg.train.time_budget, cfg.train.warmup_iters, cfg.train.min_lr) == ("1h30m", 100, 1e-5)
    # min_lr is checked against the rate once every key is in, whatever the order
    ok = config.load(None, ["train.min_lr=3e-3", "train.learning_rate=4e-3"])
    assert ok.train.min_lr == 3e-3
    with pytest.raises(UserError, match="train.min_lr .* is above train.learning_rate"):
        config.load(None, ["train.learning_rate=1e-3", "train.min_lr=2e-3"])
