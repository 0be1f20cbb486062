"""How long a big corpus takes to load, and how much memory it holds.

    python benchmarks/load_corpus.py [--mb 100] [--data PATH]

Builds a corpus of --mb megabytes by repeating a real text (War and Peace from ../shared/data
when present, else the offline default) and times read + decode + vocabulary + ids.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from tuirnn.core.corpus import offline_corpus
from tuirnn.core.data import Corpus, decode_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "warpeace.txt"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--data", type=Path, default=SHARED if SHARED.exists() else None)
    args = ap.parse_args()
    seed = args.data.read_bytes() if args.data else offline_corpus()
    size = args.mb * 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        with open(path, "wb") as f:
            written = 0
            while written < size:
                chunk = seed[: size - written]
                f.write(chunk)
                written += len(chunk)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        t0 = time.perf_counter()
        raw = path.read_bytes()
        t1 = time.perf_counter()
        text = decode_corpus(raw, path.name)
        del raw
        t2 = time.perf_counter()
        corpus = Corpus.from_text(text, path.name, 0.05)
        t3 = time.perf_counter()
        del text
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    ids_mb = (corpus.train.numel() * corpus.train.element_size() + corpus.val.numel() * corpus.val.element_size()) / 1e6
    print(f"corpus            {args.mb} MB ({'repeated ' + args.data.name if args.data else 'offline default'})")
    print(f"read              {t1 - t0:6.2f} s")
    print(f"decode+normalise  {t2 - t1:6.2f} s")
    print(f"vocab+ids+words   {t3 - t2:6.2f} s")
    print(f"total             {t3 - t0:6.2f} s")
    print(f"ids tensor        {ids_mb:6.1f} MB ({corpus.train.dtype}, vocab {len(corpus.vocab)})")
    print(f"peak RSS          {rss1:6.2f} GB (before loading {rss0:.2f} GB)")


if __name__ == "__main__":
    main()
