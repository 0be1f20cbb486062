"""Does every 2-rank run that finished cleanly also end with exit status 0?

Repeats one short DDP run (gloo on CPU, `tuirnn run --nproc 2`): pause it through rank 0's
socket, ask for a sample and a save, resume, stop. Counts the runs whose torchrun exit
status was not 0, and how many of those were a rank dying at exit ("terminate called without
an active exception", SIGABRT). Before ranks ended with os._exit that was about 1 run in 12.

    .venv/bin/python benchmarks/ddp_teardown.py [--runs 40]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_ddp import write_config  # noqa: E402  (the DDP tests' run: 1x16 LSTM, batch 4 a rank)

from tuirnn.core.events import Paused, Resumed, RunFinished, SampleGenerated  # noqa: E402
from tuirnn.remote.client import connect  # noqa: E402


def wait(predicate, proc: subprocess.Popen, limit_s: float = 60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"the run ended early: {err[-400:]}")
        time.sleep(0.1)
    raise TimeoutError("no answer within the limit")


def one_run(folder: Path) -> tuple[int, str]:
    """(torchrun's exit status, its stderr) for one pause/sample/save/stop run."""
    cfg = write_config(folder, max_iters=100_000)
    env = dict(os.environ, OMP_NUM_THREADS="1", TUIRNN_DIST_TIMEOUT="3")
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--nproc", "2"], env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events: list = []
    seen = lambda kind, ok=lambda e: True: [e for e in events if isinstance(e, kind) and ok(e)]

    def logged_steps() -> bool:
        runs = list((folder / "runs").glob("*/events.jsonl"))
        return bool(runs) and any(json.loads(line)["event"] == "StepsCompleted"
                                  for line in runs[0].read_text().splitlines())
    try:
        wait(logged_steps, proc)
        client = connect(next((folder / "runs").iterdir()), on_event=events.append)
        client.pause()
        wait(lambda: seen(Paused), proc)
        time.sleep(1)
        rid = client.request_sample(prime="the ", length=20, stream=False)
        client.request_save()
        wait(lambda: seen(SampleGenerated, lambda e: e.request_id == rid), proc)
        client.resume()
        wait(lambda: seen(Resumed), proc)
        client.stop()
        wait(lambda: seen(RunFinished), proc)
        _, err = proc.communicate(timeout=60)
        client.close()
        return proc.returncode, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    failed = aborted = 0
    start = time.monotonic()
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="tuirnn-teardown-") as tmp:
            status, err = one_run(Path(tmp))
        failed += status != 0
        aborted += "terminate called" in err
        if status:
            print(f"run {i + 1}: exit status {status}: {err.strip().splitlines()[0][:120]}")
    print(f"{args.runs} runs in {time.monotonic() - start:.0f} s: {args.runs - failed} exit 0, "
          f"{failed} not 0 ({aborted} with a rank dying at exit)")


if __name__ == "__main__":
    main()
