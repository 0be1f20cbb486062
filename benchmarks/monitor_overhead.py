"""Does the monitor slow training? And how fast does it answer a key?

1. Throughput: the same config trained headless and with the monitor open in a real terminal
   (tmux), alternating, `--rounds` times each. chars/s is read from each run's events.jsonl
   (step windows only, the first `--skip` windows dropped as warm-up). The target is a
   monitor/headless ratio >= 0.97.
2. Key latency: with the monitor training at full speed, press `l` (log/linear scale) `--keys`
   times and time each press until the screen shows the change (tmux capture-pane polled
   every ~2 ms). The target is p95 < 100 ms.

    .venv/bin/python benchmarks/monitor_overhead.py [--config configs/tiny.yaml] [--iters 800]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUIRNN = [sys.executable, "-m", "tuirnn", "run"]


def chars_per_sec(run_dir: Path, skip: int) -> float:
    """Total chars / total step time over the StepsCompleted windows after the first `skip`."""
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["event"] == "RunStarted")
    per_batch = start["batch_size"] * start["seq_length"]
    windows = [e for e in events if e["event"] == "StepsCompleted"][skip:]
    chars = sum(len(w["losses"]) * per_batch for w in windows)
    seconds = sum(len(w["losses"]) * per_batch / w["chars_per_sec"] for w in windows)
    return chars / seconds


def finished(run_dir: Path) -> bool:
    log = run_dir / "events.jsonl"
    return log.exists() and '"RunFinished"' in log.read_text()  # probes may follow it


TMUX_SERVER = f"tuirnn-bench-{uuid.uuid4().hex[:8]}"   # a server of our own: a user's is left alone


def tmux(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", TMUX_SERVER, *args], capture_output=True, text=True, **kw)


def run_headless(args, run_dir: Path) -> None:
    subprocess.run([*TUIRNN, args.config, "--headless", "--run-dir", str(run_dir), *args.sets],
                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def start_monitor(args, run_dir: Path, sets: list[str]) -> str:
    name = f"tuirnn-bench-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(f"'{a}'" for a in [*TUIRNN, args.config, "--run-dir", str(run_dir), *sets])
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", str(ROOT),
         f"{cmd}; echo $? > '{run_dir}.exit'; sleep 5")
    return name


def quit_monitor(name: str, run_dir: Path) -> None:
    """q, then wait for the process to end (it saves first) before closing the terminal."""
    tmux("send-keys", "-t", name, "q")
    done = Path(f"{run_dir}.exit")
    end = time.monotonic() + 60
    while time.monotonic() < end and not done.exists():
        time.sleep(0.2)
    tmux("kill-session", "-t", name)


def run_monitor(args, run_dir: Path) -> None:
    name = start_monitor(args, run_dir, args.sets)
    try:
        while not finished(run_dir):
            time.sleep(0.5)
    finally:
        quit_monitor(name, run_dir)


def key_latency(args, run_dir: Path) -> list[float]:
    sets = [s if "max_iters" not in s else "train.max_iters=1000000" for s in args.sets]
    name = start_monitor(args, run_dir, sets)
    out = []
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            log = run_dir / "events.jsonl"
            if log.exists() and log.read_text().count('"StepsCompleted"') >= 3:
                break
            time.sleep(0.2)
        for _ in range(args.keys):
            before = tmux("capture-pane", "-p", "-t", name).stdout
            want = "log scale" if "linear scale" in before else "linear scale"
            t0 = time.perf_counter()
            tmux("send-keys", "-t", name, "l")
            while want not in tmux("capture-pane", "-p", "-t", name).stdout:
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError("the key press never showed")
            out.append(time.perf_counter() - t0)
            time.sleep(0.15)
    finally:
        quit_monitor(name, run_dir)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/tiny.yaml")
    p.add_argument("--iters", type=int, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--skip", type=int, default=3, help="warm-up step windows left out")
    p.add_argument("--keys", type=int, default=40)
    a = p.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed for this benchmark")
        return 2
    a.sets = ["--set", f"train.max_iters={a.iters}", "--set", f"train.eval_every={a.iters}"]
    tmp = Path(tempfile.mkdtemp(prefix="tuirnn-bench-"))
    headless, monitor = [], []
    for r in range(a.rounds):
        for kind, fn, acc in (("headless", run_headless, headless), ("monitor", run_monitor, monitor)):
            d = tmp / f"{kind}-{r}"
            fn(a, d)
            acc.append(chars_per_sec(d, a.skip))
            print(f"round {r + 1} {kind:8s} {acc[-1]:10,.0f} chars/s", flush=True)
    h, m = statistics.median(headless), statistics.median(monitor)
    pairs = [mm / hh for hh, mm in zip(headless, monitor)]
    print(f"median headless {h:,.0f} chars/s, monitor {m:,.0f} chars/s, ratio {m / h:.3f}; "
          f"per-round ratios {', '.join(f'{r:.3f}' for r in pairs)}, median "
          f"{statistics.median(pairs):.3f} (target >= 0.97)")
    try:
        print(f"load average during the runs: {open('/proc/loadavg').read().split()[:3]}")
    except OSError:
        pass
    lat = sorted(key_latency(a, tmp / "latency"))
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(f"key to screen while training: p50 {1000 * statistics.median(lat):.0f} ms, "
          f"p95 {1000 * p95:.0f} ms, max {1000 * lat[-1]:.0f} ms over {len(lat)} presses "
          f"(target p95 < 100 ms)")
    shutil.rmtree(tmp, ignore_errors=True)
    tmux("kill-server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
