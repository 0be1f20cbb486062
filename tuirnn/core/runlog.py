"""The run folder: runs/<name>-<time>/ with config.yaml, events.jsonl, checkpoints/ and a lock.

events.jsonl holds every event as one JSON object per line, enough to redraw the monitor.
Two processes never write one folder: a new folder is made with an exclusive mkdir (a -2, -3
suffix when the name is taken) and the process that writes it holds RUN/lock (flock) for its
whole life. The kernel drops the lock when the process ends, however it ends, so a crashed
run's folder is free again at once.
"""
from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from . import config as config_mod
from .errors import StorageError, UserError
from .events import RunResumed, StepsCompleted, from_json_dict, to_json_dict

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
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise UserError(f"cannot lock the run folder {str(self.run_dir)!r} ({e.strerror}); "
                            "choose a writable place with --run-dir or run.root") from None
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

    @property
    def held(self) -> bool:
        return self._fd is not None

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


def holder(run_dir: str | Path) -> tuple[int, str] | None:
    """(pid, host) of the process that holds (or last held) the folder's lock, if known."""
    try:
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
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
    try:
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
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
    """Anything a run writes (a folder whose run died before its first checkpoint counts)."""
    return any((path / name).exists() for name in ("config.yaml", "events.jsonl", "checkpoints/last.pt"))


def _already_a_run(path: Path) -> UserError:
    return UserError(f"run folder {str(path)!r} already holds a run; continue it with "
                     f"--resume {path} or choose another --run-dir")


def plan_run_dir(cfg: config_mod.Config, run_dir: str | None) -> Path:
    """The folder a new run will use (made later by make_run_dir, once the run can start);
    refuses one that already holds a run or cannot be written."""
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
    return path


def make_run_dir(path: Path, exact: bool) -> tuple[Path, RunLock]:
    """Create the folder and lock it; returns the folder made and the held lock.

    exact=False (a name from run.name and the time): mkdir is exclusive, and a name already
    taken, by an older run or a process starting in the same second, gets -2, -3, ...
    exact=True (--run-dir): the folder may exist, but must hold no run and no live process.
    """
    try:
        if exact:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            base, n = path, 1
            while True:
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    n += 1
                    path = base.with_name(f"{base.name}-{n}")
    except OSError as e:
        raise UserError(f"cannot write the run folder {str(path)!r} ({e.strerror}); "
                        "choose a writable place with --run-dir or run.root") from None
    lock = RunLock(path).acquire()
    try:
        if exact and holds_run(path):
            raise _already_a_run(path)
        _check_writable(path / "checkpoints")
    except BaseException:
        lock.release()
        raise
    return path, lock


def open_run_dir(path: Path) -> tuple[RunLock, int]:
    """Lock an existing run folder to continue it, check it can be written and remove the temp
    files a crash left; returns the lock and how many temp files went."""
    lock = RunLock(path).acquire()
    try:
        _check_writable(path / "checkpoints")
        return lock, remove_stale_temps(path)
    except BaseException:
        lock.release()
        raise


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write {str(folder)!r} ({e.strerror}); make it writable "
                        "(or choose another --run-dir / run.root)") from None


def remove_stale_temps(path: Path) -> int:
    """Delete half-written files (.last.pt.XXXX.tmp, .config.yaml.tmp) a killed process left.
    Only safe under the folder's lock: a live writer's temp files look the same."""
    stale = [*(path / "checkpoints").glob(".*.tmp"), *path.glob(".*.tmp"),
             path / "checkpoints" / ".write-test"]
    removed = 0
    for p in stale:
        try:
            p.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def write_config(path: Path, cfg: config_mod.Config) -> None:
    tmp = path / ".config.yaml.tmp"
    try:
        tmp.write_text(config_mod.dump(cfg), encoding="utf-8")
        os.replace(tmp, path / "config.yaml")
    except OSError as e:
        tmp.unlink(missing_ok=True)
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


def format_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


# --- the event log ---------------------------------------------------------------------------------
class EventLog:
    """A sink that appends each event to events.jsonl (probe payloads left out).

    A torn last line (a crash mid-write) is closed with a newline before anything is added, so
    it never swallows the next event. A write the disk refuses raises StorageError once; the
    log is closed after that, so reporting the failure does not fail again.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            torn = path.exists() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
            self._f = open(path, "a", encoding="utf-8")
            if torn:
                self._f.write("\n")
        except OSError as e:
            raise storage_error(e, path) from None

    def __call__(self, event: Any) -> None:
        if self._f.closed:
            return
        try:
            self._f.write(json.dumps(to_json_dict(event), ensure_ascii=False) + "\n")
            self._f.flush()
        except OSError as e:
            self._abandon()
            raise storage_error(e, self.path) from None

    def _abandon(self) -> None:
        try:
            self._f.close()
        except OSError:      # the same unwritten buffer again: dropped, the file stays whole lines
            pass

    def close(self) -> None:
        self._abandon()


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def read_events(path: Path, raw: bool = False, only: tuple[str, ...] | None = None) -> list[Any]:
    """Events from an events.jsonl, as the run's history (drop_abandoned) unless raw; lines
    that do not parse (a torn line from a crash) are skipped. only: the event names wanted
    (RunResumed is kept too, for the history); other lines are skipped unparsed, which reads
    a long run's log many times faster."""
    out = []
    names = None if only is None else tuple(f'"{n}"' for n in (*only, "RunResumed"))
    with open(path, encoding="utf-8") as f:
        for line in f:
            if names is not None and not any(n in line for n in names):
                continue
            try:
                out.append(from_json_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    if names is not None:    # a sample's text may quote an event name: keep only the named
        out = [ev for ev in out if type(ev).__name__ in (*only, "RunResumed")]
    return out if raw else drop_abandoned(out)


def drop_abandoned(events: list[Any]) -> list[Any]:
    """At each RunResumed(i), drop what earlier processes logged past iteration i: a crashed
    process's steps after its last checkpoint were lost and are done again. The result's
    iterations never go back, so a loss curve drawn from it has no loops."""
    out: list[Any] = []
    for ev in events:
        match ev:
            case RunResumed(iteration=i):
                out = [kept for e in out if (kept := cut_at(e, i)) is not None]
        out.append(ev)
    return out


def cut_at(ev: Any, i: int) -> Any | None:
    """`ev` as far as it lies at or before iteration i: None when wholly after; a step report
    straddling i keeps its losses up to i. Events without an iteration are kept."""
    it = getattr(ev, "iteration", None)
    if it is None or it <= i:
        return ev
    if isinstance(ev, StepsCompleted):
        first = it - len(ev.losses)           # the iteration before this window's first step
        if first < i:
            return dataclasses.replace(ev, iteration=i, epoch=ev.epoch * i / it,
                                       losses=ev.losses[:i - first])
    return None
