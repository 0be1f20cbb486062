"""`tuirnn sample CHECKPOINT`: generate text like char-rnn's sample.lua, streamed to stdout."""
from __future__ import annotations

import argparse
import math
import sys

from ..core.errors import UserError
from .threads import add_threads_option, use_threads


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a checkpoint (like char-rnn's sample.lua)",
                       description="Generate text from a checkpoint and stream it to stdout.")
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--length", "-n", type=whole_number, default=2000, help="characters to generate (2000)")
    p.add_argument("--temperature", "-t", type=float, default=1.0, help="softmax temperature (1.0)")
    p.add_argument("--top-k", type=whole_number, default=0, help="sample only from the k likeliest (0: all)")
    p.add_argument("--prime", default="", help="text to start from (printed first)")
    p.add_argument("--seed", type=whole_number, default=None, help="random seed (same seed, same text)")
    p.add_argument("--argmax", action="store_true", help="always take the likeliest character")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    add_threads_option(p, 1, "one character at a time is too small a job to share, and spare "
                          "threads spin against other work on the cores")


MAX_LENGTH = 10**12   # characters: days of sampling; Ctrl+C stops any run cleanly
MAX_SEED = 2**63 - 1  # torch's generator takes a signed 64-bit seed


def whole_number(text: str) -> int:
    """An int, also written with an exponent (-n 1e6): checked for range in main."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number.is_integer()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number")
    return int(number)


def _short(n: int) -> str:
    """An int as at most ~20 characters: 1e+23 rather than all its digits."""
    if abs(n) < 10**20:
        return str(n)
    return f"{n:.3g}" if abs(n) < 10**300 else f"a number of {len(str(abs(n)))} digits"


def check_args(args) -> None:
    """Every number in range before the checkpoint is even read."""
    if not 0 <= args.length <= MAX_LENGTH:
        raise UserError(f"--length must be between 0 and {MAX_LENGTH:,}; got {_short(args.length)}")
    if not args.argmax and not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UserError(f"--temperature must be a number greater than 0 (or use --argmax); "
                        f"got {args.temperature}")
    if args.top_k < 0:
        raise UserError("--top-k must be 0 (all characters) or more")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UserError(f"--seed must be between 0 and 2**63 - 1; got {_short(args.seed)}")


def main(args) -> int:
    from ..core.checkpoint import model_from_checkpoint
    from ..core.device import pick_device
    from ..core.sample import generate

    check_args(args)
    use_threads(args.threads)
    device = pick_device(args.device, "--device")
    model, vocab, _ = model_from_checkpoint(args.checkpoint, device)
    out = sys.stdout
    chars = generate(model, vocab, args.length, args.prime, args.temperature, args.top_k,
                     args.seed, args.argmax, device)
    first = next(chars, "")  # raises UserError for a bad prime before anything is printed
    out.write(args.prime + first)
    for i, ch in enumerate(chars):
        out.write(ch)
        if i % 64 == 0:
            out.flush()
    out.write("\n")
    out.flush()
    return 0
