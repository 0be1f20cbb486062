"""A missing or broken last.pt is never "no checkpoint yet": with best.pt, snapshots or evals in
the folder, `tuirnn run --resume` ends in one line naming what is there and how to go on, exit
2, and best.pt is byte-identical (before, it restarted from iteration 0 and saved a worse one)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli, tiny_config

from tuirnn.core import checkpoint
from tuirnn.core.errors import UserError


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    """A finished tiny run with last.pt, best.pt and snapshots, made once for the module."""
    base = tmp_path_factory.mktemp("saved")
    corpus = base / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400, encoding="utf-8")
    run_dir = base / "run"
    proc = run_cli("run", str(tiny_config(base, corpus, max_iters=4, eval_every=2)),
                   "--run-dir", str(run_dir), "--headless")
    assert proc.returncode == 0, proc.stderr
    return run_dir


def _copy(saved_run: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(saved_run, run_dir, symlinks=True)
    (run_dir / "checkpoints" / "last.pt").unlink()
    return run_dir


def _dangling(p: Path) -> None:
    os.symlink(p.parent / "gone.pt", p)


def _dev_zero(p: Path) -> None:
    os.symlink("/dev/zero", p)


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _folder(p: Path) -> None:
    p.mkdir()


BROKEN = {
    "dangling link": (_dangling, "a link that does not resolve"),
    "/dev/zero link": (_dev_zero, "is a link, not a checkpoint file"),
    "FIFO": (_fifo, "a FIFO"),
    "directory": (_folder, "folder, not a checkpoint file"),
    "missing": (lambda p: None, "last.pt is missing"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_last_pt_is_refused_and_best_is_kept(name, saved_run, tmp_path):
    run_dir = _copy(saved_run, tmp_path)
    make, fragment = BROKEN[name]
    make(run_dir / "checkpoints" / "last.pt")
    best = (run_dir / "checkpoints" / "best.pt").read_bytes()
    listing = sorted(os.listdir(run_dir / "checkpoints"))
    log = (run_dir / "events.jsonl").read_bytes()
    proc = run_cli("run", "--resume", str(run_dir), "--headless", timeout=60)
    assert_user_error(proc, fragment, "has saved before", "best.pt",
                      f"--init-from {run_dir / 'checkpoints' / 'best.pt'}")
    assert "iteration 0" not in proc.stdout
    assert (run_dir / "checkpoints" / "best.pt").read_bytes() == best
    assert sorted(os.listdir(run_dir / "checkpoints")) == listing
    assert (run_dir / "events.jsonl").read_bytes() == log


def test_a_truncated_last_pt_names_best_pt(saved_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(saved_run, run_dir)
    last = run_dir / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    best = (run_dir / "checkpoints" / "best.pt").read_bytes()
    proc = run_cli("run", "--resume", str(run_dir), "--headless", timeout=60)
    assert_user_error(proc, "cannot be read", f"--init-from {run_dir / 'checkpoints' / 'best.pt'}")
    assert (run_dir / "checkpoints" / "best.pt").read_bytes() == best


def test_without_best_pt_the_newest_snapshot_is_named(saved_run, tmp_path):
    run_dir = _copy(saved_run, tmp_path)
    (run_dir / "checkpoints" / "best.pt").unlink()
    newest = sorted((run_dir / "checkpoints").glob(checkpoint.SNAPSHOT_GLOB))[-1]
    with pytest.raises(UserError, match=f"--init-from {newest}"):
        checkpoint.resume_checkpoint(run_dir)


def test_evals_in_the_log_alone_are_saved_work(saved_run, tmp_path):
    """No checkpoint files at all, but events.jsonl says evals and saves happened."""
    run_dir = _copy(saved_run, tmp_path)
    shutil.rmtree(run_dir / "checkpoints")
    with pytest.raises(UserError, match="evals in events.jsonl"):
        checkpoint.resume_checkpoint(run_dir)


def test_a_folder_that_never_saved_has_no_checkpoint(tmp_path):
    assert checkpoint.resume_checkpoint(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "events.jsonl").write_text('{"event": "RunStarted", "run_na')
    assert checkpoint.resume_checkpoint(tmp_path) is None


def test_a_checkpoints_link_is_refused(saved_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(saved_run, tmp_path / "elsewhere")
    run_dir.mkdir()
    os.symlink(tmp_path / "elsewhere" / "checkpoints", run_dir / "checkpoints")
    with pytest.raises(UserError, match="is a link"):
        checkpoint.resume_checkpoint(run_dir)
