"""Several ranks through torchrun (gloo on CPU, 2 processes): the same curve as one process
with the whole batch, one run folder, a clean stop and exact resume, a dead rank named."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import make_text

from tuirnn.core import checkpoint, config
from tuirnn.core.control import Control
from tuirnn.core.events import StepsCompleted
from tuirnn.core.train import Trainer

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="this torch has no torch.distributed")

B = 4            # streams per rank; the one-process reference trains 2*B


def write_config(tmp_path: Path, max_iters: int) -> Path:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(30_000, seed=5), encoding="utf-8")
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text(f"""
data: {{path: {corpus}, val_frac: 0.1}}
model: {{cell: lstm, num_layers: 1, hidden_size: 16, embed_size: 8, dropout: 0.0}}
train: {{batch_size: {B}, seq_length: 16, max_iters: {max_iters}, eval_every: 25, log_every: 5,
         threads: 1, device: cpu}}
sample: {{length: 20, timeline: false}}
run: {{root: {tmp_path / 'runs'}}}
""", encoding="utf-8")
    return cfg


def env(**extra) -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)


def tuirnn(*args) -> list[str]:
    return [sys.executable, "-m", "tuirnn", "run", *map(str, args)]


def reference(cfg_path: Path, run_dir: Path, iters: int) -> tuple[list[float], Trainer]:
    """One process, batch 2*B: the curve two ranks of batch B must reproduce."""
    from tuirnn.cli.run import load_corpus
    cfg = config.load(str(cfg_path), [f"train.batch_size={2 * B}", f"train.max_iters={iters}"])
    events: list = []
    run_dir.mkdir(parents=True)
    trainer = Trainer(cfg, run_dir, [events.append], Control(), load_corpus(cfg))
    trainer.run()
    return [x for e in events if isinstance(e, StepsCompleted) for x in e.losses], trainer


def losses_by_iteration(events_file: Path) -> dict[int, float]:
    """Every logged step's loss keyed by its iteration (a resumed process goes on the count)."""
    out: dict[int, float] = {}
    for line in events_file.read_text().splitlines():
        e = json.loads(line)
        if e["event"] == "StepsCompleted":
            first = e["iteration"] - len(e["losses"]) + 1
            out.update({first + i: x for i, x in enumerate(e["losses"])})
    return out


def first_run(tmp_path: Path, limit_s: float = 60) -> Path:
    """The run folder torchrun's rank 0 makes under tmp_path/runs, once it is there."""
    (tmp_path / "runs").mkdir(exist_ok=True)
    deadline = time.monotonic() + limit_s
    while not list((tmp_path / "runs").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return only_run(tmp_path)


def wait_for_iteration(events_file: Path, at_least: int, proc: subprocess.Popen, limit_s=60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "ended early"
        if events_file.exists() and losses_by_iteration(events_file) \
                and max(losses_by_iteration(events_file)) >= at_least:
            return
        time.sleep(0.2)
    raise AssertionError(f"no iteration {at_least} within {limit_s} s")


def kill_tree(proc: subprocess.Popen) -> None:
    """torchrun and its ranks (a session of their own): a rank outlives a killed launcher."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def only_run(tmp_path: Path) -> Path:
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs          # rank 1 made no folder of its own
    return runs[0]


def test_two_ranks_match_one_process_with_the_whole_batch(tmp_path):
    cfg = write_config(tmp_path, max_iters=50)
    done = subprocess.run(tuirnn(cfg, "--nproc", 2), env=env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert [p.name for p in run.glob("**/events.jsonl")] == ["events.jsonl"]
    started = json.loads((run / "events.jsonl").read_text().splitlines()[0])
    assert (started["world_size"], started["backend"], started["batch_size"]) == (2, "gloo", B)
    assert "x2 (gloo)" in done.stdout     # the headless header names ranks and backend
    two = losses_by_iteration(run / "events.jsonl")
    one, trainer = reference(cfg, tmp_path / "one", 50)
    assert sorted(two) == list(range(1, 51))
    diff = max(abs(two[i + 1] - one[i]) for i in range(50))
    assert diff < 1e-5, diff
    saved = checkpoint.load_checkpoint(run / "checkpoints" / "last.pt", resumable=True)
    assert saved["world_size"] == 2 and saved["hidden"][0].shape == (1, 2 * B, 16)
    for name, p in trainer.model.state_dict().items():
        assert torch.allclose(saved["model"][name], p, atol=1e-5), name


def test_sigterm_to_torchrun_saves_and_resume_goes_on_exactly(tmp_path):
    cfg = write_config(tmp_path, max_iters=100_000)
    proc = subprocess.Popen(tuirnn(cfg, "--nproc", 2), env=env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = first_run(tmp_path)
        wait_for_iteration(run / "events.jsonl", 12, proc)
        proc.send_signal(signal.SIGTERM)         # what torchrun's own shutdown sends the ranks
        out, err = proc.communicate(timeout=60)
    finally:
        kill_tree(proc)
    saved = checkpoint.load_checkpoint(run / "checkpoints" / "last.pt", resumable=True)
    stopped_at = saved["iteration"]
    assert stopped_at >= 12 and err.count("stopping: finishing the step") == 1, err
    assert f"--resume {run} --nproc 2" in out            # the hint names the same ranks
    # one process cannot take it up: one line saying what can
    one = subprocess.run(tuirnn("--resume", run), env=env(), capture_output=True, text=True, timeout=60)
    assert one.returncode == 2 and one.stderr.count("\n") == 1, one.stderr
    assert "trained with 2 ranks" in one.stderr and "--nproc 2" in one.stderr
    assert f"--init-from {run}/checkpoints/last.pt" in one.stderr      # the way to another count
    end = stopped_at + 15
    resumed = subprocess.run(tuirnn("--resume", run, "--nproc", 2, "--set", f"train.max_iters={end}"),
                             env=env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    got = losses_by_iteration(run / "events.jsonl")
    want, _ = reference(cfg, tmp_path / "one", end)
    assert sorted(got) == list(range(1, end + 1))
    diff = max(abs(got[i + 1] - want[i]) for i in range(end))
    assert diff < 1e-5, diff


def rank_pid(torchrun_pid: int, rank: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if ppid == torchrun_pid and f"RANK={rank}".encode() in environ:
            return int(stat.parent.name)
    raise AssertionError(f"no rank {rank} under {torchrun_pid}")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find a rank")
def test_a_rank_killed_ends_the_run_with_one_line(tmp_path):
    cfg = write_config(tmp_path, max_iters=100_000)
    proc = subprocess.Popen(tuirnn(cfg, "--nproc", 2), env=env(TUIRNN_DIST_TIMEOUT="20"),
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        run = first_run(tmp_path)
        wait_for_iteration(run / "events.jsonl", 10, proc)
        victim = rank_pid(proc.pid, 1)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        out, err = proc.communicate(timeout=40)      # 20 s group timeout, and some
    finally:
        kill_tree(proc)
    assert time.monotonic() - killed < 40
    assert proc.returncode != 0
    ours = [line for line in err.splitlines() if line.startswith("error:")]
    assert ours == [f"error: rank 1 (pid {victim}) has exited; the run cannot go on without it"], err
    last = json.loads((run / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "RunFailed" and "rank 1" in last["error"]


def test_requests_reach_every_rank_at_one_boundary(tmp_path):
    """Pause (longer than the group timeout), sample and save through rank 0's socket, then stop."""
    from tuirnn.core.events import CheckpointSaved, Paused, Resumed, RunFinished, SampleGenerated
    from tuirnn.remote.client import connect
    cfg = write_config(tmp_path, max_iters=100_000)
    proc = subprocess.Popen(tuirnn(cfg, "--nproc", 2), env=env(TUIRNN_DIST_TIMEOUT="3"),
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    events: list = []

    def seen(kind, limit_s=30, where=lambda e: True):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            found = [e for e in events if isinstance(e, kind) and where(e)]
            if found:
                return found[-1]
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        raise AssertionError(f"no {kind.__name__}")

    try:
        run = first_run(tmp_path)
        wait_for_iteration(run / "events.jsonl", 5, proc)
        client = connect(run, on_event=events.append)
        client.pause()
        paused = seen(Paused)
        time.sleep(5)                    # past the 3 s group timeout: the ranks tick, none waits long
        rid = client.request_sample(prime="the ", length=20, stream=False)
        client.request_save()
        # the history holds the evals' samples and snapshots too: wait for these answers
        sample = seen(SampleGenerated, where=lambda e: e.request_id == rid)
        saved = seen(CheckpointSaved, where=lambda e: e.kind == "manual")
        assert sample.iteration == saved.iteration == paused.iteration and saved.kind == "manual"
        client.resume()
        seen(Resumed)
        client.stop()
        finished = seen(RunFinished)
        out, err = proc.communicate(timeout=60)
        client.close()
    finally:
        kill_tree(proc)
    assert proc.returncode == 0, err
    assert finished.reason == "stopped" and "error" not in err
    ck = checkpoint.load_checkpoint(run / "checkpoints" / "last.pt", resumable=True)
    assert ck["iteration"] == finished.iteration and len(ck["rng_cpu_ranks"]) == 2


def test_one_process_run_goes_on_with_two_ranks_from_its_weights(tmp_path):
    """A run saved by one process cannot resume with 2 ranks; --init-from starts 2 ranks from
    its weights: every rank loads them, and the first logged (all-reduced) loss shows it."""
    cfg = write_config(tmp_path, max_iters=60)
    single = subprocess.run(tuirnn(cfg, "--headless"), env=env(), capture_output=True, text=True,
                            timeout=120)
    assert single.returncode == 0, single.stderr
    source = only_run(tmp_path)
    last = source / "checkpoints" / "last.pt"
    two = subprocess.run(tuirnn(cfg, "--nproc", 2, "--init-from", last, "--set", "train.max_iters=10"),
                         env=env(), capture_output=True, text=True, timeout=120, start_new_session=True)
    assert two.returncode == 0, two.stderr
    new = [p for p in (tmp_path / "runs").iterdir() if p != source]
    assert len(new) == 1
    started = json.loads((new[0] / "events.jsonl").read_text().splitlines()[0])
    assert started["world_size"] == 2 and started["start_iter"] == 0
    trained, fresh = losses_by_iteration(source / "events.jsonl"), losses_by_iteration(new[0] / "events.jsonl")
    assert abs(fresh[1] - trained[60]) < abs(fresh[1] - trained[1])


def test_two_nodes_through_a_rendezvous_make_one_run(tmp_path):
    """The multi-node launch (torchrun --nnodes 2, c10d rendezvous), both "nodes" on this
    machine with one rank each: one run folder, both exit 0, rank 0 logs a world of 2."""
    import socket
    with socket.socket() as s:           # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path, max_iters=20)
    node = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
            "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=two-nodes",
            "-m", "tuirnn", "run", str(cfg), "--headless"]
    procs = [subprocess.Popen(node, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True) for _ in range(2)]
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            kill_tree(p)
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    run = only_run(tmp_path)
    started = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()
               if '"RunStarted"' in line]
    assert len(started) == 1 and started[0]["world_size"] == 2 and started[0]["backend"] == "gloo"
    finished = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()
                if '"RunFinished"' in line]
    assert finished[-1]["iteration"] == 20 and (run / "checkpoints" / "last.pt").exists()


ENDING = """
import atexit, os, sys
import tuirnn.cli
cli = sys.modules["tuirnn.cli.main"]     # the module (the package exports its main function)
atexit.register(lambda: print("teardown ran", flush=True))
def fake_main():
    if sys.argv[1] == "group":
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[2], RANK="0", WORLD_SIZE="1")
        from tuirnn.core.distributed import Group
        from tuirnn.core.world import World
        import torch
        Group(World(0, 1, 0, "gloo"), torch.device("cpu")).close()
    print("done", flush=True)
    return 3
cli.main = fake_main
cli.console()
"""


@pytest.mark.parametrize("made_group", [True, False])
def test_a_rank_ends_without_the_teardown_and_others_with_it(made_group):
    """A process that set up a process group ends with os._exit (its status kept, no atexit
    teardown, where torch's leftover gloo threads could abort it); any other ends normally."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([sys.executable, "-c", ENDING, "group" if made_group else "plain", str(port)],
                          env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == (["done"] if made_group else ["done", "teardown ran"])


# --- a divergence, decided once for every rank --------------------------------------------------
BLOW_UP = ["--set", "train.learning_rate=1e6", "--set", "train.grad_clip=0",
           "--set", "train.eval_every=10"]


def test_two_ranks_diverged_and_unwatched_stop_with_one_line_and_exit_1(tmp_path):
    cfg = write_config(tmp_path, max_iters=400)
    done = subprocess.run(tuirnn(cfg, "--nproc", 2, "--headless", *BLOW_UP), env=env(),
                          capture_output=True, text=True, timeout=180, start_new_session=True)
    assert done.returncode == 1, done.stdout + done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and "is exploding" in ours[0] and "last.pt" in ours[0], done.stderr
    # (torchrun itself then reports a child that exited 1, with a traceback of its own)
    assert "tuirnn/core" not in done.stderr
    run = only_run(tmp_path)
    logged = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "AlertRaised" and e["action"] == "stopped" for e in logged)
    assert logged[-1]["event"] == "RunFinished" and logged[-1]["reason"] == "diverged"
    last = checkpoint.load_checkpoint(run / "checkpoints" / "last.pt", resumable=True)
    assert last["iteration"] == logged[-1]["iteration"] < 400 and len(last["rng_cpu_ranks"]) == 2
    best = run / "checkpoints" / "best.pt"
    evals = [e for e in logged if e["event"] == "EvalCompleted"]
    if best.exists():             # only ever a sane eval: finite weights, not an exploded loss
        kept = checkpoint.load_checkpoint(best)
        assert all(torch.isfinite(v).all() for v in kept["model"].values())
        assert kept["val_loss"] == min(e["val_loss"] for e in evals if e["is_best"])
    assert not any(e["is_best"] and not e["val_loss"] < 1e3 for e in evals)


def test_two_ranks_diverged_and_watched_pause_with_the_banner(tmp_path):
    """Started as a monitor starts a trainer (torchrun through the ready file): every rank
    pauses at the same step, the client hears why, and a stop ends the run with exit 0."""
    from tuirnn.cli import launch
    from tuirnn.core.events import AlertRaised, Paused
    from tuirnn.remote.client import connect
    cfg = write_config(tmp_path, max_iters=100_000)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "--module", "tuirnn"]
    os.environ.update(OMP_NUM_THREADS="1")
    proc, run = launch.start_trainer(["run", str(cfg), *BLOW_UP, "--headless"], launcher)
    assert run is not None, proc.returncode
    got: list = []
    ctl = connect(run, on_event=got.append, on_history=got.extend)
    try:
        deadline = time.monotonic() + 90
        while not any(isinstance(e, Paused) for e in got) and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        alert = next(e for e in got if isinstance(e, AlertRaised))
        paused = next(e for e in got if isinstance(e, Paused))
        assert alert.kind == "diverged" and alert.action == "paused"
        assert paused.iteration == alert.iteration
        time.sleep(1)
        assert proc.poll() is None                       # paused on every rank, waiting
        ctl.stop()
        assert proc.wait(60) == 0
    finally:
        ctl.close()
        kill_tree(proc)
    logged = (run / "events.jsonl").read_text()
    assert '"action": "paused"' in logged and '"reason": "stopped"' in logged


def test_two_ranks_raise_the_plateau_alert_once_from_the_agreed_val_loss(tmp_path):
    """learning_rate 1e-12 (below float32 resolution): the val loss never improves, so a plateau is raised (by rank 0, from
    the val loss every rank agreed on) and the run ends normally."""
    cfg = write_config(tmp_path, max_iters=20)
    done = subprocess.run(tuirnn(cfg, "--nproc", 2, "--headless", "--set", "train.learning_rate=1e-12",
                                 "--set", "train.eval_every=5", "--set", "train.plateau_evals=2"),
                          env=env(), capture_output=True, text=True, timeout=180, start_new_session=True)
    assert done.returncode == 0, done.stderr
    logged = [json.loads(line) for line in (only_run(tmp_path) / "events.jsonl").read_text().splitlines()]
    plateaus = [e for e in logged if e["event"] == "AlertRaised" and e["kind"] == "plateau"]
    assert len(plateaus) == 1 and plateaus[0]["iteration"] == 15, plateaus
    assert logged[-1]["event"] == "RunFinished" and logged[-1]["reason"] == "max_iters"
