"""How many processes train the run: the Trainer's collaborator for what differs with 1..N ranks.

The Trainer runs one loop; where ranks matter it calls its `dist` inline (nanoGPT's
ddp/master_process): `Solo` in one process (every call the identity), `Ranks` under torchrun.
Ranks run the same collectives in the same order, because every decision that changes the
run's course is taken once and applied on every rank at the same step:
  - each step boundary: SyncedControl's all-reduce (stop, pause, saves asked, rank 0 failed);
  - each log window: the losses (all-reduced mean) and the forward ms per rank (min/max); the
    divergence check then sees the same numbers on every rank;
  - each eval: the val loss (sharded, summed), so exploded/best/alerts agree;
  - a divergence: whether a monitor watches (rank 0 knows) is broadcast, so all pause or stop;
  - with a time budget, each log window: rank 0's training time and whether it is spent;
  - each save: every rank's hidden and RNG states, gathered for rank 0, which alone writes.
A write rank 0 cannot make (disk full) is held until the next step boundary, where every rank
ends the run together. A collective that fails because a peer went away is RankLost.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .control import SaveRequest, TrainerControl
from .data import Batcher, Corpus, val_batcher
from .device import pick_device
from .distributed import (
    Group,
    TimedForward,
    check_resume_world,
    is_peer_failure,
    keep_until_exit,
    rank_batchers,
    rank_device,
    val_sharded,
)
from .errors import RankLost, StorageError
from .evaluate import mean_loss
from .events import RunStarted
from .model import CharRNN, flatten_state
from .world import World

STOP, PAUSE, SAVES, FAIL = range(4)


class Solo:
    """One process: nothing to agree on, this process writes the run."""

    world = World()
    main = True                    # writes the run's files and speaks for it
    lost: RankLost | None = None
    followed = False               # ended because rank 0 did (never, alone)

    def device(self, setting: str) -> torch.device:
        return pick_device(setting)

    def start(self, device: torch.device) -> None:
        pass

    def control(self, local: TrainerControl) -> TrainerControl:
        return local

    def batchers(self, corpus: Corpus, batch_size: int, seq_length: int,
                 device: torch.device | str) -> tuple[Batcher, Batcher | None]:
        return (Batcher(corpus.train, batch_size, seq_length, device),
                val_batcher(corpus.val, batch_size, seq_length, device))

    def wrap(self, model: CharRNN, device: torch.device, seed: int, resumed: bool) -> Callable:
        return model

    def mean_losses(self, window: torch.Tensor, step_model: Any) -> tuple[list[float], float | None, float | None]:
        """(losses, fastest rank's forward ms, slowest's): the one host sync per window."""
        return window.float().tolist(), None, None

    def evaluate(self, model: CharRNN, val: Batcher | None, device: torch.device) -> float:
        assert val is not None
        return mean_loss(model, val, device)

    def from_main(self, flag: bool) -> bool:
        return flag

    def main_value(self, value: float) -> float:
        """Rank 0's number on every rank (the budget clock's training time)."""
        return value

    def states(self, state: Any, device: torch.device) -> dict[str, Any]:
        """The checkpoint's hidden and RNG states."""
        return {"hidden": [t.detach().cpu() for t in flatten_state(state)],
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []}

    def restore(self, ck: dict[str, Any], batch_size: int, device: torch.device,
                run_dir: Any) -> list[torch.Tensor] | None:
        """Set this process's RNG from `ck`; its hidden rows (None: they do not fit)."""
        check_resume_world(ck, self.world.size, run_dir)
        torch.set_rng_state(ck["rng_cpu"])
        if device.type == "cuda" and ck.get("rng_cuda"):
            torch.cuda.set_rng_state_all(list(ck["rng_cuda"]))
        hidden = [t.to(device) for t in ck.get("hidden", [])]
        return hidden if hidden and hidden[0].shape[1] == batch_size else None

    def started(self, event: RunStarted) -> RunStarted:
        return event

    def failed(self, error: StorageError) -> None:
        """Rank 0 could not write: alone, the run ends at once."""
        raise error

    def settle(self) -> None:
        """The run's end: every rank learns whether rank 0's last writes failed."""

    def peer_failure(self, error: BaseException) -> RankLost | None:
        return None

    def close(self) -> None:
        pass


class Ranks(Solo):
    """One rank of a torchrun: DDP for the gradients, collectives for everything agreed."""

    def __init__(self, world: World):
        self.world = world
        self.main = world.rank == 0
        self.group: Group | None = None
        self.synced: SyncedControl | None = None
        self.sharded = False        # the val split has streams for every rank

    def device(self, setting: str) -> torch.device:
        return rank_device(setting, self.world)

    def start(self, device: torch.device) -> None:
        self.group = Group(self.world, device)
        self.world = self.group.world              # now with its backend

    def control(self, local: TrainerControl) -> TrainerControl:
        self.synced = SyncedControl(local, self)
        return self.synced

    def batchers(self, corpus: Corpus, batch_size: int, seq_length: int,
                 device: torch.device | str) -> tuple[Batcher, Batcher | None]:
        self.sharded = val_sharded(len(corpus.val), seq_length, self.world.size)
        return rank_batchers(corpus, batch_size, seq_length, device, self.world)

    def wrap(self, model: CharRNN, device: torch.device, seed: int, resumed: bool) -> Callable:
        if not resumed and self.world.rank:
            torch.manual_seed(seed + self.world.rank)    # weights start equal; own dropout masks
        # no buffers in these models: nothing to broadcast at each forward
        ddp = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None,
                                      gradient_as_bucket_view=True)
        keep_until_exit(ddp)        # freeing it could hang this rank (ends_without_teardown)
        return TimedForward(ddp, device)

    def _cpu_group(self) -> Any:
        assert self.group is not None
        return self.group.control

    def mean_losses(self, window: torch.Tensor, step_model: Any) -> tuple[list[float], float | None, float | None]:
        losses = window.float()
        dist.all_reduce(losses)                      # the mean over ranks, not rank 0's alone
        ms = step_model.take_ms()
        times = torch.tensor([ms, -ms], dtype=torch.float64)
        dist.all_reduce(times, op=dist.ReduceOp.MAX, group=self._cpu_group())
        return (losses / self.world.size).tolist(), -float(times[1]), float(times[0])

    def evaluate(self, model: CharRNN, val: Batcher | None, device: torch.device) -> float:
        """Each rank its val streams, the means averaged (equal sizes); with fewer streams than
        ranks, rank 0 alone (val None on the others) and the others get its number."""
        loss = torch.zeros(1, device=device)
        if val is not None:
            loss += mean_loss(model, val, device)
        if self.sharded:
            dist.all_reduce(loss)
            return float(loss) / self.world.size
        dist.broadcast(loss, src=0)
        return float(loss)

    def from_main(self, flag: bool) -> bool:
        t = torch.tensor([int(flag)], dtype=torch.int64)
        dist.broadcast(t, src=0, group=self._cpu_group())
        return bool(t)

    def main_value(self, value: float) -> float:
        t = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(t, src=0, group=self._cpu_group())
        return float(t)

    def states(self, state: Any, device: torch.device) -> dict[str, Any]:
        # every rank's hidden state, rows in rank order: (1, N*B, H), the layout of one
        # process with batch N*B; and every rank's RNG, to go on exactly on resume
        mine = ([t.detach().cpu() for t in flatten_state(state)], torch.get_rng_state(),
                torch.cuda.get_rng_state(device) if device.type == "cuda" else None)
        ranks: list[Any] = [None] * self.world.size
        dist.all_gather_object(ranks, mine, group=self._cpu_group())
        return {"world_size": self.world.size,
                "hidden": [torch.cat([r[0][i] for r in ranks], dim=1) for i in range(len(mine[0]))],
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
                "rng_cpu_ranks": [r[1] for r in ranks],
                "rng_cuda_ranks": [r[2] for r in ranks] if device.type == "cuda" else []}

    def restore(self, ck: dict[str, Any], batch_size: int, device: torch.device,
                run_dir: Any) -> list[torch.Tensor] | None:
        check_resume_world(ck, self.world.size, run_dir)
        B, r = batch_size, self.world.rank
        if "rng_cpu_ranks" in ck:
            torch.set_rng_state(ck["rng_cpu_ranks"][r])
            if device.type == "cuda" and ck.get("rng_cuda_ranks"):
                torch.cuda.set_rng_state(ck["rng_cuda_ranks"][r], device)
        hidden = ck.get("hidden", [])
        if hidden and hidden[0].shape[1] == self.world.size * B:   # (1, N*B, H): take our rows
            return [t[:, r * B:(r + 1) * B].to(device) for t in hidden]
        return None

    def started(self, event: RunStarted) -> RunStarted:
        w = self.world
        return dataclasses.replace(event, world_size=w.size, backend=w.backend,
                                   device=f"{event.device} x{w.size} ({w.backend})")

    def failed(self, error: StorageError) -> None:
        assert self.synced is not None
        if self.synced.failure is None:
            self.synced.failure = error          # raised on every rank at the next boundary

    def settle(self) -> None:
        if self.synced is not None:
            self.synced.sync()

    def peer_failure(self, error: BaseException) -> RankLost | None:
        if isinstance(error, RankLost):
            self.lost = error
        elif self.group is not None and is_peer_failure(error):
            self.lost = self.group.lost(error)
        return self.lost

    def close(self) -> None:
        if self.group is not None:
            self.group.close()


class SyncedControl:
    """The Control as every rank sees it, agreed once per step boundary.

    The trainer reads `has_work` once per step: that read is the collective (an all-reduce MAX
    of four ints on the gloo group). Rank 0 contributes its pause flag, how many saves it was
    asked for (it takes its requests there, so it answers exactly what it announced) and
    whether a write of its failed; every rank contributes its own stop flag, so a signal on any
    rank stops all of them at the same step. While paused, `wait` is a collective every
    `timeout` seconds, so no rank ever waits longer than that (plus rank 0's answer) for others.
    """

    def __init__(self, local: TrainerControl, ranks: Ranks):
        self.local = local
        self.ranks = ranks
        self.rank = ranks.world.rank
        self.failure: StorageError | None = None   # rank 0's write that failed, not yet told
        self._flags = torch.zeros(4, dtype=torch.int64)
        self._paused = self._stopped = False
        self._pending: list[Any] = []
        self.sync_s = 0.0          # time spent in the collective (the benchmark reads it)
        self.syncs = 0

    def sync(self) -> None:
        taken = self.local.take()
        if self.rank == 0:
            self._pending += taken          # sample/probe/save, answered on rank 0
        f = self._flags
        f.zero_()
        f[STOP] = self.local.stopped
        f[FAIL] = self.failure is not None
        if self.rank == 0:
            f[PAUSE] = self.local.paused
            f[SAVES] = sum(isinstance(r, SaveRequest) for r in self._pending)
        start = time.perf_counter()
        dist.all_reduce(f, op=dist.ReduceOp.MAX, group=self.ranks._cpu_group())
        self.sync_s += time.perf_counter() - start
        self.syncs += 1
        if f[FAIL]:
            if self.failure is not None:
                raise self.failure
            self.ranks.followed = True       # rank 0 says why, in its own words
            raise RankLost("rank 0 could not write the run folder; it says why")
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

    def pause(self) -> None:
        """Every rank calls it at the same point (a divergence); rank 0's flag is agreed at the
        next boundary."""
        self.local.pause()

    def stop(self) -> None:
        self.local.stop()

    def take(self) -> list[Any]:
        out, self._pending = self._pending, []
        return out

    def wait(self, timeout: float) -> None:
        if self.rank == 0:
            self.local.wait(timeout)
        self.sync()
