"""`tuirnn errors CHECKPOINT`: what the model still gets wrong, split by the paper's oracles.

The model reads the run's val (or test) split as one stream; every character it gives p < 0.5
is an error, and the oracles of core.error_analysis take them away in order. The n-gram
models and the word counts come from the run's training split.
"""
from __future__ import annotations

import argparse
import time

from ..core import error_analysis as E
from ..core.errors import UserError
from .threads import add_threads_option, use_threads

DEFAULT_LENGTH = 20_000

DESCRIPTION = f"""\
The error breakdown of Karpathy, Johnson and Fei-Fei, "Visualizing and Understanding Recurrent
Networks" (2015), section 4.4: the characters the model gets wrong (p < {E.ERROR_P:g} on the
true one, given the text before it), removed step by step by oracles, each error counted by
the first that explains it:

  n-gram          some n-gram model (orders 1..{E.NGRAM_MAX}, interpolated Kneser-Ney, fitted on the
                  run's training split) gives the true character p >= {E.ERROR_P:g}
  dynamic memory  the {E.MEMORY_N} characters ending with it occurred in the {E.MEMORY_WINDOW:,} before
  rare words      it is in a word seen at most {E.RARE_MAX} times in the training split
  word start      it is the first letter or digit of a word, after a space or line break
  punctuation     it is neither a letter, a digit nor white space
  boost           the rest

The text is the first --length characters (default {DEFAULT_LENGTH:,}; 0: all) of the run's val
split (--split test: its test split), read from a zero state as one stream. The corpus named
in the checkpoint's config must be here, unchanged. A run folder means its best.pt.
"""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("errors", help="what the model still gets wrong: its errors by the "
                       "paper's oracles", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--length", "-n", type=int, default=DEFAULT_LENGTH,
                   help=f"characters of the split to read (default {DEFAULT_LENGTH:,}; 0: the "
                        "whole split)")
    p.add_argument("--split", default="val", choices=("val", "test"),
                   help="the run's val split (default) or its test split")
    p.add_argument("--examples", type=int, default=2, metavar="K",
                   help="errors shown for each oracle (default 2; 0: none)")
    p.add_argument("--device", default="cpu", help="cpu (default) | auto | cuda | cuda:N | mps")
    add_threads_option(p, 1, "one stream at batch size 1 is too small a job to share: on 2 "
                          "busy cores a 2x128 LSTM read 64k chars in 0.9 s with 1 thread, 42 s "
                          "with all")
    return p


def load_splits(cfg, vocab: str, split: str):
    """(train ids, split ids, name) of the checkpoint's corpus, re-read and split as in training."""
    from .run import load_corpus
    corpus = load_corpus(cfg)
    if corpus.vocab != vocab:
        raise UserError(f"the corpus {corpus.name} has changed since this checkpoint was "
                        "trained (its characters differ); restore it, or score another run")
    ids = corpus.val if split == "val" else corpus.test
    if len(ids) < 2:
        raise UserError(f"this run has no {split} split to read (data.{split}_frac is 0 or too "
                        f"small); train with data.{split}_frac > 0, or use --split "
                        f"{'val' if split == 'test' else 'test'}")
    return corpus.train, ids, corpus.name


def main(args) -> int:
    from rich.console import Console

    from ..core import config as config_mod
    from ..core.checkpoint import model_from_checkpoint
    from ..core.device import pick_device
    from ..core.evaluate import char_probs
    from ..tui import errors_render as R
    from .status import clear_status, show_status

    if args.length < 0:
        raise UserError("--length must be 0 (the whole split) or more")
    if args.examples < 0:
        raise UserError("--examples must be 0 or more")
    use_threads(args.threads)
    device = pick_device(args.device, "--device")
    model, vocab, ckpt = model_from_checkpoint(args.checkpoint, device)
    cfg = config_mod.from_dict(ckpt["config"])
    train, ids, name = load_splits(cfg, vocab, args.split)
    if args.length:
        ids = ids[:args.length]
    err = Console(stderr=True, highlight=False)
    show_status(f"tuirnn: the model reads {len(ids):,} chars ...")
    t0 = time.perf_counter()
    p = char_probs(model, ids, device)
    t1 = time.perf_counter()
    show_status(f"tuirnn: word counts and 1..{E.NGRAM_MAX}-grams of {len(train):,} training "
                "chars ...")
    context = E.build_context(train.numpy(), vocab)
    t2 = time.perf_counter()
    ids_np = ids.numpy()
    classes, b = E.analyse(context, ids_np, vocab, p)
    t3 = time.perf_counter()
    clear_status()
    if context.why_no_ngram:
        err.print(f"note: {context.why_no_ngram}", markup=False)
    out = Console(highlight=False)
    out.print(f"{ckpt['path']}: {model.cell.upper()} {model.num_layers}x{model.hidden_size}, "
              f"iteration {ckpt.get('iteration', '?')}; {args.split} split of {name}, "
              f"its first {len(ids):,} chars", markup=False)
    out.print(R.title(b))
    text = E.decode(ids_np, vocab) if args.examples else ""
    for i, row in enumerate(R.rows(b, out.width, help_text=True)):
        out.print(row)
        for context_text, ch in E.examples(text, classes, i, args.examples):
            out.print(R.example_line(context_text, ch, out.width))
    err.print(f"model {t1 - t0:.1f} s, n-grams and words {t2 - t1:.1f} s, oracles "
              f"{t3 - t2:.1f} s", markup=False, style="dim")
    return 0
