"""`tuirnn attach [RUN]`: the full monitor on a run that trains elsewhere (or has ended).

RUN is a run folder, a unique prefix of a run's name under --root, or nothing for the newest
live run. Closing the terminal or pressing d detaches again; q stops the run.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..core.config import RunConfig
from ..core.errors import UserError
from .hints import program, resume_hint


def add_parser(sub) -> None:
    p = sub.add_parser("attach", help="open the monitor on a live (or ended) run",
                       description="Open the monitor on a run: its whole history, then live "
                                   "updates; every key works. d detaches, q stops the run.")
    p.add_argument("run", nargs="?",
                   help="a run folder, or a unique prefix of a run's name (default: newest live run)")
    p.add_argument("--root", default=RunConfig().root,
                   help=f"the folder that holds the runs (run.root: {RunConfig().root})")


def main(args) -> int:
    from ..remote.lookup import resolve_run
    from .serve import in_browser
    if in_browser():      # a tab of tuirnn serve: stdout carries the screen, nothing else
        return monitor(resolve_run(args.run, Path(args.root)), report=False)
    if not sys.stdout.isatty():
        raise UserError("tuirnn attach needs a terminal; use tuirnn ls or tail RUN/train.log "
                        "to follow a run from a script")
    return monitor(resolve_run(args.run, Path(args.root)))


def monitor(run_dir: Path, report: bool = True, compare: list[Path] | None = None) -> int:
    """Run the attached monitor, then (with `report`) print where things stand in the terminal.
    compare: open on the Runs tab with these runs beside it."""
    from ..core.runstate import RunStatus
    from ..tui.attach import attach_monitor
    from .neurons import default_text
    status, app = attach_monitor(run_dir, default_text, compare)
    if not report:
        return status
    st = app.run_state
    if app.detached:
        going = "stays paused" if st.status is RunStatus.PAUSED else "goes on training"
        print(f"tuirnn: detached; {run_dir.name} {going}. "
              f"Back with: {program()} attach {shlex.quote(str(run_dir))}")
        return 0
    if st.failed is not None:
        print(f"tuirnn: training failed: {st.failed.error}", file=sys.stderr)
        print(f"tuirnn: details in {run_dir}/error.log and {run_dir}/train.log", file=sys.stderr)
        return 1
    if st.gone is not None and st.finished is None:
        print(f"tuirnn: the trainer of {run_dir.name} is gone at iter {st.gone.iteration}; "
              f"continue with: {resume_hint(run_dir)}")
        return 0
    if st.finished is not None:
        best = f"; best checkpoint {st.best_checkpoint}" if st.best_checkpoint else ""
        print(f"tuirnn: {st.finished.reason} at iter {st.finished.iteration}{best}")
        if st.finished.reason == "stopped":
            print(f"tuirnn: continue with: {resume_hint(run_dir)}")
    return status
