"""Does the monitor slow training? And how fast does it answer a key?

1. Throughput. The same config trains in two processes at once: one headless, one with the
   monitor open in a real terminal (tmux) and attached to it through the control socket. Only one runs at a time: the other is frozen
   (SIGSTOP) and they take turns every `--slice` seconds, `--slices` turns in all. This
   machine's speed drifts by +-15% over tens of seconds (other tenants of the host), so runs
   one after another could not resolve a few percent; turns of two seconds see the same
   drift. chars/s for each is total chars / total time over its step windows (events.jsonl),
   leaving out the warm-up windows and every window that spans a freeze. The target is a
   monitor/headless ratio >= 0.99 (the monitor is a process of its own). The monitor
   process's CPU time while its trainer trains is read from /proc too (Linux): on a machine
   with few cores that is what it can take from training.
2. Key latency through the socket: with the run training at full speed, press space `--keys`
   times and time each press until the monitor writes PAUSED (or TRAINING again) to its
   terminal: the key travels to the trainer, which pauses at the next step boundary and says
   so, and the monitor repaints its header. What the monitor writes is read from tmux
   pipe-pane's copy of the pane's output, every 2 ms, a plain file read: polling tmux
   capture-pane instead starts a process per poll, and on a 2-core machine those processes
   took enough of the CPU from the trainer and the monitor to add 30-40 ms to the p95 they
   measured. The target is p95 < 100 ms.

    .venv/bin/python benchmarks/monitor_overhead.py [--config configs/tiny.yaml]
        [--slices 40] [--slice 2.0] [--repeats 2] [--keys 40]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUIRNN = [sys.executable, "-m", "tuirnn", "run"]
POLL_S = 0.002               # between reads of what the monitor wrote to its terminal
LONG_RUN = ["--set", "train.max_iters=100000000", "--set", "train.eval_every=100000000"]

# a tmux server of our own, so a user's is left alone; a "keeper" session holds it open between
# runs (a server whose last session closes exits, racing the next new-session)
TMUX_SERVER = f"tuirnn-bench-{uuid.uuid4().hex[:8]}"


def tmux(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", TMUX_SERVER, *args], capture_output=True, text=True, **kw)


def events(run_dir: Path) -> list[dict]:
    log = run_dir / "events.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def step_windows(run_dir: Path) -> tuple[int, list[tuple[int, float]]]:
    """(chars per step, [(steps, seconds)] for each StepsCompleted window, oldest first)."""
    evs = events(run_dir)
    start = next(e for e in evs if e["event"] == "RunStarted")
    per_step = start["batch_size"] * start["seq_length"]
    return per_step, [(len(e["losses"]), len(e["losses"]) * per_step / e["chars_per_sec"])
                      for e in evs if e["event"] == "StepsCompleted"]


def chars_per_sec(run_dir: Path, skip: int, stop: int) -> tuple[float, int]:
    """chars/s over windows skip..stop-1, less those that span a freeze (their
    time per step is over 5x the median: a freeze lasts a whole turn, a window is a fraction
    of one). Returns (chars/s, windows used)."""
    per_step, windows = step_windows(run_dir)
    windows = windows[skip:stop]
    per_step_time = statistics.median(sec / n for n, sec in windows)
    kept = [(n, sec) for n, sec in windows if sec / n < 5 * per_step_time]
    return sum(n for n, _ in kept) * per_step / sum(sec for _, sec in kept), len(kept)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of `pid`, from /proc (Linux); {} elsewhere."""
    out = {}
    try:
        tick = os.sysconf("SC_CLK_TCK")
        for tid in os.listdir(f"/proc/{pid}/task"):
            fields = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError, AttributeError):
        pass
    return out


def start_monitor(args, run_dir: Path) -> tuple[str, int, int]:
    """The monitor in a 120x36 tmux window; returns (session name, pid of the trainer process
    it started, pid of the monitor process)."""
    name = f"tuirnn-bench-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(f"'{a}'" for a in [*TUIRNN, args.config, "--run-dir", str(run_dir), *LONG_RUN])
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", str(ROOT),
         f"{cmd}; echo $? > '{run_dir}.exit'; sleep 5")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        found = subprocess.run(["pgrep", "-f", "--", f"-m tuirnn run .*--run-dir {run_dir}( |$)"],
                               capture_output=True, text=True).stdout.split()
        trainer = [int(p) for p in found if "--headless" in cmdline(int(p))]
        monitor = [int(p) for p in found if int(p) not in trainer]
        if trainer and monitor:
            return name, trainer[0], monitor[0]
        time.sleep(0.1)
    raise RuntimeError("the monitor did not start")


def quit_monitor(name: str, run_dir: Path) -> None:
    """q, then wait for the process to end (it saves first) before closing the terminal."""
    tmux("send-keys", "-t", name, "q")
    done = Path(f"{run_dir}.exit")
    end = time.monotonic() + 60
    while time.monotonic() < end and not done.exists():
        time.sleep(0.2)
    tmux("kill-session", "-t", name)


def wait_for_steps(run_dir: Path, n: int, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sum(e["event"] == "StepsCompleted" for e in events(run_dir)) >= n:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{run_dir.name} did not start training")


def interleaved(args, tmp: Path, repeat: int) -> tuple[float, float, float | None]:
    """One headless and one monitor process taking turns; (headless, monitor chars/s, UI
    thread CPU share of the monitor's training time or None). Both start together, train a
    few windows (warm-up: not counted), then freeze and take turns."""
    h_dir, m_dir = tmp / f"headless-{repeat}", tmp / f"monitor-{repeat}"
    headless = subprocess.Popen([*TUIRNN, args.config, "--headless", "--run-dir", str(h_dir),
                                 *LONG_RUN], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    name, m_pid, ui_pid = start_monitor(args, m_dir)
    try:
        wait_for_steps(h_dir, args.skip)
        wait_for_steps(m_dir, args.skip)
        pids = [headless.pid, m_pid]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(0.5)   # the last writes land; what came before the turns is left out
        skip = {d: len(step_windows(d)[1]) + 1 for d in (h_dir, m_dir)}
        ui_cpu, m_time = 0.0, 0.0
        for turn in range(args.slices):
            pid = pids[(turn + repeat) % 2]   # who goes first swaps between repeats
            before = thread_cpu(ui_pid) if pid == m_pid else {}
            t0 = time.monotonic()
            os.kill(pid, signal.SIGCONT)
            time.sleep(args.slice)
            os.kill(pid, signal.SIGSTOP)
            if pid == m_pid:
                after = thread_cpu(ui_pid)
                m_time += time.monotonic() - t0
                ui_cpu += sum(after.values()) - sum(before.values())
        time.sleep(0.5)   # both frozen: what they wrote so far is all that counts
        stop = {d: len(step_windows(d)[1]) for d in (h_dir, m_dir)}
    finally:
        for pid in (headless.pid, m_pid):
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        headless.send_signal(signal.SIGTERM)    # saves and exits, as on a hung-up terminal
        quit_monitor(name, m_dir)
        headless.wait(timeout=60)
    (h_rate, h_n), (m_rate, m_n) = chars_per_sec(h_dir, skip[h_dir], stop[h_dir]), chars_per_sec(
        m_dir, skip[m_dir], stop[m_dir])
    share = ui_cpu / m_time if m_time and thread_cpu(os.getpid()) else None
    print(f"repeat {repeat + 1}: headless {h_rate:,.0f} chars/s ({h_n} windows), monitor "
          f"{m_rate:,.0f} chars/s ({m_n} windows), ratio {m_rate / h_rate:.3f}"
          + (f"; monitor process busy {100 * share:.1f}% of a core" if share is not None else ""),
          flush=True)
    return h_rate, m_rate, share


def header(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name).stdout.split("\n", 1)[0]


def key_latency(args, run_dir: Path) -> list[float]:
    name, _, _ = start_monitor(args, run_dir)
    out, screen = [], run_dir.with_suffix(".pane")
    try:
        wait_for_steps(run_dir, 3)
        tmux("pipe-pane", "-t", name, "-o", f"cat >> '{screen}'")
        time.sleep(0.5)
        paused = "PAUSED" in header(name)
        for _ in range(args.keys):
            want = b"TRAINING" if paused else b"PAUSED"
            with open(screen, "rb") as written:
                written.seek(0, os.SEEK_END)
                t0 = time.perf_counter()
                tmux("send-keys", "-t", name, "Space")
                seen = b""
                while want not in seen:
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("the key press never showed")
                    time.sleep(POLL_S)
                    seen += written.read()
            out.append(time.perf_counter() - t0)
            paused = not paused
            time.sleep(0.15)
    finally:
        quit_monitor(name, run_dir)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/tiny.yaml")
    p.add_argument("--slices", type=int, default=40, help="turns per repeat (half each)")
    p.add_argument("--slice", type=float, default=2.0, help="seconds per turn")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--skip", type=int, default=3, help="warm-up step windows left out")
    p.add_argument("--keys", type=int, default=40)
    a = p.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed for this benchmark")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="tuirnn-bench-"))
    tmux("new-session", "-d", "-s", "keeper", "sleep 86400")
    try:
        return measure(a, tmp)
    finally:
        tmux("kill-server")
        shutil.rmtree(tmp, ignore_errors=True)


def measure(a, tmp: Path) -> int:
    results = [interleaved(a, tmp, r) for r in range(a.repeats)]     # --repeats 0: keys only
    if results:
        h = sum(r[0] for r in results) / len(results)
        m = sum(r[1] for r in results) / len(results)
        print(f"mean headless {h:,.0f} chars/s, monitor {m:,.0f} chars/s: ratio {m / h:.3f} "
              f"(target >= 0.99)")
    shares = [r[2] for r in results if r[2] is not None]
    if shares:
        print(f"monitor process CPU while its run trains: {100 * sum(shares) / len(shares):.1f}% "
              f"of one core")
    lat = sorted(key_latency(a, tmp / "latency"))
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    print(f"space to PAUSED/TRAINING in the header, through the socket: p50 {1000 * statistics.median(lat):.0f} ms, "
          f"p95 {1000 * p95:.0f} ms, max {1000 * lat[-1]:.0f} ms over {len(lat)} presses "
          f"(target p95 < 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
