"""`tuirnn ls [FOLDER]`: the runs under FOLDER with their state, progress and best val loss.

A rich table on a terminal; plain aligned columns (absolute times) when piped, for scripts.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from ..core.config import RunConfig
from ..core.errors import UserError
from ..core.runstate import RunStatus, RunSummary

COLUMNS = ("NAME", "STATE", "ITER", "BEST VAL", "UPDATED", "ATTACH")
STATUS_STYLE = {RunStatus.TRAINING: "green", RunStatus.PAUSED: "yellow",
                RunStatus.FINISHED: "bold", RunStatus.STOPPED: "", RunStatus.DIVERGED: "red",
                RunStatus.FAILED: "red", RunStatus.CRASHED: "red"}


def add_parser(sub) -> None:
    p = sub.add_parser("ls", help="list runs: state, iteration, best val loss, attachable",
                       description="List the run folders under FOLDER: name, state (training, "
                                   "paused, finished, stopped, diverged, failed, crashed), iteration, best "
                                   "val loss, last update and whether a trainer serves it.")
    p.add_argument("folder", nargs="?", default=RunConfig().root,
                   help=f"the folder that holds the runs (run.root: {RunConfig().root})")


def ago(seconds: float) -> str:
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return f"{s}s ago"


def row(s: RunSummary, now: float, relative: bool) -> list[str]:
    """One run as the table's cells (pure: tested alone)."""
    progress = f"{s.iteration}/{s.max_iters}" if s.max_iters else str(s.iteration)
    best = f"{s.best_val_loss:.4f}" if s.best_val_loss is not None and \
        math.isfinite(s.best_val_loss) else "-"
    updated = ago(now - s.updated) if relative else \
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.updated))
    # a run without a trainer opens on its history; a live one needs its socket
    attach = "yes" if s.attachable else "no" if s.live else "history"
    return [s.name, str(s.status), progress, best, updated, attach]


def plain(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [list(COLUMNS)] + rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in [list(COLUMNS)] + rows]
    return "\n".join(lines)


def main(args) -> int:
    from ..remote.lookup import summaries
    root = Path(args.folder)
    if not root.is_dir():
        if args.folder == RunConfig().root:
            print(f"no runs yet: {root}/ does not exist (tuirnn run makes it)")
            return 0
        raise UserError(f"{args.folder!r} is not a folder; give the folder that holds the runs")
    problems: list[str] = []
    runs = summaries(root, problems)
    for line in problems:            # someone else's broken folder: said, and the rest listed
        print(f"skipped: {line}", file=sys.stderr)
    if not runs:
        print(f"no runs under {root}/")
        return 0
    now = time.time()
    if not sys.stdout.isatty():
        print(plain([row(s, now, relative=False) for s in runs]))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in COLUMNS:
        table.add_column(name, justify="right" if name in ("ITER", "BEST VAL") else "left",
                         no_wrap=name == "NAME")
    for s in runs:
        cells = [Text(c) for c in row(s, now, relative=True)]   # Text: no markup in names
        cells[1].stylize(STATUS_STYLE[s.status])
        table.add_row(*cells)
    Console().print(table)
    return 0
