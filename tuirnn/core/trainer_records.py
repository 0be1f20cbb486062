"""What the Trainer writes down and reads back: its RunStarted event, its checkpoint dict,
a resume from one (or a start from another run's weights), its finish reason, its failure.

Functions of a Trainer (`tr`, duck-typed: this module imports nothing of train.py), kept out
of the loop's file so that it reads as the loop.
"""
from __future__ import annotations

from typing import Any

from . import checkpoint as ckpt_mod
from .checkpoint import same_vocab
from .device import load_optimizer_state
from .errors import StorageError, UserError
from .events import RunFailed, RunStarted
from .model import unflatten_state
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


def start_from(tr: Any, ck: dict[str, Any]) -> None:
    """A new run from another run's weights (char-rnn's -init_from): its model, with this
    run's optimizer, iteration 0 and data from the start."""
    same_vocab(ck, tr.corpus, "init-from")
    tr.model.load_state_dict(ck["model"])


def restore(tr: Any, ck: dict[str, Any]) -> None:
    """A resumed run: model, optimizer, iteration, budget clock, best val and hidden state."""
    same_vocab(ck, tr.corpus, "resume")
    tr.model.load_state_dict(ck["model"])
    if "optimizer" not in ck:
        raise UserError(f"{ck.get('path')} is a sampling snapshot without optimizer state; "
                        "resume from the run folder (it uses checkpoints/last.pt)")
    load_optimizer_state(tr.optimizer, ck["optimizer"])
    saved_lr = ck["config"].get("train", {}).get("learning_rate")
    if saved_lr is not None and tr.cfg.train.learning_rate != saved_lr:
        # --resume --set train.learning_rate=X: X is the lr from here on (decay goes on
        # from it), as config.yaml now says
        for group in tr.optimizer.param_groups:
            group["lr"] = tr.cfg.train.learning_rate
    tr.iteration = int(ck["iteration"])
    tr.pace.resumed(ck)
    tr.clock = tr.pace.clock
    tr.last_val_loss = ck.get("val_loss")
    # a kill while best.pt was written leaves it older than the best last.pt records
    tr.best_val_loss = ckpt_mod.reconcile_best(tr.run_dir / "checkpoints", ck)
    best = tr.run_dir / "checkpoints" / "best.pt"
    tr.best_path = str(best) if best.exists() else None
    hidden = tr.dist.restore(ck, tr.train_data.batch_size, tr.device, tr.run_dir)
    if hidden is not None:
        tr.state = unflatten_state(hidden, tr.model.cell)


def finish_reason(tr: Any) -> str:
    """Why the loop ended: RunFinished's reason (a stop after the last step counts as its limit)."""
    if tr.diverged_stop:
        return "diverged"
    if tr.control.stopped and tr.iteration < tr.max_iters:
        return "stopped"
    if tr.pace.spent:
        return "time_budget"
    t = tr.cfg.train
    return "max_iters" if t.max_iters and tr.max_iters == t.max_iters else "max_epochs"
