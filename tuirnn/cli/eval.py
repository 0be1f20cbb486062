"""`tuirnn eval RUN|CKPT`: the loss of a checkpoint over a whole split, in nats and bits/char.

The held-out test split (data.test_frac) is read only here: training never sees it and the
best checkpoint is chosen on val, so `tuirnn eval RUN --split test` is a fair test loss.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..core.errors import UserError
from .threads import add_threads_option, use_threads

DESCRIPTION = """\
Print a checkpoint's mean cross-entropy over a whole split, in nats/char and bits/char,
computed as the trainer computes its val loss (streams of train.batch_size, seq_length
steps each, the hidden state carried from batch to batch, dropout off).

--split val (default) and --split test are the run's own splits of its corpus (test needs
data.test_frac > 0); --split FILE scores any UTF-8 text whose characters the model knows.
A run folder means its checkpoints/best.pt (the one chosen on val).
"""


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="loss of a checkpoint over the val or test split (or a file)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--split", default="val", metavar="val|test|FILE",
                   help="the run's val (default) or test split, or a text file")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    add_threads_option(p, 0, "a whole split in batches is work enough for every core")


def split_ids(split: str, cfg, vocab: str):
    """(ids, label) of the split to score: the run's val/test (the corpus re-read and split as
    in training) or a file's text."""
    from ..core.data import decode_corpus, encode, unknown_chars
    if split in ("val", "test"):
        from .run import load_corpus
        corpus = load_corpus(cfg)
        if corpus.vocab != vocab:
            raise UserError(f"the corpus {corpus.name} has changed since this checkpoint was "
                            "trained (its characters differ); restore it, or give --split FILE")
        ids = corpus.val if split == "val" else corpus.test
        if split == "test" and len(ids) == 0:
            raise UserError("this run has no test split (its data.test_frac is 0); train with "
                            "data.test_frac > 0 (e.g. configs/warpeace-paper.yaml), or give "
                            "--split FILE")
        return ids, f"{split} split of {corpus.name}"
    from ..core.corpus import read_regular_file
    text = decode_corpus(read_regular_file(split, "--split"), split, cfg.data.normalize_newlines)
    unknown = unknown_chars(text, vocab)
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise UserError(f"--split {split} has characters the model never saw ({shown}), so its "
                        "loss is undefined; remove them or score another file")
    return encode(text, vocab), split


def main(args) -> int:
    from ..core import config as config_mod
    from ..core.checkpoint import model_from_checkpoint
    from ..core.data import val_batcher
    from ..core.device import pick_device
    from ..core.evaluate import mean_loss
    from .status import clear_status

    if args.split not in ("val", "test") and not Path(args.split).exists():
        raise UserError(f"--split {args.split!r} is neither val, test nor an existing file")
    use_threads(args.threads)
    device = pick_device(args.device, "--device")
    model, vocab, ckpt = model_from_checkpoint(args.checkpoint, device)
    cfg = config_mod.from_dict(ckpt["config"])
    ids, label = split_ids(args.split, cfg, vocab)
    data = val_batcher(ids, cfg.train.batch_size, cfg.train.seq_length, device,
                       split=args.split if args.split in ("val", "test") else label)
    nats = mean_loss(model, data, device)
    clear_status()
    scored = len(data) * data.chars_per_batch
    print(f"{ckpt['path']}: {model.cell.upper()} {model.num_layers}x{model.hidden_size}, "
          f"iteration {ckpt.get('iteration', '?')}")
    print(f"{label}: {nats:.4f} nats/char, {nats / math.log(2):.4f} bits/char "
          f"({scored:,} of {len(ids):,} chars: {data.batch_size} streams x {len(data)} batches "
          f"of {data.seq_length})")
    return 0
