"""A fake event stream for monitor tests: what a short run would emit, with no torch."""
from __future__ import annotations

import math
import random
from typing import Any

from tuirnn.core.events import (
    CheckpointSaved,
    EvalCompleted,
    EvalStarted,
    RunStarted,
    SampleGenerated,
    StepsCompleted,
)

VOCAB = "\n !\"',.:;?abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ世界"


def run_started(**kw) -> RunStarted:
    fields: dict[str, Any] = dict(run_name="tiny-demo", run_dir="/tmp/runs/tiny-demo", cell="lstm", hidden_size=128,
                  num_layers=2, num_params=215_000, device="cpu", vocab=VOCAB,
                  train_chars=1_000_000, val_chars=50_000, iters_per_epoch=400, max_iters=2000,
                  start_iter=0, batch_size=50, seq_length=50, learning_rate=2e-3,
                  config={"sample": {"temperature": 0.8, "length": 300, "top_k": 0}})
    fields.update(kw)
    return RunStarted(**fields)


def fake_run(n_reports: int = 50, log_every: int = 10, eval_every: int = 200) -> list:
    """RunStarted, then step reports, and at every eval: val loss, a sample, a checkpoint."""
    evs: list = [run_started()]
    rnd = random.Random(0)
    it = 0
    for _ in range(n_reports):
        losses = tuple(4.2 * math.exp(-(it + i) / 150) + 1.4 + rnd.random() * 0.2
                       for i in range(log_every))
        it += log_every
        evs.append(StepsCompleted(iteration=it, epoch=it / 400, losses=losses, lr=2e-3,
                                  chars_per_sec=45_000, elapsed_s=it / 20))
        if it % eval_every == 0:
            vl = 4.2 * math.exp(-it / 150) + 1.5
            evs.append(EvalStarted(iteration=it))
            evs.append(EvalCompleted(iteration=it, epoch=it / 400, val_loss=vl,
                                     best_val_loss=vl, is_best=True))
            evs.append(SampleGenerated(iteration=it, text=f"sample at {it}: the 世界 war and peace\n" * 3,
                                       prime="", temperature=0.8, top_k=0, seed=1, val_loss=vl,
                                       word_share=min(1.0, it / 600)))
            evs.append(CheckpointSaved(iteration=it, path="/tmp/runs/tiny-demo/checkpoints/best.pt",
                                       kind="best", val_loss=vl))
    return evs


def sync(test):
    """Run an async test function with asyncio (no pytest async plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper
