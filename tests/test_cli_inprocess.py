"""Quick CLI checks that need no training: run in-process through tuirnn.cli.main."""
from __future__ import annotations

import pytest
import torch

from tuirnn.cli import main


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_bare_command_explains_itself(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: tuirnn" in out and "tuirnn run configs/tiny.yaml" in out


def test_sample_flags_are_checked(tmp_path, capsys):
    ck = tmp_path / "x.pt"
    ck.write_bytes(b"")
    assert main(["sample", str(ck), "--device", "foo"]) == 2
    assert "--device 'foo' is not a device" in error_line(capsys)
    assert main(["sample", str(ck), "--top-k", "-1"]) == 2
    assert "--top-k must be 0" in error_line(capsys)
    if not torch.cuda.is_available():
        assert main(["sample", str(ck), "--device", "cuda"]) == 2
        assert "--device is 'cuda' but this machine has no CUDA GPU" in error_line(capsys)


def test_a_folder_without_checkpoints(tmp_path, capsys):
    assert main(["sample", str(tmp_path)]) == 2
    assert "is a folder without checkpoints/best.pt or last.pt" in error_line(capsys)


def test_neurons_html_into_a_missing_folder_fails_before_probing(tmp_path, capsys):
    ck = tmp_path / "x.pt"
    ck.write_bytes(b"")   # never read: the output folder is checked first
    assert main(["neurons", str(ck), "--html", str(tmp_path / "nodir" / "x.html")]) == 2
    assert "does not exist" in error_line(capsys)


@pytest.mark.parametrize("value", ["tpu", "cuda:x"])
def test_bad_train_device(value, capsys):
    assert main(["run", "--set", f"train.device={value}"]) == 2
    assert "train.device" in error_line(capsys)
