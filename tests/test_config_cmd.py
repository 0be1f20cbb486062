"""`tuirnn config`: every default key printed as YAML, the keys set by file and --set marked;
bad input one line and exit 2."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from tuirnn.cli.main import main
from tuirnn.core.config import Config


def every_key() -> list[str]:
    return [f"{section}.{f.name}" for section, value in vars(Config()).items()
            for f in dataclasses.fields(value)]


def lines_by_key(out: str) -> dict[str, str]:
    found, section = {}, ""
    for line in out.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        else:
            found[f"{section}.{line.strip().split(':')[0]}"] = line
    return found


def test_every_default_and_the_set_keys_marked(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("model:\n  cell: gru\n", encoding="utf-8")
    assert main(["config", str(cfg), "--set", "train.max_iters=200"]) == 0
    out = capsys.readouterr().out
    lines = lines_by_key(out)
    assert sorted(lines) == sorted(every_key())
    assert lines["model.cell"].endswith("# set")
    assert lines["train.max_iters"].endswith("# from --set")
    assert "#" not in lines["train.batch_size"]
    resolved = yaml.safe_load(out)        # itself a config that `tuirnn run` would read
    assert resolved["train"]["max_iters"] == 200 and resolved["model"]["cell"] == "gru"
    assert resolved["train"]["batch_size"] == Config().train.batch_size
    assert resolved["run"]["name"] == "mine"


def test_defaults_only(capsys) -> None:
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out) == {**Config().to_dict(), "run": {"name": "default", "root": "runs"}}
    assert "#" not in out


def test_bad_key_is_one_line_and_exit_2(capsys) -> None:
    assert main(["config", "--set", "train.bogus=1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "train.bogus" in captured.err
