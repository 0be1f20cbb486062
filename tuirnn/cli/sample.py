"""`tuirnn sample CHECKPOINT`: generate text like char-rnn's sample.lua, streamed to stdout."""
from __future__ import annotations

import sys

from ..core.errors import UserError


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a checkpoint (like char-rnn's sample.lua)",
                       description="Generate text from a checkpoint and stream it to stdout.")
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--length", "-n", type=int, default=2000, help="characters to generate (2000)")
    p.add_argument("--temperature", "-t", type=float, default=1.0, help="softmax temperature (1.0)")
    p.add_argument("--top-k", type=int, default=0, help="sample only from the k likeliest (0: all)")
    p.add_argument("--prime", default="", help="text to start from (printed first)")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same text)")
    p.add_argument("--argmax", action="store_true", help="always take the likeliest character")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")


def main(args) -> int:
    from ..core.checkpoint import model_from_checkpoint
    from ..core.sample import generate
    from ..core.train import pick_device

    if args.length < 0:
        raise UserError("--length must be 0 or more")
    if args.temperature <= 0 and not args.argmax:
        raise UserError("--temperature must be greater than 0 (or use --argmax)")
    if args.top_k < 0:
        raise UserError("--top-k must be 0 (all characters) or more")
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
