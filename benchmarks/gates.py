"""What gate statistics cost: the probe with and without them, and over a whole val split.

    python benchmarks/gates.py [--hidden 512] [--layers 3] [--chars 2000] [--val-chars 160000]

Prints (1) the monitor's probe of `--chars` characters (what runs on the training thread at
every checkpoint) with the gates counted, against the same probe deriving tanh(c) alone, and
(2) `neurons --gates --length 0`'s pass over `--val-chars` characters of War and Peace's
validation split (or random ids when the corpus is absent), in characters a second. Weights
are random: the cost does not depend on them. One thread unless --threads says more.
"""
from __future__ import annotations

import argparse
import time

import _baseline  # noqa: F401  (sys.path, thread policy)
import torch

from tuirnn.core import probe
from tuirnn.core.gates import GATES, SaturationCounter, gate_stats
from tuirnn.core.model import CharRNN


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--val-chars", type=int, default=160_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    V = 80
    for cell in GATES:
        torch.manual_seed(0)
        model = CharRNN(V, cell, args.hidden, args.layers).eval()
        ids = torch.randint(0, V, (args.chars,))
        L, H = model.num_layers, model.hidden_size

        t0 = best_of(lambda m=model, x=ids: probe.probe_ids(m, x), args.repeat)
        t1 = best_of(lambda m=model, x=ids, c=cell, n=L, h=H:
                     probe.probe_ids(m, x, SaturationCounter(c, n, h)), args.repeat)
        print(f"{cell} {L}x{H}, probe of {args.chars:,} chars: {t0 * 1e3:.0f} ms without gates, "
              f"{t1 * 1e3:.0f} ms with them ({(t1 / t0 - 1) * 100:+.0f}%)")
        val = torch.randint(0, V, (args.val_chars,))
        start = time.perf_counter()
        stats = gate_stats(model, val)
        took = time.perf_counter() - start
        print(f"  gate_stats over {stats.chars:,} chars: {took:.1f} s, "
              f"{stats.chars / took:,.0f} chars/s")


if __name__ == "__main__":
    with torch.no_grad():
        main()
