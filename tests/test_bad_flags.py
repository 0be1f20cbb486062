"""`tuirnn sample` flags checked before the checkpoint is read, and a long sample that stops
cleanly on Ctrl+C."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, untrained_checkpoint

from tuirnn.cli import main
from tuirnn.core.config import Config
from tuirnn.core.model import build


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return untrained_checkpoint(tmp_path / "model.pt")


@pytest.mark.parametrize("flags, fragment", [
    (["--seed", "1e23"], "--seed must be between 0 and 2**63 - 1; got 1e+23"),
    (["--seed", "100000000000000000000"], "--seed must be between"),
    (["--seed", "-1"], "--seed must be between"),
    (["-t", "nan"], "--temperature must be a number greater than 0"),
    (["-t", "inf"], "--temperature must be a number greater than 0"),
    (["-t", "-1"], "--temperature must be a number greater than 0"),
    (["-n", "1e30"], "--length must be between 0 and 1,000,000,000,000; got 1e+30"),
    (["-n", "1" + "0" * 400], "got a number of 401 digits"),
    (["-n", "-5"], "--length must be between"),
])
def test_sample_flags_checked_up_front(flags, fragment, tmp_path, capsys):
    missing = tmp_path / "never-read.pt"   # the flags fail first: the file is never looked at
    assert main(["sample", str(missing), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_exponent_written_numbers_work(checkpoint, capsys):
    assert main(["sample", str(checkpoint), "-n", "2e1", "--seed", "1e3", "--top-k", "5"]) == 0
    a = capsys.readouterr().out
    assert main(["sample", str(checkpoint), "-n", "20", "--seed", "1000", "--top-k", "5"]) == 0
    assert capsys.readouterr().out == a and len(a.rstrip("\n")) >= 20 - a.count("\n")


def test_not_a_number_is_argparse_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sample", str(tmp_path / "x.pt"), "--seed", "abc"])
    assert e.value.code == 2
    assert "'abc' is not a whole number" in capsys.readouterr().err


def test_ctrl_c_stops_a_billion_character_sample_cleanly(checkpoint):
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "sample", str(checkpoint),
                             "-n", "1000000000", "--seed", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert len(proc.stdout.read(3000)) == 3000   # it is streaming
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip() == "interrupted", err


def test_generate_refuses_what_would_fail_inside_torch():
    """Whoever asks (CLI, monitor dialog, socket client): one UserError, not a torch error."""
    from tuirnn.core.errors import UserError
    from tuirnn.core.sample import generate
    model = build(5, Config().model)
    for settings in [dict(temperature=float("nan")), dict(temperature=float("inf")),
                     dict(temperature=-1.0), dict(top_k=-1), dict(seed=-1), dict(length=-1)]:
        with pytest.raises(UserError):
            next(generate(model, "abcde", settings.pop("length", 5), **settings))
    # a seed past 64 bits wraps rather than fail (train.seed + iteration can pass 2**63)
    assert "".join(generate(model, "abcde", 5, seed=2**63 + 7)) == \
        "".join(generate(model, "abcde", 5, seed=7))
