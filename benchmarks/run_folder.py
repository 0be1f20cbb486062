"""How long one-run-per-folder takes: eight `tuirnn run --headless` started at once (all get a
folder of their own), and refusing a second process on a live folder.

    .venv/bin/python benchmarks/run_folder.py [--rounds 5]

Prints: the 8-way start (until every run has logged RunStarted, and until all have exited),
and the refusal time beside a bare `tuirnn --version` start, measured in alternation so the
machine's noise hits both alike.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import make_text, tiny_config  # noqa: E402

TUIRNN = [sys.executable, "-m", "tuirnn"]


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*TUIRNN, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def eight_way(tmp: Path, cfg: Path) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    procs = [cli("run", str(cfg), "--headless") for _ in range(8)]
    started_at = None
    while any(p.poll() is None for p in procs) or started_at is None:
        runs = list((tmp / "runs").glob("*/events.jsonl")) if (tmp / "runs").exists() else []
        if started_at is None and len(runs) == 8 and all('"RunStarted"' in r.read_text() for r in runs):
            started_at = time.perf_counter() - t0
        time.sleep(0.01)
    done = time.perf_counter() - t0
    assert all(p.wait() == 0 for p in procs), [p.communicate() for p in procs]
    return started_at, done, len(list((tmp / "runs").iterdir()))


def timed(*args: str) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    p = cli(*args)
    _, err = p.communicate()
    return time.perf_counter() - t0, p.returncode, err.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        corpus = tmp / "corpus.txt"
        corpus.write_text(make_text(), encoding="utf-8")
        cfg = tiny_config(tmp, corpus, max_iters=4, eval_every=2)
        first, done, folders = eight_way(tmp, cfg)
        print(f"8-way start: {folders} folders; all started after {first:.2f} s, all done after {done:.2f} s")

        live_dir = tmp / "live"
        live = cli("run", str(tiny_config(tmp, corpus, max_iters=10**6, eval_every=10**6)),
                   "--run-dir", str(live_dir))
        while not ((live_dir / "events.jsonl").exists() and '"RunStarted"' in (live_dir / "events.jsonl").read_text()):
            time.sleep(0.05)
        refuse, bare = [], []
        for _ in range(opts.rounds):
            t, rc, err = timed("run", "--resume", str(live_dir))
            assert rc == 2 and "is in use by process" in err, err
            refuse.append(t)
            t, rc, _ = timed("--version")
            bare.append(t)
        live.send_signal(signal.SIGTERM)
        live.communicate()
        print(f"refusing a live folder: median {statistics.median(refuse):.3f} s "
              f"(min {min(refuse):.3f}); bare `tuirnn --version`: median {statistics.median(bare):.3f} s "
              f"(min {min(bare):.3f}); {opts.rounds} rounds alternated")


if __name__ == "__main__":
    main()
