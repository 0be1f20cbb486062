"""Kneser–Ney n-gram baselines on War and Peace: fit time and memory, loss per order.

    python benchmarks/ngram.py [--data PATH] [--orders 5,10,20]

The split is the paper's (configs/warpeace-paper.yaml: 80/10/10 train/val/test), so the figures
sit beside Karpathy, Johnson & Fei-Fei (2015), section 4.3: their 20-gram scores 1.195
nats/char on the test split (their best LSTM 1.077). For each order N in --orders, orders 1..N
are counted (what `tuirnn baseline --max-order N` does) and the fit's time and peak memory
(tracemalloc: numpy's buffers) printed; then every order's val and test loss from the largest.
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

from tuirnn.core import ngram  # noqa: E402
from tuirnn.core.data import Corpus, decode_corpus  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "warpeace.txt"
PAPER_TEST_20 = 1.195


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--orders", default="5,10,20")
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"no corpus at {args.data}; give --data PATH (War and Peace)")
    orders = sorted(int(x) for x in args.orders.split(","))
    text = decode_corpus(args.data.read_bytes(), args.data.name)
    corpus = Corpus.from_text(text, args.data.name, val_frac=0.1, test_frac=0.1)
    train, val, test = corpus.train.numpy(), corpus.val.numpy(), corpus.test.numpy()
    V = len(corpus.vocab)
    print(f"{args.data.name}: train {len(train):,} · val {len(val):,} · test {len(test):,} "
          f"chars, vocabulary {V}")
    print(f"{'max order':>9}  {'fit s':>6}  {'peak MiB':>8}  {'tables MiB':>10}")
    model = None
    for n in orders:
        model = None                      # the previous fit's tables are freed first
        tracemalloc.start()
        t0 = time.perf_counter()
        model = ngram.fit(train, V, n)
        fit_s = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{n:>9}  {fit_s:>6.1f}  {peak / 2**20:>8,.0f}  {model.nbytes / 2**20:>10,.0f}",
              flush=True)
    assert model is not None
    print(f"\n{'order':>5}  {'val nats':>8}  {'test nats':>9}  {'test bits':>9}")
    t0 = time.perf_counter()
    best = (math.inf, 0)
    val_losses, test_losses = model.losses(val), model.losses(test)
    for n, (v, t) in enumerate(zip(val_losses, test_losses), 1):
        best = min(best, (v, n))
        print(f"{n:>5}  {v:>8.4f}  {t:>9.4f}  {t / math.log(2):>9.4f}", flush=True)
    score_s = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"\nscoring orders 1..{model.max_order} on val and test: {score_s:.1f}s; "
          f"process peak RSS {rss:,.0f} MiB")
    print(f"best order on val: {best[1]} ({best[0]:.4f} nats/char); "
          f"test at order {model.max_order}: {test_losses[-1]:.4f} "
          f"(paper's 20-gram: {PAPER_TEST_20})")


if __name__ == "__main__":
    main()
