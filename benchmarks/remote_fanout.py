"""What the control socket costs the trainer, and how fast a request takes effect through it.

A real Trainer (small LSTM on a self-made text, CPU) runs in a thread of this process with a
ControlServer among its sinks, as in a trainer process. Clients are separate processes, as
monitors are. Conditions take turns in `--slice`-second slices, `--rounds` rounds, so the
host's drift hits all of them alike:

    none     no client attached
    five     5 clients attached, each reading and decoding every event
    frozen   1 client that said hello and was then SIGSTOPped (never reads again)

steps/s per condition is the median over its slices (the first `--settle` s of each slice are
left out: attaching sends the history). On a shared machine steps/s drifts more than the
socket could cost, so two figures that do not drift are printed too: the time the trainer
spends inside the server's sink call (its whole cost on the training thread), and the server
thread's CPU time (what it can take from the trainer through the GIL or the cores).
Then, with 5 clients attached:

    key-to-effect: a client sends pause and times until Paused arrives (and resume -> Resumed),
                   `--keys` times; p50/p95 (target p95 < 100 ms)
    event lag:     trainer emit -> a client has decoded the event (CLOCK_MONOTONIC is one
                   clock for every process on the machine); p50/p95

    .venv/bin/python benchmarks/remote_fanout.py [--rounds 3] [--slice 3] [--keys 30]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


# --- client processes ---------------------------------------------------------------------------
def client_main(mode: str, run_dir: str, keys: int) -> None:
    from tuirnn.core.events import Paused, Resumed, StepsCompleted
    from tuirnn.remote.client import connect
    if mode == "frozen":
        from remote_fakes import RawClient
        raw = RawClient(Path(run_dir))
        raw.hello()
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(3600)
    lags: list[tuple[int, float]] = []
    marks = {"Paused": threading.Event(), "Resumed": threading.Event()}

    def on_event(ev) -> None:
        match ev:
            case StepsCompleted():
                lags.append((ev.iteration, time.monotonic()))
            case Paused() | Resumed():
                marks[type(ev).__name__].set()
    ctl = connect(run_dir, on_event=on_event, on_history=lambda past: None)
    print("ready", flush=True)
    if mode == "latency":
        out = []
        for _ in range(keys):
            for name, send in (("Paused", ctl.pause), ("Resumed", ctl.resume)):
                marks[name].clear()
                t0 = time.monotonic()
                send()
                marks[name].wait(5)
                out.append(time.monotonic() - t0)
                time.sleep(0.05)
        print(json.dumps({"latency": out}), flush=True)
    sys.stdin.readline()          # the parent closes stdin: report and leave
    print(json.dumps({"received": lags}), flush=True)
    ctl.close()


def spawn(mode: str, run_dir: Path, keys: int = 0) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, __file__, "--client", mode, str(run_dir),
                          "--keys", str(keys)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def finish(p: subprocess.Popen) -> dict:
    out, _ = p.communicate("\n", timeout=30)
    result: dict = {}
    for line in out.splitlines():
        result.update(json.loads(line))
    return result


def thread_cpu(tid: int) -> float:
    """CPU seconds (user + system) of one thread of this process (Linux /proc)."""
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# --- the trainer process ------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--slice", type=float, default=3.0)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--keys", type=int, default=30)
    args = ap.parse_args()

    from conftest import make_text

    from tuirnn.core import config
    from tuirnn.core.control import Control
    from tuirnn.core.data import Corpus
    from tuirnn.core.events import StepsCompleted
    from tuirnn.core.train import Trainer
    from tuirnn.remote.server import ControlServer

    cfg = config.load(None, ["model.hidden_size=128", "model.num_layers=1", "train.batch_size=32",
                             "train.seq_length=32", "train.log_every=10", "train.threads=1",
                             "train.eval_every=100000000", "train.max_iters=100000000"])
    corpus = Corpus.from_text(make_text(200_000, seed=5), "bench", 0.05)
    run_dir = Path(tempfile.mkdtemp(prefix="fanout-"))
    (run_dir / "checkpoints").mkdir()
    control = Control()
    server = ControlServer(run_dir, control).start()
    emitted: dict[int, float] = {}
    steps: list[tuple[float, int]] = []        # (time, iteration) of each step report

    def clock(ev) -> None:                       # first sink: when the trainer emitted it
        if isinstance(ev, StepsCompleted):
            now = time.monotonic()
            emitted[ev.iteration] = now
            steps.append((now, ev.iteration))
    cond_now = ["none"]
    sink_ns: dict[str, list[int]] = {"none": [], "five": [], "frozen": []}

    def timed_server(ev) -> None:               # the server sink, timed
        t = time.perf_counter_ns()
        server(ev)
        sink_ns[cond_now[0]].append(time.perf_counter_ns() - t)
    trainer = Trainer(cfg, run_dir, [clock, timed_server], control, corpus)
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    while not steps:
        time.sleep(0.05)
    time.sleep(1.0)                              # warm-up

    def rate(t0: float, t1: float) -> float:
        win = [(t, i) for t, i in steps if t0 <= t <= t1]
        return (win[-1][1] - win[0][1]) / (win[-1][0] - win[0][0]) if len(win) > 1 else 0.0

    results: dict[str, list[float]] = {"none": [], "five": [], "frozen": []}
    cpu: dict[str, float] = {c: 0.0 for c in results}
    wall: dict[str, float] = {c: 0.0 for c in results}
    assert server._thread is not None and server._thread.native_id is not None
    server_tid = server._thread.native_id
    for _ in range(args.rounds):
        for cond in results:
            cond_now[0] = cond
            c0, w0 = thread_cpu(server_tid), time.monotonic()
            procs = []
            if cond == "five":
                procs = [spawn("count", run_dir) for _ in range(5)]
            elif cond == "frozen":
                procs = [spawn("frozen", run_dir)]
            t0 = time.monotonic() + args.settle
            time.sleep(args.settle + args.slice)
            results[cond].append(rate(t0, time.monotonic()))
            cpu[cond] += thread_cpu(server_tid) - c0
            wall[cond] += time.monotonic() - w0
            for p in procs:
                if cond == "frozen":
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                    p.wait()
                else:
                    finish(p)
    base = statistics.median(results["none"])
    print(f"trainer steps/s (median of {args.rounds} slices of {args.slice:g} s, CPU, 1 thread)")
    for cond, xs in results.items():
        m = statistics.median(xs)
        print(f"  {cond:7s} {m:8.1f}  ratio {m / base:.3f}   slices: "
              + " ".join(f"{x:.1f}" for x in xs))
    print(f"  clients dropped for falling behind: {server.dropped}")
    print("trainer time inside the server sink per event, and the server thread's CPU")
    for cond, ns in sink_ns.items():
        us = [x / 1000 for x in ns]
        print(f"  {cond:7s} n={len(us):5d}  mean {statistics.mean(us):6.1f} us  p99 "
              f"{pct(us, 0.99):6.1f} us  max {max(us):7.1f} us   server thread "
              f"{100 * cpu[cond] / wall[cond]:.2f}% of a core")

    counters = [spawn("count", run_dir) for _ in range(4)]
    timer = spawn("latency", run_dir, keys=args.keys)
    assert timer.stdout is not None
    line = timer.stdout.readline()
    lat = json.loads(line)["latency"]
    time.sleep(1.0)
    lags = []
    for p in counters + [timer]:
        for it, t in finish(p)["received"]:
            if it in emitted:
                lags.append(t - emitted[it])
    ms = [x * 1000 for x in lat]
    print(f"key-to-effect (pause -> Paused, resume -> Resumed at a client), 5 clients, "
          f"n={len(ms)}: p50 {pct(ms, 0.5):.1f} ms  p95 {pct(ms, 0.95):.1f} ms  "
          f"max {max(ms):.1f} ms")
    lag_ms = [x * 1000 for x in lags]
    print(f"event lag (emit -> decoded at a client), n={len(lag_ms)}: p50 {pct(lag_ms, 0.5):.2f} ms"
          f"  p95 {pct(lag_ms, 0.95):.2f} ms")
    control.stop()
    thread.join()
    server.close()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--client":
        client_main(sys.argv[2], sys.argv[3], int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    else:
        main()
