"""One resume hint for every way a run stops: the program as launched, an absolute run folder."""
import os
import sys

from tuirnn.cli import hints


def test_the_hint_works_from_any_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("TUIRNN_PROG", "./tuirnn.sh")
    monkeypatch.chdir(tmp_path)
    assert hints.resume_hint("runs/a b") == f"./tuirnn.sh run --resume '{tmp_path}/runs/a b'"
    assert hints.resume_hint(tmp_path / "r") == f"./tuirnn.sh run --resume {tmp_path}/r"


def test_a_tuirnn_off_path_is_named_by_its_full_path(monkeypatch, tmp_path):
    monkeypatch.delenv("TUIRNN_PROG", raising=False)
    exe = tmp_path / "venv" / "bin" / "tuirnn"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(exe), "stop"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert hints.program() == str(exe)
    monkeypatch.setenv("PATH", str(exe.parent) + os.pathsep + "/usr/bin")
    assert hints.program() == "tuirnn"                # activated: the short name works
    monkeypatch.setattr(sys, "argv", ["/x/tuirnn/__main__.py"])
    assert hints.program() == "tuirnn"
