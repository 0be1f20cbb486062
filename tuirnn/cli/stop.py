"""`tuirnn stop RUN`: ask a live run's trainer to stop, and wait until it has saved and exited."""
from __future__ import annotations

import os
import sys
import threading
import time

from ..core.config import RunConfig
from ..core.events import RunFailed, RunFinished
from ..core.procs import pid_alive
from .hints import resume_hint
from .status import clear_status, show_status

GONE_WAIT_S = 10.0      # after the connection ends: time for the trainer to remove its socket


def add_parser(sub) -> None:
    p = sub.add_parser("stop", help="stop a live run: it saves checkpoints/last.pt and exits",
                       description="Stop a live run from the shell. The trainer finishes its "
                                   "step, saves checkpoints/last.pt and exits; this waits for it.")
    p.add_argument("run", help="a run folder, or a unique prefix of a run's name under --root")
    p.add_argument("--root", default=RunConfig().root,
                   help=f"the folder that holds the runs (run.root: {RunConfig().root})")


class _Watch:
    """Collects how the run ended from the event stream (runs on the client's thread); the
    newest checkpoint is the client's own `last_checkpoint`."""

    def __init__(self) -> None:
        self.finished: RunFinished | None = None
        self.failed: RunFailed | None = None
        self.live = threading.Event()      # set once the history is in: later events are new

    def history(self, events: list) -> None:
        self.live.set()

    def __call__(self, ev) -> None:
        match ev:
            case RunFinished():
                self.finished = ev
            case RunFailed():
                self.failed = ev


def _running(pid) -> bool:
    return pid != os.getpid() and pid_alive(pid)


def main(args) -> int:
    from ..remote.client import connect
    from ..remote.lookup import resolve_run
    from ..remote.paths import socket_path
    run_dir = resolve_run(args.run, args.root, live_only=True)
    watch = _Watch()
    path = socket_path(run_dir)           # before the trainer removes its pointer file
    ctl = connect(run_dir, on_event=watch, on_history=watch.history)
    watch.live.wait(30.0)
    was_over = ctl.ended                  # a finished run still serving: stopping just ends it
    ctl.stop()
    show_status(f"tuirnn: stopping {run_dir.name}: finishing the step and saving…")
    ctl.wait_closed()
    deadline = time.monotonic() + GONE_WAIT_S
    pid = ctl.hello.get("pid")
    while (path.exists() or _running(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)                   # the process removes its socket, then exits
    clear_status()
    if watch.failed is not None:
        print(f"tuirnn: {run_dir.name} failed: {watch.failed.error}", file=sys.stderr)
        return 1
    if watch.finished is None and not was_over:
        print(f"tuirnn: the trainer of {run_dir.name} exited without saving "
              f"(at iter {ctl.iteration}); last checkpoint: {ctl.last_checkpoint or 'none'}",
              file=sys.stderr)
        return 1
    iteration = watch.finished.iteration if watch.finished else ctl.iteration
    verb = "closed finished run" if was_over else "stopped"
    print(f"{verb} {run_dir.name} at iter {iteration}; checkpoint: {ctl.last_checkpoint or 'none'}")
    if path.exists():
        print(f"tuirnn: the trainer still holds {path}", file=sys.stderr)
        return 1
    if not was_over:
        print(f"continue with: {resume_hint(run_dir)}")
    return 0
