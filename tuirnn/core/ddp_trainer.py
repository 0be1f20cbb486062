"""The Trainer as one rank of a torchrun (DDP) run.

Every rank runs the same loop on its own streams; gradients are averaged by DDP in backward.
Rank 0 alone emits events and writes files; the others have no sinks but an error printer.
What must happen at the same step on every rank goes through collectives, in the same order
on every rank:
  - each step boundary: SyncedControl's all-reduce (stop, pause, number of saves);
  - each log window: the losses (all-reduced mean) and the forward time per rank (min/max);
  - each eval: the val loss (sharded over ranks, summed);
  - each save: the hidden and RNG states of every rank, gathered for rank 0's checkpoint.
A collective that fails because a peer went away ends the run with RankLost (one line).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .control import Control, SaveRequest
from .distributed import (
    Group,
    World,
    check_resume_world,
    is_peer_failure,
    keep_until_exit,
    rank_batchers,
    rank_device,
    val_sharded,
)
from .errors import RankLost
from .evaluate import mean_loss
from .events import RunFailed, StepsCompleted
from .model import flatten_state, unflatten_state
from .train import Trainer

STOP, PAUSE, SAVES = range(3)


class SyncedControl:
    """The Control as every rank sees it, agreed once per step boundary.

    The trainer reads `has_work` once per step: that read is the collective (an all-reduce MAX
    of three ints on the gloo group). Rank 0 contributes its pause flag and how many saves it
    was asked for (it takes its requests there, so it answers exactly what it announced);
    every rank contributes its own stop flag, so a signal on any rank stops all of them at the
    same step. While paused, `wait` is a collective every `timeout` seconds, so no rank ever
    waits longer than that (plus rank 0's answer to a request) for the others.
    """

    def __init__(self, local: Control, group: Group):
        self.local = local
        self.group = group
        self.rank = group.world.rank
        self._flags = torch.zeros(3, dtype=torch.int64)
        self._paused = self._stopped = False
        self._pending: list = []
        self.sync_s = 0.0          # time spent in the collective (the benchmark reads it)
        self.syncs = 0

    def sync(self) -> None:
        taken = self.local.take()
        if self.rank == 0:
            self._pending += taken          # sample/probe/save, answered on rank 0
        f = self._flags
        f.zero_()
        f[STOP] = self.local.stopped
        if self.rank == 0:
            f[PAUSE] = self.local.paused
            f[SAVES] = sum(isinstance(r, SaveRequest) for r in self._pending)
        start = time.perf_counter()
        dist.all_reduce(f, op=dist.ReduceOp.MAX, group=self.group.control)
        self.sync_s += time.perf_counter() - start
        self.syncs += 1
        self._stopped, self._paused = bool(f[STOP]), bool(f[PAUSE])
        if self.rank != 0:                  # the others take part in rank 0's saves
            self._pending = [SaveRequest(0)] * int(f[SAVES])

    # --- what the trainer reads ---------------------------------------------------------------
    @property
    def has_work(self) -> bool:
        self.sync()
        return bool(self._pending) or self._paused or self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def take(self) -> list:
        out, self._pending = self._pending, []
        return out

    def wait(self, timeout: float) -> None:
        if self.rank == 0:
            self.local.wait(timeout)
        self.sync()


class TimedForward:
    """The DDP module, timing each forward pass of this rank (no collective runs inside it, so a
    slow rank shows here even though DDP's backward makes every rank wait for the slowest).
    CPU: wall time; CUDA: events, read at log time only (no per-step sync)."""

    def __init__(self, module, device: torch.device):
        self.module = module
        self.cuda = device.type == "cuda"
        self._cpu_s = 0.0
        self._events: list = []
        self._steps = 0

    def __call__(self, *args):
        self._steps += 1
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = self.module(*args)
            end.record()
            self._events.append((start, end))
            return out
        t = time.perf_counter()
        out = self.module(*args)
        self._cpu_s += time.perf_counter() - t
        return out

    def take_ms(self) -> float:
        """Mean forward milliseconds per step since the last call."""
        if self.cuda:
            total = sum(s.elapsed_time(e) for s, e in self._events)
        else:
            total = self._cpu_s * 1000
        steps, self._steps, self._cpu_s, self._events = self._steps, 0, 0.0, []
        return total / max(steps, 1)


class DistributedTrainer(Trainer):
    def __init__(self, *args, world: World, **kwargs):
        super().__init__(*args, **kwargs)
        self.world = world
        self.local_control = self.control
        self.group: Group | None = None
        self.lost: RankLost | None = None     # set when a peer went away

    # --- set-up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        if getattr(self, "model", None) is not None:
            return
        self.group = Group(self.world, rank_device(self.cfg.train.device, self.world))
        self.world, self.device = self.group.world, self.group.device
        self.control = SyncedControl(self.local_control, self.group)
        super().prepare()          # every rank seeds alike, so the weights start equal
        if self.resume_state is None and self.world.rank:
            torch.manual_seed(self.cfg.train.seed + self.world.rank)   # own dropout masks
        # no buffers in these models: nothing to broadcast at each forward
        ddp = DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda" else None,
                                      gradient_as_bucket_view=True)
        keep_until_exit(ddp)        # freeing it could hang this rank (ends_without_teardown)
        self.step_model = TimedForward(ddp, self.device)

    def _batchers(self):
        t = self.cfg.train
        return rank_batchers(self.corpus, t.batch_size, t.seq_length, self.device, self.world)

    def _restore(self, ck: dict[str, Any]) -> None:
        check_resume_world(ck, self.world.size, self.run_dir)
        super()._restore(ck)       # weights, optimizer, iteration, best; rank 0's RNG
        B, r = self.train_data.batch_size, self.world.rank
        hidden = ck.get("hidden", [])
        if hidden and hidden[0].shape[1] == self.world.size * B:   # (1, N*B, H): take our rows
            self.state = unflatten_state([t[:, r * B:(r + 1) * B].to(self.device) for t in hidden],
                                          self.model.cell)
        if "rng_cpu_ranks" in ck:
            torch.set_rng_state(ck["rng_cpu_ranks"][r])
            if self.device.type == "cuda" and ck.get("rng_cuda_ranks"):
                torch.cuda.set_rng_state(ck["rng_cuda_ranks"][r], self.device)

    def _started_event(self):
        w = self.world
        ev = super()._started_event()
        return dataclasses.replace(ev, world_size=w.size, backend=w.backend,
                                   device=f"{ev.device} x{w.size} ({w.backend})")

    # --- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            super()._loop()
        except RankLost as e:
            self.lost = e
            raise
        except Exception as e:
            if self.group is not None and is_peer_failure(e):
                self.lost = self.group.lost(e)
                raise self.lost from None
            raise

    def _report_steps(self, window, window_start: float, run_start: float) -> None:
        N = self.world.size
        losses = torch.stack(window).float()
        dist.all_reduce(losses)                      # the mean over ranks, not rank 0's alone
        forward_ms = self.step_model.take_ms()
        times = torch.tensor([forward_ms, -forward_ms], dtype=torch.float64)
        dist.all_reduce(times, op=dist.ReduceOp.MAX, group=self.group.control)
        values = (losses / N).tolist()
        now = time.perf_counter()
        chars = len(values) * N * self.train_data.chars_per_batch
        self.emit(StepsCompleted(
            iteration=self.iteration, epoch=self.iteration / len(self.train_data),
            losses=tuple(values), lr=self.lr, chars_per_sec=chars / max(now - window_start, 1e-9),
            elapsed_s=now - run_start, rank_ms_min=-float(times[1]), rank_ms_max=float(times[0])))

    # --- evals and checkpoints ----------------------------------------------------------------
    def evaluate(self) -> float:
        """The whole val split: each rank its streams, the means averaged (equal sizes); when the
        split has fewer streams than ranks, rank 0 alone and the others get its number."""
        if self.val_data is not None and self._val_sharded():
            loss = torch.tensor([mean_loss(self.model, self.val_data, self.device)], device=self.device)
            dist.all_reduce(loss)
            return float(loss) / self.world.size
        loss = torch.zeros(1, device=self.device)
        if self.world.rank == 0:
            loss += mean_loss(self.model, self.val_data, self.device)
        dist.broadcast(loss, src=0)
        return float(loss)

    def _val_sharded(self) -> bool:
        return val_sharded(len(self.corpus.val), self.cfg.train.seq_length, self.world.size)

    def _evaluate_and_save(self) -> None:
        if self.world.rank == 0:
            super()._evaluate_and_save()
            return
        # the others: the same collectives, in the same order, nothing written or sampled
        val = self.evaluate()
        self.last_val_loss = val
        is_best = val < self.best_val_loss
        self.best_val_loss = min(val, self.best_val_loss)
        self._save("last", kind="last")
        if is_best:
            self._save("best", kind="best")

    def _checkpoint(self, full: bool) -> dict[str, Any]:
        ck = super()._checkpoint(full)
        ck["world_size"] = self.world.size
        if full:
            # every rank's hidden state, rows in rank order: (1, N*B, H), the layout of one
            # process with batch N*B; and every rank's RNG, to go on exactly on resume
            mine = ([t.detach().cpu() for t in flatten_state(self.state)], torch.get_rng_state(),
                    torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None)
            ranks: list = [None] * self.world.size
            dist.all_gather_object(ranks, mine, group=self.group.control)
            ck["hidden"] = [torch.cat([r[0][i] for r in ranks], dim=1) for i in range(len(mine[0]))]
            ck["rng_cpu_ranks"] = [r[1] for r in ranks]
            ck["rng_cuda_ranks"] = [r[2] for r in ranks] if self.device.type == "cuda" else []
        return ck

    def _save(self, name: str, kind: str) -> None:
        if self.world.rank == 0:
            super()._save(name, kind)
        else:
            self._checkpoint(full=True)      # its part of the gather; rank 0 writes

    def _fail(self, message: str, tb: str, exit_status: int) -> None:
        if self.world.rank == 0:
            super()._fail(message, tb, exit_status)
            return
        failed = RunFailed(iteration=self.iteration, error=message, traceback=tb, exit_status=exit_status)
        for sink in self.sinks:
            sink(failed)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
