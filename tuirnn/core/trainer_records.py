"""What the Trainer writes down: its RunStarted event, its checkpoint dict, its failure.

Functions of a Trainer (`tr`, duck-typed: this module imports nothing of train.py), kept out
of the loop's file so that it reads as the loop.
"""
from __future__ import annotations

from typing import Any

from . import checkpoint as ckpt_mod
from .errors import StorageError
from .events import RunFailed, RunStarted
from .ownership import write_atomic


def started_event(tr: Any) -> RunStarted:
    c = tr.cfg
    return RunStarted(
        run_name=c.run.name or "", run_dir=str(tr.run_dir), cell=c.model.cell,
        hidden_size=c.model.hidden_size, num_layers=c.model.num_layers,
        num_params=tr.model.num_params(), device=str(tr.device), vocab=tr.corpus.vocab,
        train_chars=len(tr.corpus.train), val_chars=len(tr.corpus.val),
        iters_per_epoch=len(tr.train_data), max_iters=tr.max_iters,
        start_iter=tr.iteration, batch_size=tr.train_data.batch_size,
        seq_length=c.train.seq_length, learning_rate=tr.lr, config=c.to_dict(),
        time_budget_s=tr.clock.budget, budget_used_s=tr.clock.used(),
        init_from=tr.init_from["path"] if tr.init_from else "",
        init_from_iter=int(tr.init_from["iteration"]) if tr.init_from else 0)


def checkpoint_dict(tr: Any, full: bool) -> dict[str, Any]:
    n = len(tr.train_data)
    ck: dict[str, Any] = {
        "format": ckpt_mod.FORMAT, "version": ckpt_mod.VERSION,
        "model": tr.model.state_dict(), "vocab": tr.corpus.vocab,
        "config": tr.cfg.to_dict(), "iteration": tr.iteration,
        "epoch": tr.iteration / n, "batch_index": tr.iteration % n,
        "best_val_loss": tr.best_val_loss, "val_loss": tr.last_val_loss,
        "train_time_s": tr.clock.total(), "budget_used_s": tr.clock.used(),
    }
    if tr.dist.world.size > 1:
        ck["world_size"] = tr.dist.world.size
    if full:   # a collective under torchrun: every rank's states, gathered for rank 0
        ck["optimizer"] = tr.optimizer.state_dict()
        ck.update(tr.dist.states(tr.state, tr.device))
    return ck


def report_failure(tr: Any, message: str, tb: str, exit_status: int) -> None:
    try:
        if not tr.dist.main:
            raise OSError("rank 0 writes the run folder")
        write_atomic(tr.run_dir / "error.log", (tb or message + "\n").encode("utf-8"))
    except OSError:
        pass
    failed = RunFailed(iteration=tr.iteration, error=message, traceback=tb,
                       exit_status=exit_status)
    for sink in tr.sinks:  # each sink hears of it, even when another (a full disk) cannot
        try:
            sink(failed)
        except StorageError:
            pass
