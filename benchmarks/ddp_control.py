"""Cost of the per-step control collective of a multi-rank run, relative to a training step.

    python benchmarks/ddp_control.py [--nproc 2] [--steps 300]

Starts itself under torchrun (torch.distributed.run, gloo on CPU). Each rank trains a tiny and
a char-rnn-sized model with the Trainer on ranks.Ranks and prints, from rank 0:
  - the mean time of SyncedControl's all-reduce (4 int64, MAX) inside training: latency plus
    whatever skew between ranks it absorbs;
  - the same all-reduce alone in a tight loop: the bare latency;
  - the mean step time with the collective and without it (the trainer given the plain local
    Control: nothing agreed, for measuring only), so the cost it adds shows apart from the
    waiting for the slower rank that it merely moves out of DDP's backward all-reduce.
Runs alternate (with, without, with, without) since the machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {   # name: (hidden, layers, batch per rank, seq)
    "tiny 1x32": (32, 1, 8, 32),
    "char-rnn 2x128": (128, 2, 25, 50),
}


def text(n: int) -> str:
    import random
    rng = random.Random(0)
    words = "the a of and to in he she was it his her that with for on as at by war peace".split()
    return "\n".join(" ".join(rng.choice(words) for _ in range(10)) for _ in range(n // 40))


def train_once(name: str, steps: int, corpus, folder: Path, synced: bool):
    import torch.distributed as dist

    from tuirnn.core import config
    from tuirnn.core.control import Control
    from tuirnn.core.ranks import Ranks
    from tuirnn.core.train import Trainer
    from tuirnn.core.world import world_from_env
    hidden, layers, batch, seq = SIZES[name]
    cfg = config.load(None, [f"model.hidden_size={hidden}", f"model.num_layers={layers}",
                             f"train.batch_size={batch}", f"train.seq_length={seq}",
                             f"train.max_iters={steps}", "train.eval_every=1000000",
                             "train.log_every=50", "train.threads=1", "train.device=cpu"])
    local = Control()
    ranks = Ranks(world_from_env())
    trainer = Trainer(cfg, folder, [], local, corpus, dist=ranks)
    trainer.prepare()
    if not synced:      # the loop without the per-step agreement, to measure what it costs
        trainer.control = local
    dist.barrier()
    start = time.perf_counter()
    trainer.run()
    step_s = (time.perf_counter() - start) / steps
    sync = ranks.synced
    assert sync is not None
    return step_s, (sync.sync_s / max(sync.syncs, 1) if synced else None), ranks


def bare_latency(group, repeats: int = 2000) -> float:
    import torch
    import torch.distributed as dist
    flags = torch.zeros(4, dtype=torch.int64)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=group)
    return (time.perf_counter() - start) / repeats


def worker(steps: int) -> None:
    from tuirnn.core.data import Corpus
    corpus = Corpus.from_text(text(400_000), "bench", 0.05)
    rank = int(os.environ["RANK"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ranks = None
        for name in SIZES:
            for synced in (True, False, True, False):
                step_s, sync_s, ranks = train_once(name, steps, corpus, Path(tmp), synced)
                rows.append((name, synced, step_s, sync_s))
        assert ranks is not None and ranks.group is not None
        bare = bare_latency(ranks.group.control)
        if rank == 0:
            world = os.environ["WORLD_SIZE"]
            print(f"{world} ranks, gloo on CPU, {steps} steps a run, torch threads 1 a rank")
            print(f"bare control all-reduce (4 int64, MAX): {bare * 1e3:.3f} ms")
            print(f"{'model':<16} {'control':>8} {'step ms':>9} {'in collective ms':>17}")
            for name, synced, step_s, sync_s in rows:
                inside = f"{sync_s * 1e3:.3f}" if sync_s is not None else "-"
                print(f"{name:<16} {'on' if synced else 'off':>8} {step_s * 1e3:>9.2f} {inside:>17}")
            for name in SIZES:
                on = [r[2] for r in rows if r[0] == name and r[1]]
                off = [r[2] for r in rows if r[0] == name and not r[1]]
                added = min(on) - min(off)
                print(f"{name}: best step {min(on) * 1e3:.2f} ms with, {min(off) * 1e3:.2f} ms "
                      f"without: {added * 1e3:+.2f} ms ({added / min(off):+.1%}) a step")
        ranks.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    if "RANK" in os.environ:
        worker(args.steps)
        sys.stdout.flush()
        os._exit(0)          # as tuirnn's ranks end: see core.distributed.ends_without_teardown
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                              f"--nproc_per_node={args.nproc}", __file__, "--steps", str(args.steps)])


if __name__ == "__main__":
    raise SystemExit(main())
