#!/usr/bin/env python
"""Is the deadline kept? `tuirnn run --headless` with train.time_budget, timed from outside.

    .venv/bin/python benchmarks/deadline.py [--config configs/first-look.yaml] [--budget 30]
        [--runs 5] [--set KEY=VALUE ...]

Each run is a fresh process. Its start-up (imports, corpus, model: not counted in the budget)
is the time until its events.jsonl holds RunStarted (polled every 20 ms); the rest, up to
the process's exit, is training, the last eval, samples, checkpoints and the exit itself.
The goal: every process ends within budget * 1.05 + start-up. max_iters and max_epochs are
set far out so that the budget alone ends the run.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _baseline as C

from tuirnn.core.eventfile import iter_events, read_bytes


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--config", default=str(C.ROOT / "configs" / "first-look.yaml"))
    p.add_argument("--budget", type=float, default=30.0, help="train.time_budget in seconds")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return p.parse_args()


def events_of(root: Path, name: str) -> list:
    for log in root.glob("*/events.jsonl"):
        try:
            data, _ = read_bytes(log, 64 << 20)
        except (OSError, ValueError):
            return []
        return list(iter_events(data, (name,)))
    return []


def one_run(args, root: Path) -> dict:
    cmd = [str(C.ROOT / ".venv" / "bin" / "tuirnn"), "run", args.config, "--headless",
           "--set", f"train.time_budget={args.budget:g}s", "--set", "train.max_iters=100000000",
           "--set", "train.max_epochs=1000000", "--set", f"run.root={root}"]
    for o in args.overrides:
        cmd += ["--set", o]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = None
    while proc.poll() is None:
        if started is None and events_of(root, "RunStarted"):
            started = time.perf_counter() - t0
        time.sleep(0.02)
    total = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {err.strip()[-300:]}")
    fin = events_of(root, "RunFinished")
    return {"total": total, "startup": started if started is not None else total,
            "reason": fin[-1].reason if fin else "?", "iteration": fin[-1].iteration if fin else 0}


def main():
    args = parse_args()
    print(f"deadline: {args.runs} runs of {args.config} with train.time_budget={args.budget:g}s "
          f"{' '.join(args.overrides)}".rstrip(), flush=True)
    print(f"{'run':>4}{'start-up s':>12}{'after s':>10}{'total s':>10}{'limit s':>10}  reason, iters")
    rows = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="tuirnn-deadline-") as tmp:
            r = one_run(args, Path(tmp))
        r["after"] = r["total"] - r["startup"]
        r["limit"] = args.budget * 1.05 + r["startup"]
        rows.append(r)
        print(f"{i + 1:>4}{r['startup']:>12.2f}{r['after']:>10.2f}{r['total']:>10.2f}"
              f"{r['limit']:>10.2f}  {r['reason']}, {r['iteration']}", flush=True)
    kept = sum(r["total"] <= r["limit"] for r in rows)
    after = [r["after"] for r in rows]
    print(f"after start-up: median {statistics.median(after):.2f} s, max {max(after):.2f} s "
          f"for a {args.budget:g} s budget ({max(after) / args.budget - 1:+.1%} at worst)")
    print(f"deadline kept (ended within budget x 1.05 + start-up): {kept} of {len(rows)} runs")
    sys.exit(0 if kept == len(rows) else 1)


if __name__ == "__main__":
    main()
