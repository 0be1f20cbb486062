"""`tuirnn samples RUN [--html OUT]`: the evolution of samples, from the run's events.jsonl.

Prints the fixed sample of every checkpoint (same prime and seed each time), oldest first,
each under a line with its iteration, validation loss and share of real words. A run without
fixed samples (sample.timeline off) shows the sample drawn at each checkpoint instead.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import UserError
from ..core.eventfile import named_log
from ..core.events import SampleGenerated
from ..core.runlog import read_events
from ..tui.sample_entry import SampleEntry

DESCRIPTION = __doc__.split("\n", 1)[1].strip()


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("samples", help="print how a run's samples evolved, checkpoint by checkpoint",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run folder (it holds events.jsonl)")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML page instead")
    return p


def timeline_entries(events: list) -> tuple[list[SampleEntry], bool]:
    """(the entries, True when they are the fixed samples; False: each checkpoint's random
    sample, for runs without fixed ones). Requested samples are never included."""
    at_checkpoints = [e for e in events if isinstance(e, SampleGenerated) and e.request_id is None]
    fixed = [e for e in at_checkpoints if e.timeline]
    chosen = fixed or at_checkpoints
    return [SampleEntry(text=e.text, iteration=e.iteration, val_loss=e.val_loss,
                        temperature=e.temperature, top_k=e.top_k, seed=e.seed, prime=e.prime,
                        word_share=e.word_share) for e in chosen], bool(fixed)


def main(args) -> int:
    from ..tui.timeline_render import entry_caption, timeline_html
    log = named_log(args.run)
    run_dir = log.parent
    if args.html and not Path(args.html).resolve().parent.is_dir():
        raise UserError(f"--html {args.html}: its folder does not exist; create it or write elsewhere")
    entries, fixed = timeline_entries(read_events(log))
    if not entries:
        raise UserError(f"{args.run}: no samples yet; the first is drawn at the first checkpoint "
                        "(iteration 100 with train.eval_every: auto)")
    first = entries[0]
    what = (f"the fixed sample (seed {first.seed}, prime {first.prime!r}, T {first.temperature:g})"
            if fixed else "the sample drawn at each checkpoint (this run has no fixed samples)")
    meta = f"{len(entries)} checkpoints · {what}"
    if args.html:
        Path(args.html).write_text(timeline_html(run_dir.resolve().name, meta, entries),
                                   encoding="utf-8")
        print(f"wrote {args.html}: {meta}")
        return 0
    print(f"{run_dir.resolve().name}: {meta}\n")
    for entry in entries:
        print(f"── {entry_caption(entry)} ──")
        print(entry.text.rstrip("\n"))
        print()
    return 0
