"""Corpora and --text files that never end or block (a FIFO, /dev/zero, a folder), names the OS
refuses, and files that grow while read: one line and exit 2, never a hang.

The device and FIFO cases run in a process of their own with a timeout, so a regression fails
the test rather than block the suite.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import assert_user_error, run_cli, tiny_config, untrained_checkpoint

from tuirnn.core import checkpoint as ckpt_mod
from tuirnn.core import corpus as corpus_mod
from tuirnn.core.corpus import read_regular_file
from tuirnn.core.errors import UserError


def _special(kind: str, tmp_path: Path) -> Path:
    match kind:
        case "fifo":
            path = tmp_path / "corpus.fifo"
            os.mkfifo(path)
            return path
        case "dev_zero":
            return Path("/dev/zero")
        case "folder":
            path = tmp_path / "texts"
            path.mkdir()
            return path
    raise ValueError(kind)


EXPECTED = {"fifo": "not a regular file", "dev_zero": "not a regular file", "folder": "is a folder"}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_special_file_as_data_path(kind, tmp_path):
    cfg = tiny_config(tmp_path, _special(kind, tmp_path))
    proc = run_cli("run", str(cfg), "--headless", timeout=60)
    assert_user_error(proc, EXPECTED[kind], "data.path")
    assert not (tmp_path / "runs").exists()  # refused before any run folder is made


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return untrained_checkpoint(tmp_path / "model.pt")


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_special_file_as_neurons_text(kind, tmp_path, checkpoint):
    proc = run_cli("neurons", str(checkpoint), "--text", str(_special(kind, tmp_path)), timeout=60)
    assert_user_error(proc, EXPECTED[kind], "--text")


def test_a_name_the_os_refuses(tmp_path):
    cfg = tiny_config(tmp_path, tmp_path / ("a" * 300))   # one component past NAME_MAX (255)
    assert_user_error(run_cli("run", str(cfg), "--headless", timeout=60),
                      "data.path", "File name too long")


def test_a_nul_in_data_path(tmp_path):
    cfg = tmp_path / "nul.yaml"
    cfg.write_text('data:\n  path: "a\\0b"\n')
    assert_user_error(run_cli("run", str(cfg), "--headless", timeout=60), "not a usable path")


def test_read_stops_at_the_size_seen_when_opened(tmp_path, monkeypatch):
    """A file that grows while read (a log being written) is read up to its size at open."""
    path = tmp_path / "growing.txt"
    path.write_bytes(b"x" * 1000)
    real_fstat = os.fstat

    def fstat_then_grow(fd):
        st = real_fstat(fd)
        with open(path, "ab") as f:   # the file grows right after its size was taken
            f.write(b"y" * 5000)
        return st
    monkeypatch.setattr(corpus_mod.os, "fstat", fstat_then_grow)
    data = read_regular_file(path, "data.path")
    assert data == b"x" * 1000
    assert path.stat().st_size == 6000


def test_read_limit_and_missing_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"abcdef")
    assert read_regular_file(path, "--text", limit=4) == b"abcd"
    with pytest.raises(UserError, match="no such file"):
        read_regular_file(tmp_path / "nope.txt", "--text")


def test_neurons_text_reads_only_what_length_needs(tmp_path, checkpoint):
    """--length 50 on a big file: the start is probed, a multi-byte character cut at the read
    limit is no error."""
    from tuirnn.cli.neurons import read_text_file
    path = tmp_path / "big.txt"
    path.write_text("é" * 1_000_000, encoding="utf-8")           # 2 MB, 2 bytes a character
    assert read_text_file(str(path), 50) == "é" * 50
    path.write_text("\ufeffab\r\ncd", encoding="utf-8")
    assert read_text_file(str(path), 10) == "ab\ncd"


def test_corpus_decode_still_refuses_binary(tmp_path):
    """/dev/zero's bytes copied into a regular file are still caught (as binary)."""
    path = tmp_path / "zeros.txt"
    path.write_bytes(b"\0" * 4096)
    assert_user_error(run_cli("run", str(tiny_config(tmp_path, path)), "--headless", timeout=60),
                      "binary")


def test_checkpoint_loads_after_all_this(checkpoint):
    """The fixture's checkpoint is valid: the --text failures above are about the text alone."""
    model, vocab, ck = ckpt_mod.model_from_checkpoint(checkpoint)
    assert isinstance(model, torch.nn.Module) and ck["iteration"] == 1
