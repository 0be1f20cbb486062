"""`tuirnn export RUN --csv FILE --tensorboard DIR`: a run's history for other tools.

--csv FILE   one tidy CSV, one row per training step, eval and checkpoint sample, told apart
             by the `kind` column (step | eval | sample), so pandas reads it in one call:
               df = pd.read_csv(FILE); steps = df[df.kind == "step"]
             columns: kind, iteration, epoch, train_loss, lr, chars_per_sec (step rows; lr and
             chars/s are those of the step's log window), val_loss, best_val_loss, is_best
             (eval rows), val_loss, temperature, top_k, seed, prime, word_share, timeline,
             text (sample rows); a column a row's kind has no use for is empty.
--tensorboard DIR
             TensorBoard event files in DIR/<run folder name>, so that
             `tensorboard --logdir DIR` shows this run beside others exported there. Scalars:
             train/loss (each step), val/loss, lr, chars_per_sec; text: samples/timeline, the
             fixed sample of each checkpoint. Needs the extra: pip install 'tuirnn[tensorboard]'.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..core.eventfile import named_log
from ..core.events import EvalCompleted, SampleGenerated, StepsCompleted
from ..core.runlog import read_events

DESCRIPTION = __doc__.split("\n", 1)[1].strip()
COLUMNS = ["kind", "iteration", "epoch", "train_loss", "lr", "chars_per_sec", "val_loss",
           "best_val_loss", "is_best", "temperature", "top_k", "seed", "prime", "word_share",
           "timeline", "text"]
WANTED = ("StepsCompleted", "EvalCompleted", "SampleGenerated")
MISSING_EXTRA = ("--tensorboard needs the tensorboard package: pip install 'tuirnn[tensorboard]' "
                 "(from a clone: .venv/bin/pip install -e '.[tensorboard]')")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="write a run's history as CSV or TensorBoard event files",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run folder (it holds events.jsonl)")
    p.add_argument("--csv", metavar="FILE", help="write one CSV with a kind column (step, eval, sample)")
    p.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard event files under DIR/<run>")
    return p


def step_rows(ev: StepsCompleted) -> list[dict[str, Any]]:
    """One row per step of a log window: its losses are per step, the other figures the
    window's; the epoch is spread evenly so each row's is its own."""
    first = ev.iteration - len(ev.losses) + 1
    per_iter = ev.epoch / ev.iteration if ev.iteration else 0.0
    return [{"kind": "step", "iteration": first + j, "epoch": per_iter * (first + j),
             "train_loss": loss, "lr": ev.lr, "chars_per_sec": ev.chars_per_sec}
            for j, loss in enumerate(ev.losses)]


def rows(events: list[Any]) -> list[dict[str, Any]]:
    """The CSV's rows in log order. Samples asked for by hand are left out: they belong to
    no checkpoint's record, and their prompt may be private text."""
    out: list[dict[str, Any]] = []
    for ev in events:
        if isinstance(ev, StepsCompleted):
            out.extend(step_rows(ev))
        elif isinstance(ev, EvalCompleted):
            out.append({"kind": "eval", "iteration": ev.iteration, "epoch": ev.epoch,
                        "val_loss": ev.val_loss, "best_val_loss": ev.best_val_loss,
                        "is_best": ev.is_best})
        elif isinstance(ev, SampleGenerated) and ev.request_id is None:
            out.append({"kind": "sample", "iteration": ev.iteration, "val_loss": ev.val_loss,
                        "temperature": ev.temperature, "top_k": ev.top_k, "seed": ev.seed,
                        "prime": ev.prime, "word_share": ev.word_share,
                        "timeline": ev.timeline, "text": ev.text})
    return out


def write_csv(path: Path, events: list[Any]) -> int:
    table = rows(events)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(table)
    return len(table)


def as_markdown(text: str) -> str:
    """TensorBoard renders text as Markdown: an indented block keeps the sample's own line
    breaks and spaces, and its characters are never read as markup."""
    return "\n".join("    " + line for line in text.split("\n"))


def write_tensorboard(log_dir: Path, events: list[Any]) -> int:
    """Event files for the run under log_dir; returns the number of points written."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
    except ImportError:
        raise UserError(MISSING_EXTRA) from None
    # an export run twice would add a second file of the same points, which TensorBoard draws
    # as one line doubling back: the earlier export of this run is replaced instead
    for old in log_dir.glob("events.out.tfevents.*") if log_dir.is_dir() else ():
        old.unlink()
    n = 0
    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for ev in events:
            if isinstance(ev, StepsCompleted):
                first = ev.iteration - len(ev.losses) + 1
                for j, loss in enumerate(ev.losses):
                    writer.add_scalar("train/loss", loss, first + j)
                writer.add_scalar("lr", ev.lr, ev.iteration)
                writer.add_scalar("chars_per_sec", ev.chars_per_sec, ev.iteration)
                n += len(ev.losses) + 2
            elif isinstance(ev, EvalCompleted):
                writer.add_scalar("val/loss", ev.val_loss, ev.iteration)
                n += 1
            elif isinstance(ev, SampleGenerated) and ev.timeline and ev.request_id is None:
                writer.add_text("samples/timeline", as_markdown(ev.text), ev.iteration)
                n += 1
    finally:
        writer.close()
    return n


def main(args) -> int:
    if not args.csv and not args.tensorboard:
        raise UserError("export: say what to write: --csv FILE and/or --tensorboard DIR")
    log = named_log(args.run)
    run_dir = log.parent
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise UserError(f"--csv {args.csv}: its folder does not exist; create it or write elsewhere")
    if args.tensorboard:   # checked before any file is written, so a missing extra costs nothing
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise UserError(MISSING_EXTRA) from None
    events = read_events(log, only=WANTED)
    name = run_dir.resolve().name
    if args.csv:
        print(f"wrote {args.csv}: {write_csv(Path(args.csv), events):,} rows of {name}")
    if args.tensorboard:
        target = Path(args.tensorboard) / name
        n = write_tensorboard(target, events)
        print(f"wrote {target}: {n:,} points; view with: tensorboard --logdir {args.tensorboard}")
    return 0
