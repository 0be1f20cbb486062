#!/usr/bin/env python
"""ms/step of training on this machine's GPU, four ways, in one run (benchmarks/gpu_check.sh).

    bare fused cuDNN loop      _baseline.PlainLoop: one nn.LSTM(num_layers=L), Adam, clipping
    bare loop with fused Adam  the same with torch.optim.Adam(fused=True)
    tuirnn headless            `tuirnn run --headless`, ms/step from its events.jsonl
    tuirnn monitor             `tuirnn run` with the monitor drawing into a pseudo-terminal

On a GPU: War and Peace (data/ or /work/shared/data), 3x512 LSTM, batch 100, seq 100; each
row is the median over 10-step windows after a warm-up. Without a GPU the same rows run at
tiny sizes on the CPU, only to show that the script works.

    python benchmarks/gpu_check.py [--steps N] [--data PATH]
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import _baseline as C
import torch

ROOT = C.ROOT
LOG_EVERY = 10


def sizes(on_gpu: bool) -> dict:
    if on_gpu:
        return dict(cell="lstm", layers=3, hidden=512, embed=64, batch=100, seq=100)
    return dict(cell="lstm", layers=1, hidden=32, embed=16, batch=8, seq=16)


def bare_loop(ids, vocab: int, s: dict, device: str, steps: int, warmup: int, fused: bool) -> float:
    loop = C.PlainLoop(ids, vocab, s["cell"], s["hidden"], s["layers"], s["embed"], 0.0,
                       s["batch"], s["seq"], device=device)
    if fused:
        loop.opt = torch.optim.Adam(loop.model.parameters(), lr=2e-3, fused=True)
    for _ in range(warmup):
        loop.step()
    windows = []
    for _ in range(steps // LOG_EVERY):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(LOG_EVERY):
            loop.step()
        sync(device)
        windows.append((time.perf_counter() - t0) / LOG_EVERY)
    return 1000 * statistics.median(windows)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def write_config(folder: Path, corpus: Path, s: dict, device: str, iters: int) -> Path:
    cfg = {
        "data": {"path": str(corpus), "val_frac": 0.05},
        "model": {"cell": s["cell"], "num_layers": s["layers"], "hidden_size": s["hidden"],
                  "embed_size": s["embed"], "dropout": 0.0},
        "train": {"batch_size": s["batch"], "seq_length": s["seq"], "max_iters": iters,
                  "eval_every": 10**8, "log_every": LOG_EVERY, "device": device},
        "sample": {"length": 50, "timeline": False},
        "run": {"name": "gpucheck", "root": str(folder)},
    }
    path = folder / "gpucheck.yaml"
    path.write_text(json.dumps(cfg))   # JSON is YAML
    return path


def tuirnn_cmd(config: Path, run_dir: Path, headless: bool) -> list[str]:
    return [sys.executable, "-m", "tuirnn", "run", str(config), "--run-dir", str(run_dir),
            *(["--headless"] if headless else [])]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color", COLORTERM="truecolor")


def events(run_dir: Path) -> list[dict]:
    log = run_dir / "events.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def ms_per_step(run_dir: Path, warmup: int) -> float:
    """Median over the StepsCompleted windows after `warmup` steps (each window's own clock)."""
    evs = events(run_dir)
    start = next(e for e in evs if e["event"] == "RunStarted")
    chars = start["batch_size"] * start["seq_length"]
    per_step = [1000 * chars / e["chars_per_sec"] for e in evs
                if e["event"] == "StepsCompleted" and e["iteration"] > warmup + LOG_EVERY]
    return statistics.median(per_step)


def headless(config: Path, run_dir: Path, warmup: int, timeout: float) -> float:
    subprocess.run(tuirnn_cmd(config, run_dir, True), cwd=ROOT, env=env(), check=True,
                   stdout=subprocess.DEVNULL, timeout=timeout)
    return ms_per_step(run_dir, warmup)


def monitor_in_pty(config: Path, run_dir: Path, warmup: int, timeout: float) -> float:
    """The monitor in a 120x36 pseudo-terminal whose output is read (and dropped) as a
    terminal would; `q` once the run has finished."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the monitor, on the pty
        os.chdir(ROOT)
        os.execvpe(sys.executable, tuirnn_cmd(config, run_dir, False), env())
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    end = time.monotonic() + timeout
    quit_sent = False
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:   # the child closed the terminal: it has exited
                    break
            if not quit_sent and any(e["event"] in ("RunFinished", "RunFailed") for e in events(run_dir)):
                os.write(fd, b"q")
                quit_sent = True
        else:
            raise SystemExit("the monitor run did not finish in time")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:  # the steps were measured; say so, but keep the row
        print(f"note: the monitor exited with {code} after its run finished", flush=True)
    return ms_per_step(run_dir, warmup)


def find_text(explicit: str | None, tmp: Path) -> Path:
    for name in ("warpeace.txt", "tinyshakespeare.txt"):
        found = C.find_corpus(explicit, name)
        if found is not None:
            return found
    if explicit:
        raise SystemExit(f"--data {explicit}: not a file")
    from tuirnn.core.config import DataConfig
    from tuirnn.core.corpus import locate_corpus  # the offline default: Python's own source
    name, raw = locate_corpus(DataConfig())
    path = tmp / "offline.txt"
    path.write_bytes(raw[:3_000_000])
    return path


def main() -> int:
    on_gpu = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300 if on_gpu else 40, help="timed steps per row")
    p.add_argument("--warmup", type=int, default=30 if on_gpu else 10)
    p.add_argument("--data", help="corpus (default: War and Peace, else Tiny Shakespeare)")
    args = p.parse_args()
    device = "cuda" if on_gpu else "cpu"
    s = sizes(on_gpu)
    if on_gpu:
        props = torch.cuda.get_device_properties(0)
        where = (f"{props.name}, {props.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, "
                 f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
        torch.backends.cudnn.benchmark = True
    else:
        where = f"no GPU: CPU at tiny sizes, to show the script works; torch {torch.__version__}"
    tmp = Path(tempfile.mkdtemp(prefix="tuirnn-gpucheck-"))
    corpus_path = find_text(args.data, tmp)
    corpus = C.load_corpus(corpus_path, 0.05)
    print(f"{where}\ncorpus {corpus_path.name}; {s['layers']}x{s['hidden']} {s['cell'].upper()}, "
          f"batch {s['batch']}, seq {s['seq']}; {args.warmup} warm-up + {args.steps} timed steps a row",
          flush=True)
    iters = args.warmup + args.steps + 2 * LOG_EVERY
    config = write_config(tmp, corpus_path, s, device, iters)
    budget = 120 if on_gpu else 300
    rows: list[tuple[str, float]] = []
    rows.append(("bare fused cuDNN loop" if on_gpu else "bare loop (nn.LSTM)",
                 bare_loop(corpus.train, len(corpus.vocab), s, device, args.steps, args.warmup, False)))
    rows.append(("bare loop with fused Adam",
                 bare_loop(corpus.train, len(corpus.vocab), s, device, args.steps, args.warmup, True)))
    rows.append(("tuirnn headless", headless(config, tmp / "headless", args.warmup, budget)))
    rows.append(("tuirnn monitor (pty 120x36)", monitor_in_pty(config, tmp / "monitor", args.warmup, budget)))
    print("\n| | ms/step |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")
    base = rows[0][1]
    print("\n" + ", ".join(f"{name}: {base / ms:.2f}x the bare loop" for name, ms in rows[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
