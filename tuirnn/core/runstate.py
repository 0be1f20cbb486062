"""What state a run folder is in, read from its events.jsonl (for `tuirnn ls`, `stop`, `attach`).

A run is training or paused while its trainer lives; finished, stopped, diverged or failed
once its log ends with RunFinished or RunFailed; crashed when its trainer is gone without
either (next_status: the one rule, which the monitor, the server and its clients fold too). Whether
the trainer lives is the caller's to say (the core knows no sockets or locks).

The log of a long run is tens of megabytes, so this reads it as bytes and parses only the
few lines it needs (found from the end), not every event.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from .eventfile import loads, parse_line, read_bytes

EVENTS_NAME = "events.jsonl"


class RunStatus(str, Enum):
    """A run's status, the one word `tuirnn ls`, the monitor's badge, the control server's
    hello and its clients all use; `next_status` is the one rule that gives it."""
    TRAINING = "training"
    PAUSED = "paused"
    FINISHED = "finished"      # reached max_iters / max_epochs
    STOPPED = "stopped"        # q, tuirnn stop, a signal: resumable
    DIVERGED = "diverged"      # stopped because the loss exploded (nobody watched to pause it)
    FAILED = "failed"          # an error ended it (RunFailed names it)
    CRASHED = "crashed"        # its trainer is gone without RunFinished or RunFailed

    def __str__(self) -> str:
        return self.value

    @property
    def ended(self) -> bool:
        return self not in (RunStatus.TRAINING, RunStatus.PAUSED)


# RunFinished.reason -> status; a reason not listed (a newer trainer's) ended normally
_ENDINGS = {"stopped": RunStatus.STOPPED, "diverged": RunStatus.DIVERGED}
# the events next_status reads: the status after a log is that of its last few of these
STATUS_EVENTS = ("RunStarted", "RunResumed", "Paused", "Resumed", "RunFinished", "RunFailed")


def next_status(status: RunStatus, event: Any) -> RunStatus:
    """The status after `event`. A (re)started trainer trains; its end is the last
    RunFinished/RunFailed; pauses count only until it ends. Each transition depends on the
    event alone (and on whether the run has ended), so folding the last event of each kind in
    STATUS_EVENTS in log order gives what folding the whole log does (status_from)."""
    match type(event).__name__:
        case "RunStarted" | "RunResumed":
            return RunStatus.TRAINING
        case "RunFinished":
            return _ENDINGS.get(event.reason, RunStatus.FINISHED)
        case "RunFailed":
            return RunStatus.FAILED
        case "Paused" if not status.ended:
            return RunStatus.PAUSED
        case "Resumed" if not status.ended:
            return RunStatus.TRAINING
    return status


def with_liveness(status: RunStatus, live: bool) -> RunStatus:
    """A run whose trainer is gone before it ended has crashed."""
    return status if live or status.ended else RunStatus.CRASHED


@dataclass(frozen=True)
class RunSummary:
    path: Path
    status: RunStatus
    live: bool                     # a trainer runs it now
    iteration: int
    max_iters: int | None
    best_val_loss: float | None
    updated: float                 # time of the last event (events.jsonl's mtime)
    attachable: bool = False       # its trainer answers on the control socket

    @property
    def name(self) -> str:
        return self.path.name


class _Log:
    """events.jsonl as bytes: the last line of each event kind, found without parsing all."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def last_pos(self, name: str) -> int:
        """Offset of the last line holding event `name` (-1: none)."""
        best = -1
        for key in (f'"event": "{name}"', f'"event":"{name}"'):
            best = max(best, self.data.rfind(key.encode()))
        return best

    def line_at(self, pos: int) -> Any | None:
        if pos < 0:
            return None
        start = self.data.rfind(b"\n", 0, pos) + 1
        end = self.data.find(b"\n", pos)
        # None for a torn last line (a crash mid-write) or one planted to break a parser
        return parse_line(self.data[start:end if end >= 0 else len(self.data)])

    def last(self, name: str) -> Any | None:
        return self.line_at(self.last_pos(name))

    def last_iteration(self, tail_bytes: int = 256 << 10) -> int:
        """The iteration of the newest whole line that has one (0: none)."""
        tail = self.data[max(0, len(self.data) - tail_bytes):]
        for raw in reversed(tail.split(b"\n")):
            d = loads(raw)                     # None: empty, torn or cut by the tail
            it = d.get("iteration") if isinstance(d, dict) else None
            if isinstance(it, int) and not isinstance(it, bool) and 0 <= it < 1 << 63:
                return it
        return 0


def status_from(log: _Log, live: bool) -> RunStatus:
    """next_status folded over the last event of each kind that matters, in log order."""
    found = sorted((pos, name) for name in STATUS_EVENTS if (pos := log.last_pos(name)) >= 0)
    status = RunStatus.TRAINING
    for pos, _ in found:
        ev = log.line_at(pos)
        if ev is not None:                   # a torn line: as if it were not there
            status = next_status(status, ev)
    return with_liveness(status, live)


def summarize(run_dir: Path, live: bool, attachable: bool = False) -> RunSummary:
    """The state of one run folder; `live`: whether its trainer is running now.
    EventFileError (one line) when its events.jsonl is there but cannot be read: a FIFO, a
    link, a folder, too big (eventfile.read_bytes). The bytes are read, not mapped: a file
    someone truncates under a map kills the reader with SIGBUS."""
    path = Path(run_dir) / EVENTS_NAME
    try:
        data, updated = read_bytes(path)
    except FileNotFoundError:                # a folder with only its config.yaml yet
        data, updated = b"", _mtime(Path(run_dir))
    log = _Log(data)
    started = log.last("RunStarted")
    best = None
    for name in ("EvalCompleted", "RunFinished"):
        ev = log.last(name)
        if ev is not None and ev.best_val_loss is not None:
            best = ev.best_val_loss if best is None else min(best, ev.best_val_loss)
    return RunSummary(path=Path(run_dir), status=status_from(log, live), live=live,
                      iteration=log.last_iteration(),
                      max_iters=started.max_iters if started is not None else None,
                      best_val_loss=best, updated=updated, attachable=attachable)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and ((path / EVENTS_NAME).is_file() or (path / "config.yaml").is_file())
