"""`tuirnn compare RUN [RUN…]`: runs side by side: the config keys on which they differ, each
one's best val loss and where it fell. With one RUN, it is compared with the newest other
runs under --root.

A coloured table on a terminal, plain aligned columns when piped; `--open` opens the
monitor on the first RUN with its Runs tab showing the validation curves of them all.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.config import RunConfig
from ..core.errors import UserError

DESCRIPTION = __doc__.split("\n", 1)[1].strip()


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("compare", help="compare runs: differing config keys, best val loss",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="a run folder, or a unique prefix of a run's name under --root")
    p.add_argument("--root", default=RunConfig().root,
                   help=f"the folder that holds the runs (run.root: {RunConfig().root})")
    p.add_argument("--open", action="store_true",
                   help="open the monitor on the first RUN, on its Runs tab (needs a terminal)")
    return p


def resolve_all(specs: list[str], root: Path) -> list[Path]:
    """Each RUN's folder, each once, in the order given (UserError naming a bad one)."""
    from ..core.compare import MAX_RUNS, other_runs
    from ..remote.lookup import resolve_run
    found: list[Path] = []
    for spec in specs:
        path = resolve_run(spec, root)
        if path.resolve() not in [p.resolve() for p in found]:
            found.append(path)
    if len(found) == 1:
        found += other_runs(found[0].resolve().parent, found[0], limit=MAX_RUNS)
    if len(found) > MAX_RUNS + 1:
        raise UserError(f"{len(found)} runs named; compare at most {MAX_RUNS + 1} at once")
    return found


def main(args) -> int:
    from ..core.compare import load_run, table_rows
    from ..tui.compare_render import MARKERS, compare_table, curve_styles
    if args.open and not sys.stdout.isatty():
        raise UserError("tuirnn compare --open needs a terminal; leave out --open to print the table")
    paths = resolve_all(args.runs, Path(args.root))
    from ..core.eventfile import EventFileError
    runs, named = [], {p.resolve() for p in paths[:len(args.runs)]}
    for path in paths:
        if not (path / "events.jsonl").is_file():
            raise UserError(f"{path}: no events.jsonl there, so no curve to compare; give a "
                            "folder that `tuirnn ls` lists")
        try:
            runs.append(load_run(path))
        except EventFileError as e:
            if path.resolve() in named:     # the run asked for: its one line, exit 2
                raise
            print(f"skipped: {e}", file=sys.stderr)    # one found beside it: the rest go on
    if len(runs) < 2:
        raise UserError(f"no other run under {paths[0].resolve().parent}/ to compare "
                        f"{paths[0].name} with; name two or more runs")
    markers = list(MARKERS[:len(runs)])
    header, rows = table_rows(runs, markers)
    if args.open:
        from .attach import monitor
        return monitor(paths[0], compare=paths[1:])
    if not sys.stdout.isatty():
        print("\n".join(line.plain for line in compare_table(header, rows, [""] * len(rows))))
        return 0
    from rich.console import Console
    from rich.text import Text
    console = Console()
    for line in compare_table(header, rows, curve_styles(len(runs), console.no_color)):
        console.print(line, soft_wrap=True)
    evals = ", ".join(f"{m} {len(r.val)}" for m, r in zip(markers, runs))
    console.print(Text(f"evals: {evals} · --open shows the curves", style="dim"))
    return 0
