"""Which run a name means: a folder, a unique prefix of a run's name, or the newest live run.

`tuirnn stop`, `tuirnn attach` and `tuirnn ls` share these, so a name means the same run to
every command.
"""
from __future__ import annotations

from pathlib import Path

from ..core import runlog
from ..core.errors import UserError
from ..core.eventfile import EventFileError
from ..core.runstate import EVENTS_NAME, RunSummary, is_run_folder, summarize
from .paths import is_answering


def is_live(run_dir: Path) -> bool:
    """A trainer runs this folder now: it holds the folder's lock, or its socket answers."""
    return runlog.is_live(run_dir) or is_answering(run_dir)


def run_folders(root: Path) -> list[Path]:
    """Run folders directly under `root`, oldest update first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if is_run_folder(p)]
    return sorted(found, key=lambda p: (_updated(p), p.name))


def _updated(path: Path) -> float:
    for p in (path / EVENTS_NAME, path):
        try:
            return p.stat().st_mtime
        except OSError:
            continue
    return 0.0


def summaries(root: Path, problems: list[str] | None = None) -> list[RunSummary]:
    """The runs under `root` that can be read. A folder whose events.jsonl cannot be (a FIFO,
    a link, too big: someone else's on a shared run.root) is left out, its one-line reason
    added to `problems`: one bad folder never hides the others."""
    out = []
    for p in run_folders(root):
        attachable = is_answering(p)
        try:
            out.append(summarize(p, attachable or runlog.is_live(p), attachable))
        except EventFileError as e:
            if problems is not None:
                problems.append(str(e))
    return out


def resolve_run(spec: str | None, root: Path | str, live_only: bool = False) -> Path:
    """The run folder `spec` names; UserError (one line) when it names none or several.

    spec: a run folder, or a unique prefix of a run folder's name under `root`, or None for
    the newest live run. live_only: refuse a run whose trainer is not running.
    """
    root = Path(root)
    if spec is None:
        live = [p for p in run_folders(root) if is_live(p)]
        if not live:
            raise UserError(f"no live run under {root}/; name one (tuirnn ls {root} lists them)")
        return live[-1]
    path = Path(spec)
    if path.is_dir():
        if not is_run_folder(path):
            raise UserError(f"{spec!r} is not a run folder (no events.jsonl or config.yaml); "
                            "give a folder made by tuirnn run")
        found = path
    else:
        if "/" in spec.rstrip("/"):
            raise UserError(f"no run folder {spec!r}; tuirnn ls lists the runs")
        names = [p for p in run_folders(root) if p.name.startswith(spec.rstrip("/"))]
        exact = [p for p in names if p.name == spec.rstrip("/")]
        if exact:
            names = exact
        if not names:
            raise UserError(f"no run under {root}/ has a name starting {spec!r}; "
                            f"tuirnn ls {root} lists them")
        if len(names) > 1:
            shown = ", ".join(p.name for p in reversed(names[-5:]))
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            raise UserError(f"{spec!r} matches {len(names)} runs ({shown}{more}); "
                            "type more of the name")
        found = names[0]
    if live_only and not is_live(found):
        status = summarize(found, live=False).status
        raise UserError(f"run {found.name} is not live ({status}): no trainer to reach")
    return found
