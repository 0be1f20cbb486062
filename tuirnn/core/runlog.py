"""The run's log: events.jsonl, every event as one JSON object per line, enough to redraw the
monitor, and the history read back from it. The folder itself (its lock, making and reopening
it, who may use it) is runfolder's; its names are kept here too for the callers of runlog.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from .eventfile import read_file_events
from .events import ProbeCompleted, RunResumed, StepsCompleted, to_json_dict
from .runfolder import (
    LOCK_NAME,
    LOCK_RETRY_S,
    RunLock,
    format_bytes,
    holder,
    holds_run,
    in_use,
    is_live,
    link_refusal,
    make_run_dir,
    open_private,
    open_run_dir,
    plan_run_dir,
    refuse_if_live,
    remove_stale_temps,
    storage_error,
    write_config,
)

__all__ = ["LOCK_NAME", "LOCK_RETRY_S", "EventLog", "RunLock", "cut_at", "drop_abandoned",
           "format_bytes", "holder", "holds_run", "in_use", "is_live", "make_run_dir",
           "open_run_dir", "plan_run_dir", "read_events", "refuse_if_live", "remove_stale_temps",
           "storage_error", "write_config"]


# --- the event log ---------------------------------------------------------------------------------
class EventLog:
    """A sink that appends each event to events.jsonl (probe payloads left out).

    A torn last line (a crash mid-write) is closed with a newline before anything is added, so
    it never swallows the next event. A write the disk refuses raises StorageError once; the
    log is closed after that, so reporting the failure does not fail again. The file is opened
    with O_NOFOLLOW: a link planted by that name is refused, never appended through.

    ProbeCompleted is not logged at all. Its text may be a file only the owner can read, named
    in the monitor, and events.jsonl is read by others (`tuirnn ls` on a shared run.root); the
    log could not redraw a probe anyway (its arrays are left out, so ProbeResult.from_event
    refuses it), and the server keeps probes out of its history, so nothing reads one back.
    This rather than owner-only run folders, which would hide the runs that colleagues list
    and compare on a shared server.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            fd = open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT,  # read: the last byte
                              devices=True)
        except OSError as e:
            raise (link_refusal(path, e, "log the run") or storage_error(e, path)) from None
        try:
            size = os.fstat(fd).st_size
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            self._f = os.fdopen(fd, "a", encoding="utf-8")
            if torn:
                self._f.write("\n")
        except OSError as e:
            os.close(fd)
            raise storage_error(e, path) from None

    def __call__(self, event: Any) -> None:
        if self._f.closed or isinstance(event, ProbeCompleted):
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


def read_events(path: Path, raw: bool = False, only: tuple[str, ...] | None = None) -> list[Any]:
    """Events from an events.jsonl, as the run's history (drop_abandoned) unless raw. The
    file is read by eventfile: never blocking, bounded, bad lines (a torn line from a crash,
    or one someone else planted) skipped; EventFileError (one line) when it cannot be read.
    only: the event names wanted (RunResumed is kept too, for the history); other lines are
    skipped unparsed, which reads a long run's log many times faster."""
    names = None if only is None else (*only, "RunResumed")
    out = read_file_events(path, names)
    if names is not None:    # a sample's text may quote an event name: keep only the named
        out = [ev for ev in out if type(ev).__name__ in names]
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
