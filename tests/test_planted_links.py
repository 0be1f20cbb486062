"""A run folder prepared by someone else: links planted by the names a run writes (lock,
.config.yaml.tmp, checkpoints/.write-test, train.log, events.jsonl, checkpoints itself) never
get written through, and snapshot pruning deletes nothing it did not write. A folder made by
another user, or one others can write, is refused with one line before anything is written."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli, tiny_config

from tuirnn.core import checkpoint

VICTIM_TEXT = b"the owner's thesis, chapter 3\n" * 100
SNAP = "iter0000003_epoch0.10_val2.3100.pt"     # a name pruning would take for a snapshot


@pytest.fixture
def victim(tmp_path) -> Path:
    """The owner's files outside the run folder: one text, and a folder of snapshot-named files."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "thesis.tex").write_bytes(VICTIM_TEXT)
    for i in range(1, 4):
        (folder / f"iter000000{i}_epoch0.0{i}_val2.000{i}.pt").write_bytes(VICTIM_TEXT)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _config(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400, encoding="utf-8")
    return tiny_config(tmp_path, corpus, max_iters=4, eval_every=1, keep_snapshots=1)


def _plant(run_dir: Path, target: Path, *names: str) -> None:
    for name in names:
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, run_dir / name)


@pytest.mark.parametrize("names, fragment", [
    (("lock",), "/lock' is a link or not a regular file"),
    (("train.log",), "/train.log' is a link or not a regular file"),
    (("events.jsonl",), "already holds a run"),
    (("lock", ".config.yaml.tmp", "checkpoints/.write-test", "train.log", "events.jsonl"),
     "already holds a run"),
])
def test_planted_links_are_refused(names, fragment, tmp_path, victim):
    before = _snapshot(victim)
    run_dir = tmp_path / "planted"
    _plant(run_dir, victim / "thesis.tex", *names)
    proc = run_cli("run", str(_config(tmp_path)), "--run-dir", str(run_dir), "--headless", timeout=60)
    assert_user_error(proc, fragment)
    assert _snapshot(victim) == before


def test_temp_names_planted_are_never_opened(tmp_path, victim):
    """Links by the temp names alone: the run trains (its temps are fresh O_EXCL names), the
    victim keeps its bytes, and the planted links are cleared away, not followed."""
    before = _snapshot(victim)
    run_dir = tmp_path / "planted"
    _plant(run_dir, victim / "thesis.tex", ".config.yaml.tmp", "checkpoints/.write-test",
           "checkpoints/.last.pt.tmp")
    proc = run_cli("run", str(_config(tmp_path)), "--run-dir", str(run_dir), "--headless", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(victim) == before
    assert (run_dir / "checkpoints" / "last.pt").is_file()


def test_a_checkpoints_link_is_refused(tmp_path, victim):
    before = _snapshot(victim)
    run_dir = tmp_path / "planted"
    run_dir.mkdir()
    os.symlink(victim, run_dir / "checkpoints")
    proc = run_cli("run", str(_config(tmp_path)), "--run-dir", str(run_dir), "--headless", timeout=60)
    assert_user_error(proc, "checkpoints", "is a link or not a folder")
    assert _snapshot(victim) == before


def test_resume_refuses_a_checkpoints_link(tmp_path, victim):
    run_dir = tmp_path / "run"
    assert run_cli("run", str(_config(tmp_path)), "--run-dir", str(run_dir), "--headless").returncode == 0
    shutil.rmtree(run_dir / "checkpoints")
    os.symlink(victim, run_dir / "checkpoints")
    before = _snapshot(victim)
    assert_user_error(run_cli("run", "--resume", str(run_dir), "--headless", timeout=60),
                      "is a link or not a folder")
    assert _snapshot(victim) == before


def test_pruning_removes_only_the_snapshots_it_wrote(tmp_path, victim):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    os.symlink(victim / "thesis.tex", folder / "iter0000001_epoch0.01_val2.0001.pt")
    (folder / "iter0000002_epoch0.02_val2.0002.pt").mkdir()          # a folder by that name
    (folder / "iter2_epochX_valY.pt").write_bytes(b"not ours")        # matches the glob only
    for i in (3, 4):
        (folder / f"iter000000{i}_epoch0.0{i}_val2.000{i}.pt").write_bytes(b"ours")
    before = _snapshot(victim)
    checkpoint.prune_snapshots(folder, keep=1)
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["iter0000001_epoch0.01_val2.0001.pt", "iter0000002_epoch0.02_val2.0002.pt",
                    "iter0000004_epoch0.04_val2.0004.pt", "iter2_epochX_valY.pt"]
    assert _snapshot(victim) == before
    os.symlink(victim, tmp_path / "link")
    checkpoint.prune_snapshots(tmp_path / "link", keep=1)
    assert _snapshot(victim) == before                                # a linked folder: untouched


def test_a_folder_others_can_write_is_refused(tmp_path):
    run_dir = tmp_path / "open"
    run_dir.mkdir()
    run_dir.chmod(0o777)
    proc = run_cli("run", str(_config(tmp_path)), "--run-dir", str(run_dir), "--headless", timeout=60)
    assert_user_error(proc, "can be written by others (mode 777)", f"chmod go-w {run_dir}")
    assert list(run_dir.iterdir()) == []
    parent = tmp_path / "open-parent"
    parent.mkdir()
    parent.chmod(0o777)
    proc = run_cli("run", str(_config(tmp_path)), "--run-dir", str(parent / "run"), "--headless", timeout=60)
    assert_user_error(proc, "can be written by others", "swap the run folder")
    assert list(parent.iterdir()) == []


# --- as a second local user ---------------------------------------------------------------------------
def _can_add_users() -> str | None:
    if os.geteuid() != 0:
        return "needs root to add a second local user (useradd)"
    if not (shutil.which("useradd") and shutil.which("userdel") and shutil.which("runuser")):
        return "useradd, userdel or runuser is missing"
    return None


@pytest.fixture
def other_user():
    """A throwaway local user, removed afterwards."""
    why = _can_add_users()
    if why:
        pytest.skip(why)
    name = f"tuirnn-t{os.getpid() % 100000}"
    made = subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"useradd failed: {made.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def _as(user: str, *argv: str) -> None:
    subprocess.run(["runuser", "-u", user, "--", *argv], check=True, capture_output=True)


def test_another_users_folder_is_refused(other_user, tmp_path):
    """They make a 0777 folder with links to the owner's files in it, and point the owner at it
    (as --run-dir, or as the folder a --run-dir is made in): one line, exit 2, nothing written."""
    base = Path(tempfile.mkdtemp(prefix="tuirnn-shared-", dir="/tmp"))   # reachable by both
    try:
        base.chmod(0o1777)                      # like /tmp: anyone makes a folder of their own
        victim = base / "owner"
        victim.mkdir(mode=0o700)
        (victim / "thesis.tex").write_bytes(VICTIM_TEXT)
        (victim / SNAP).write_bytes(VICTIM_TEXT)
        before = _snapshot(victim)
        theirs = base / "theirs"
        _as(other_user, "mkdir", "-m", "0777", str(theirs))
        for name in ("lock", ".config.yaml.tmp", "train.log"):
            _as(other_user, "ln", "-s", str(victim / "thesis.tex"), str(theirs / name))
        _as(other_user, "ln", "-s", str(victim), str(theirs / "checkpoints"))
        planted = sorted(os.listdir(theirs))
        cfg = str(_config(tmp_path))
        for run_dir, fragment in ((theirs, "belongs to"), (theirs / "sub", "belongs to")):
            proc = run_cli("run", cfg, "--run-dir", str(run_dir), "--headless", timeout=60)
            assert_user_error(proc, fragment, other_user, "a folder of your own making")
            assert _snapshot(victim) == before and sorted(os.listdir(theirs)) == planted
        assert_user_error(run_cli("run", "--resume", str(theirs), "--headless", timeout=60))
        assert _snapshot(victim) == before and sorted(os.listdir(theirs)) == planted
    finally:
        shutil.rmtree(base, ignore_errors=True)
