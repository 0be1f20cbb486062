"""The run folder as a place on disk: who may use it, its lock, making and reopening it.

Two processes never write one folder: a new folder is made with an exclusive mkdir (a -2, -3
suffix when the name is taken) and the process that writes it holds RUN/lock (flock) for its
whole life. The kernel drops the lock when the process ends, however it ends, so a crashed
run's folder is free again at once.

Who may use a folder, and how its files are opened (never through a link), is ownership's.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
import time
from pathlib import Path

from . import config as config_mod
from .errors import StorageError, UserError, shown
from .ownership import (
    PRIVATE,
    check_own_folder,
    check_safe_parent,
    link_refusal,
    mkdirs,
    open_private,
    others_write,
    write_atomic,
)

LOCK_NAME = "lock"
LOCK_RETRY_S = (0.02, 0.05)   # waits before giving up: rides out an is_live() probe's instant


# --- the lock ---------------------------------------------------------------------------------
class RunLock:
    """An exclusive flock on RUN/lock, held while this process writes the folder.

    The file holds "PID HOST" of the holder for the refusal message and `tuirnn ls`. Used as
    a context manager, or acquire()/release(); UserError when another process holds it.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        except OSError as e:
            raise (link_refusal(self.path, e, "lock the run folder") or UserError(
                f"cannot lock the run folder {str(self.run_dir)!r} ({e.strerror}); "
                "choose a writable place with --run-dir or run.root")) from None
        for wait in (*LOCK_RETRY_S, None):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait is None:
                    who = _read_holder(fd)
                    os.close(fd)
                    raise in_use(self.run_dir, who) from None
                time.sleep(wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)          # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int, str] | None:
    try:
        pid, host = os.pread(fd, 300, 0).decode(errors="replace").split()[:2]
        return int(pid), host
    except (OSError, ValueError):
        return None


def in_use(run_dir: Path, who: tuple[int, str] | None) -> UserError:
    if who is None:
        name = "another process"
    else:
        pid, host = who
        name = f"process {pid}" if host == socket.gethostname() else f"process {pid} on {host}"
    return UserError(f"run folder {str(run_dir)!r} is in use by {name}; attach to it or stop it first")


def refuse_if_live(run_dir: str | Path) -> None:
    """UserError naming the holder when a process holds the folder (a quick early check; the
    lock taken when writing starts is what makes it safe)."""
    if is_live(run_dir):
        raise in_use(Path(run_dir), holder(run_dir))


def _open_lock_to_read(run_dir: str | Path) -> int | None:
    """RUN/lock for reading, or None: readers (ls, attach) meet others' folders too, where the
    lock may be a FIFO that would block an open, or a link."""
    try:
        return open_private(Path(run_dir) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None


def holder(run_dir: str | Path) -> tuple[int, str] | None:
    """(pid, host) of the process that holds (or last held) the folder's lock, if known."""
    fd = _open_lock_to_read(run_dir)
    if fd is None:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


def is_live(run_dir: str | Path) -> bool:
    """True while a process holds the folder's lock (training, or serving a finished run).

    Probes with a shared lock that is dropped at once: the holder never notices, and a
    process starting in that instant retries (LOCK_RETRY_S) rather than being refused.
    """
    fd = _open_lock_to_read(run_dir)
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


# --- making and reopening folders ---------------------------------------------------------------
def holds_run(path: Path) -> bool:
    """Anything a run writes (a folder whose run died before its first checkpoint counts; so
    does a link by one of those names: the folder is not fresh)."""
    return any(os.path.lexists(path / name)
               for name in ("config.yaml", "events.jsonl", "checkpoints/last.pt"))


def _already_a_run(path: Path) -> UserError:
    return UserError(f"run folder {str(path)!r} already holds a run; continue it with "
                     f"--resume {path} or choose another --run-dir")


def plan_run_dir(cfg: config_mod.Config, run_dir: str | None) -> Path:
    """The folder a new run will use (made later by make_run_dir, once the run can start);
    refuses one that already holds a run, cannot be written, or is not its user's alone."""
    if run_dir is not None:
        path = Path(run_dir)
        refuse_if_live(path)        # at once, not after loading the corpus
        if holds_run(path):
            raise _already_a_run(path)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(cfg.run.root) / f"{cfg.run.name}-{stamp}"
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK) or not existing.is_dir():
        raise UserError(f"cannot write the run folder {str(path)!r} ({str(existing)!r} is not a "
                        "writable folder); choose a writable place with --run-dir or run.root")
    if existing == path:
        check_own_folder(path)
        check_safe_parent(path.absolute().parent)
    else:
        check_safe_parent(existing)
    return path


def make_run_dir(path: Path, exact: bool) -> tuple[Path, RunLock]:
    """Create the folder and lock it; returns the folder made and the held lock.

    exact=False (a name from run.name and the time): mkdir is exclusive, and a name already
    taken, by an older run or a process starting in the same second, gets -2, -3, ...
    exact=True (--run-dir): the folder may exist, but must hold no run and no live process.
    """
    try:
        if exact:
            mkdirs(path)
        else:
            mkdirs(path.parent)
            base, n = path, 1
            while True:
                try:
                    path.mkdir(mode=0o755)
                    break
                except FileExistsError:
                    n += 1
                    path = base.with_name(f"{base.name}-{n}")
    except OSError as e:
        raise UserError(f"cannot write the run folder {str(path)!r} ({e.strerror}); "
                        "choose a writable place with --run-dir or run.root") from None
    check_own_folder(path)       # again, now that it exists: the check and the use are close
    check_safe_parent(path.absolute().parent)
    lock = RunLock(path).acquire()
    try:
        if exact and holds_run(path):
            raise _already_a_run(path)
        _refuse_planted(path)
        _check_writable(path / "checkpoints")
    except BaseException:
        lock.release()
        raise
    return path, lock


def open_run_dir(path: Path) -> tuple[RunLock, int]:
    """Lock an existing run folder to continue it, check it can be written and remove the temp
    files a crash left; returns the lock and how many temp files went."""
    check_own_folder(path)
    check_safe_parent(path.absolute().parent)
    lock = RunLock(path).acquire()
    try:
        _refuse_planted(path)
        _check_writable(path / "checkpoints")
        return lock, remove_stale_temps(path)
    except BaseException:
        lock.release()
        raise


# The run's own files besides the lock and checkpoints/ (each checked where it is opened).
OWN_FILES = ("config.yaml", "events.jsonl", "train.log", "error.log", "control.sock.path")


def _refuse_planted(path: Path) -> None:
    """One line, before anything is written, when one of the run's own names is a link or not
    a regular file: each is opened with O_NOFOLLOW anyway, but refusing here names the fix
    instead of failing mid-run (train.log is opened after the corpus loaded)."""
    for name in OWN_FILES:
        try:
            mode = os.lstat(path / name).st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode):
            raise UserError(f"{shown(str(path / name), 240)} is a link or not a regular file, and "
                            "a run never writes through what it did not make; remove it, or "
                            "choose another --run-dir")


def _check_writable(folder: Path) -> None:
    """checkpoints/ is a real folder of this user's (lstat: a link to another folder would take
    the saves, and snapshot pruning, there), and a file can be made in it."""
    try:
        folder.mkdir(mode=0o755, exist_ok=True)
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise UserError(f"{shown(str(folder), 240)} is a link or not a folder, and a run "
                            "never writes through what it did not make; remove it, or choose "
                            "another --run-dir")
        fd = os.open(folder / f".write-test.{os.getpid()}",      # a fresh name: O_EXCL
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | PRIVATE, 0o600)
        os.close(fd)
        os.unlink(folder / f".write-test.{os.getpid()}")
    except OSError as e:
        raise UserError(f"cannot write {str(folder)!r} ({e.strerror}); make it writable "
                        "(or choose another --run-dir / run.root)") from None
    if st.st_uid != os.getuid() or others_write(st):   # after: a read-only mount says so first
        check_own_folder(folder)


def remove_stale_temps(path: Path) -> int:
    """Delete half-written files (.last.pt.XXXX.tmp, .config.yaml.tmp) a killed process left.
    Only safe under the folder's lock: a live writer's temp files look the same. unlink never
    follows a link (a planted one goes, its target stays); folders are left alone."""
    ck = path / "checkpoints"
    stale = [*ck.glob(".*.tmp"), *path.glob(".*.tmp"), *ck.glob(".write-test*")]
    removed = 0
    for p in stale:
        try:
            if stat.S_ISDIR(os.lstat(p).st_mode):
                continue
            p.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def write_config(path: Path, cfg: config_mod.Config) -> None:
    try:
        write_atomic(path / "config.yaml", config_mod.dump(cfg).encode("utf-8"))
    except OSError as e:
        raise storage_error(e, path / "config.yaml") from None


def storage_error(e: OSError, path: Path, needed: int | None = None) -> StorageError:
    """One line for a write the disk refused: what, where, how much, and what is kept."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            st = os.statvfs(path.parent)
            free = f", {format_bytes(st.f_bavail * st.f_frsize)} free"
        except OSError:
            free = ""
        need = f" needs about {format_bytes(needed)}" if needed else " failed"
        return StorageError(f"No space left on device: writing {path}{need} ({path.parent}"
                            f"{free}); the previous {path.name} is kept")
    return StorageError(f"cannot write {path} ({e.strerror or e}); the previous {path.name} is kept")


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
