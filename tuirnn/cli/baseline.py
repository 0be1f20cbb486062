"""`tuirnn baseline RUN`: Kneser–Ney n-gram losses of orders 1..N on the run's own split.

The corpus is re-read and split exactly as training does (as `tuirnn eval` does); the n-grams
are counted on the training split and scored on val (or test). The result is appended to the
run's events.jsonl as one BaselineComputed line, which the monitor draws on its loss chart.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

from ..core.errors import UserError

DESCRIPTION = """\
Fit interpolated modified Kneser-Ney character n-grams of orders 1..N on a run's
training split and print their loss on its val split (or --split test), in nats/char and bits/char, with the
iteration at which the model's val loss first went below each. Order 1 is the add-one
unigram of training frequencies. The figures are stored in the run's events.jsonl (the
monitor draws chosen orders as lines on its loss chart: key B).
"""


def add_parser(sub) -> None:
    p = sub.add_parser("baseline", help="n-gram baselines (orders 1..N) on a run's val/test split",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a run folder (its config.yaml names the corpus and the split)")
    p.add_argument("--max-order", type=int, default=20, metavar="N",
                   help="the highest order (default 20)")
    p.add_argument("--split", default="val", choices=("val", "test"),
                   help="score the val (default) or the held-out test split")
    p.add_argument("--no-save", action="store_true", help="print only; add nothing to the run")


def main(args) -> int:
    import numpy as np

    from ..core import config as config_mod
    from ..core import ngram
    from ..core.eventfile import read_file_events
    from ..core.events import BaselineComputed, EvalCompleted, RunStarted
    from .run import load_corpus
    from .status import clear_status, show_status

    if not 1 <= args.max_order <= ngram.MAX_ORDER:
        raise UserError(f"--max-order {args.max_order} is outside 1..{ngram.MAX_ORDER}; "
                        "try --max-order 20")
    run_dir = Path(args.run)
    if not (run_dir / "config.yaml").is_file():
        raise UserError(f"{args.run}: no config.yaml there; give a run folder, e.g. one that "
                        "`tuirnn ls` lists")
    cfg = config_mod.load(run_dir / "config.yaml")
    log = run_dir / "events.jsonl"
    events = read_file_events(log, ("RunStarted", "EvalCompleted")) if log.is_file() else []
    corpus = load_corpus(cfg)
    started = [e for e in events if isinstance(e, RunStarted)]
    if started and started[-1].vocab != corpus.vocab:
        raise UserError(f"the corpus {corpus.name} has changed since this run trained (its "
                        "characters differ); restore it to compare the run with n-grams")
    ids = corpus.val if args.split == "val" else corpus.test
    if len(ids) == 0:
        raise UserError(f"this run has no {args.split} split (data.{args.split}_frac is 0); "
                        "give the other --split")
    show_status(f"tuirnn: counting n-grams of orders 1..{args.max_order} ...")
    train = corpus.train.numpy()
    tracemalloc.start()
    t0 = time.perf_counter()
    model = ngram.fit(train, len(corpus.vocab), args.max_order)
    fit_s = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scored = ids.numpy()
    losses = tuple(model.losses(scored))
    clear_status()
    evals = [(e.iteration, e.val_loss) for e in events if isinstance(e, EvalCompleted)]
    print(f"{corpus.name}: {len(train):,} training chars, {args.split} {len(scored):,} chars, "
          f"vocabulary {len(corpus.vocab)}")
    print(f"{'order':>5}  {'nats/char':>9}  {'bits/char':>9}  model val below at")
    best = int(np.argmin(losses))
    for n, nats in enumerate(losses, 1):
        below = below_at(evals, nats)
        mark = "  (best)" if n - 1 == best else ""
        print(f"{n:>5}  {nats:>9.4f}  {nats / math.log(2):>9.4f}  "
              f"{'-' if below is None else f'iteration {below}'}{mark}")
    print(f"fit {fit_s:.1f}s, peak {peak / 2**20:,.0f} MiB while counting "
          f"({model.nbytes / 2**20:,.0f} MiB of tables)")
    if not args.no_save:
        ev = BaselineComputed(args.split, losses, len(train), len(scored), round(fit_s, 3),
                              round(peak / 2**20, 1))
        append_event(log, ev)
        print(f"stored in {log}")
    return 0


def below_at(evals: list[tuple[int, float]], loss: float) -> int | None:
    """The first iteration whose val loss is under `loss`, or None."""
    for it, val in evals:
        if val < loss:
            return it
    return None


def append_event(path: Path, event: Any) -> None:
    """Append one event as one whole line with O_APPEND (a live trainer may be writing the same
    file: each write lands whole at the end), O_NOFOLLOW through ownership.open_private; a torn
    last line is closed first, as EventLog does."""
    from ..core.events import to_json_dict
    from ..core.ownership import link_refusal, open_private
    from ..core.runfolder import storage_error
    line = (json.dumps(to_json_dict(event), ensure_ascii=False) + "\n").encode("utf-8")
    try:
        fd = open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    except OSError as e:
        raise (link_refusal(path, e, "store the baseline") or storage_error(e, path)) from None
    try:
        size = os.fstat(fd).st_size
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(fd, line)
    except OSError as e:
        raise storage_error(e, path) from None
    finally:
        os.close(fd)

