#!/usr/bin/env python
"""How many threads should `tuirnn sample`, `tuirnn neurons` and `tuirnn eval` use?

Times each command as a whole process (start-up included, as a user sees it) with
`--threads 1` and `--threads 0` (torch's choice: all physical cores), alternating the two,
on an idle machine and then under load (one busy-looping process per core, as when a training
run or another user shares the machine). Prints the median seconds of each.

    .venv/bin/python benchmarks/cli_threads.py [--checkpoint CKPT] [--repeats 3]

Without --checkpoint a 2x128 LSTM is trained for 20 iterations on the offline corpus (the
timings depend on the model's size, not on how well it is trained).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUIRNN = [sys.executable, "-m", "tuirnn"]


def spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--commands", default="sample,neurons,eval")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tuirnn-threads-"))
    ckpt = args.checkpoint
    if ckpt is None:
        ckpt = str(tmp / "run")
        subprocess.run([*TUIRNN, "run", "configs/tiny.yaml", "--headless", "--run-dir", ckpt,
                        "--set", "model.hidden_size=128", "--set", "train.max_iters=20",
                        "--set", "train.eval_every=20"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    commands = {
        "sample -n 2000": [*TUIRNN, "sample", ckpt, "-n", "2000", "--seed", "1"],
        "neurons (2000 chars)": [*TUIRNN, "neurons", ckpt, "--find"],
        "eval --split val": [*TUIRNN, "eval", ckpt, "--split", "val"],
    }
    wanted = [c for c in commands if c.split()[0] in args.commands.split(",")]
    cores = os.cpu_count() or 1
    print(f"{cores} cores; torch's default threads here: all physical cores; "
          f"{args.repeats} alternated runs of each; load average now {os.getloadavg()[0]:.1f}")
    for load in (0, cores):
        spinners = [multiprocessing.Process(target=spin, args=(time.time() + 3600,))
                    for _ in range(load)]
        for s in spinners:
            s.start()
        try:
            for name in wanted:
                times: dict[int, list[float]] = {1: [], 0: []}
                for r in range(args.repeats):
                    for n in ((1, 0) if r % 2 == 0 else (0, 1)):
                        times[n].append(timed([*commands[name], "--threads", str(n)]))
                m1, m0 = statistics.median(times[1]), statistics.median(times[0])
                print(f"{'idle' if not load else f'{load} busy procs':<13} {name:<22} "
                      f"--threads 1: {m1:6.2f} s   --threads 0: {m0:6.2f} s   (0/1 = {m0 / m1:.2f})",
                      flush=True)
        finally:
            for s in spinners:
                s.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
