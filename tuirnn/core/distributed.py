"""Several processes, one run: the process group that torchrun (DDP) sets up around a Trainer.

torchrun starts one process per rank and tells each its place in the environment (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT). Rank r trains on streams [r*B, (r+1)*B) of the
split laid out for N*B streams, exactly as one process with batch N*B would; rank 0 is the run
(folder, events, checkpoints, socket). Backend: NCCL for CUDA tensors; gloo on CPU, and gloo
for the small per-step control collective in every case (a CPU tensor there means no GPU sync).
"""
from __future__ import annotations

import datetime
import os
import socket
import time
from typing import Any

import torch
import torch.distributed as dist

from .data import Batcher, val_batcher
from .errors import RankLost, UserError
from .procs import pid_alive
from .world import World

TIMEOUT_ENV = "TUIRNN_DIST_TIMEOUT"   # seconds a collective may wait for a rank
DEFAULT_TIMEOUT_S = 300.0             # past the longest rank-0 work others wait for (a sample)


def timeout_s() -> float:
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise UserError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds; "
                        f"unset it (default {DEFAULT_TIMEOUT_S:g}) or give e.g. 600") from None
    if not value > 0:
        raise UserError(f"{TIMEOUT_ENV} must be more than 0 seconds; got {text}")
    return value


def rank_device(setting: str, world: World) -> torch.device:
    """The device of this rank: cuda:LOCAL_RANK for auto/cuda on a GPU machine, else the CPU."""
    if setting in ("auto", "cuda") and torch.cuda.is_available():
        if world.local_rank >= torch.cuda.device_count():
            raise UserError(f"local rank {world.local_rank} has no GPU: this node has "
                            f"{torch.cuda.device_count()}; give --nproc_per_node at most that")
        return torch.device("cuda", world.local_rank)
    if setting == "cuda":
        raise UserError("train.device is 'cuda' but this machine has no CUDA GPU; use auto or cpu")
    if setting in ("auto", "cpu"):
        return torch.device("cpu")
    raise UserError(f"train.device {setting!r} under torchrun: each rank takes cuda:LOCAL_RANK "
                    "itself; set train.device to auto, cuda or cpu")


class Group:
    """The initialised process group of this rank: world, device, the control group and what
    it knows of its peers (host and pid, to name a rank that has gone)."""

    def __init__(self, world: World, device: torch.device):
        keep_until_exit(self)
        backend = "nccl" if device.type == "cuda" else "gloo"
        timeout = datetime.timedelta(seconds=timeout_s())
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            if device.type == "cuda":
                dist.init_process_group(backend, timeout=timeout, device_id=device)
            else:
                dist.init_process_group(backend, timeout=timeout)
        self.world = World(world.rank, world.size, world.local_rank, backend)
        self.device = device
        self.timeout_s = timeout.total_seconds()
        # the per-step control collective: CPU tensors on gloo, so NCCL runs never sync the host
        self.control = dist.group.WORLD if backend == "gloo" else dist.new_group(backend="gloo",
                                                                                timeout=timeout)
        peers: list = [None] * world.size
        dist.all_gather_object(peers, (socket.gethostname(), os.getpid()), group=self.control)
        self.peers: list[tuple[str, int]] = peers

    # --- failures ---------------------------------------------------------------------------
    def gone_ranks(self) -> list[int]:
        """Ranks on this host whose process has exited (or is a zombie torchrun has not reaped)."""
        here = socket.gethostname()
        return [r for r, (host, pid) in enumerate(self.peers)
                if host == here and r != self.world.rank and not pid_alive(pid)]

    def lost(self, error: BaseException) -> RankLost:
        """The one-line error for a collective that failed because a peer went away."""
        gone = self.gone_ranks()
        for _ in range(20):     # a killed peer's sockets close before it shows as exited
            if gone:
                break
            time.sleep(0.05)
            gone = self.gone_ranks()
        if gone:
            who = ", ".join(f"rank {r} (pid {self.peers[r][1]})" for r in gone)
            what = f"{who} {'has' if len(gone) == 1 else 'have'} exited"
        else:
            first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
            what = f"a rank on another node stopped answering ({first})"
        return RankLost(f"{what}; the run cannot go on without it", gone)

    def close(self) -> None:
        if dist.is_initialized():
            try:
                dist.destroy_process_group()
            except Exception:       # a peer gone: nothing left to tidy
                pass


class TimedForward:
    """The DDP module, timing each forward pass of this rank (no collective runs inside it, so a
    slow rank shows here even though DDP's backward makes every rank wait for the slowest).
    CPU: wall time; CUDA: events, read at log time only (no per-step sync)."""

    def __init__(self, module: Any, device: torch.device):
        self.module = module
        self.cuda = device.type == "cuda"
        self._cpu_s = 0.0
        self._events: list[Any] = []
        self._steps = 0

    def __call__(self, *args: Any) -> Any:
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


# The process group and what holds it (the DDP module: its C++ reducer holds the group), kept
# referenced until the process ends with os._exit (see ends_without_teardown).
_KEPT: list = []


def keep_until_exit(thing) -> None:
    _KEPT.append(thing)


def ends_without_teardown() -> bool:
    """Whether this process must end with os._exit once its work is done and its files closed,
    without freeing its process group: true once a group was set up here.

    Torch does not tear a gloo group down safely once DDP has wrapped a model. Its worker
    threads ("pt_gloo_runloop" in /proc/PID/task) outlive destroy_process_group. Met by the C++
    teardown at exit, they killed about 1 finished rank in 12 with SIGABRT ("terminate called
    without an active exception"), so torchrun called a clean run failed. And when the DDP
    module was freed after a peer had already gone, the group's destructor waited forever to
    join them (seen with gdb: ~ProcessGroupGloo in std::thread::join, from ~Reducer). So the
    group and the DDP module stay referenced here and nothing frees them: the process ends
    first. benchmarks/ddp_teardown.py counts runs that did not end with exit status 0.
    """
    return bool(_KEPT)


def is_peer_failure(error: BaseException) -> bool:
    """A collective that failed because another process went away (closed socket, timeout)."""
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return any(word in text for word in (
        "connection closed", "connection reset", "broken pipe", "timed out", "timeout",
        "gloo", "nccl", "socket", "peer"))


# --- data -------------------------------------------------------------------------------------
def val_sharded(val_chars: int, seq_length: int, world_size: int) -> bool:
    """Is the val split shared out (a stream for every rank), or evaluated by rank 0 alone?
    Every rank must decide alike: they then run the same collectives."""
    return (val_chars - 1) // seq_length >= world_size


def rank_batchers(corpus, batch_size: int, seq_length: int, device, world: World
                  ) -> tuple[Batcher, Batcher | None]:
    """(train, val) batches of this rank: its rows of the layout for world.size*batch_size
    streams. val is sharded the same way when it has a stream for every rank; otherwise rank 0
    evaluates alone (val None on the others)."""
    N, B, T = world.size, batch_size, seq_length
    try:
        whole = Batcher(corpus.train, N * B, T, "cpu", split="train")
    except UserError:
        need = N * B * T + 1
        raise UserError(
            f"the train split has {len(corpus.train):,} characters, fewer than one batch of "
            f"{N} ranks needs ({N} x batch_size {B} x seq_length {T} + 1 = {need:,}); lower "
            "train.batch_size or train.seq_length, use fewer ranks, or a bigger corpus") from None
    train = _rows(whole, world.rank * B, B, device)
    if val_sharded(len(corpus.val), T, N):
        per_rank = min(B, (len(corpus.val) - 1) // T // N)
        val = _rows(Batcher(corpus.val, N * per_rank, T, "cpu", split="val"),
                    world.rank * per_rank, per_rank, device)
        return train, val
    return train, val_batcher(corpus.val, B, T, device) if world.rank == 0 else None


def _rows(batcher: Batcher, start: int, count: int, device) -> Batcher:
    """Streams [start, start+count) of `batcher`, on `device` (rows: no copy of the others)."""
    batcher.x = batcher.x[start:start + count].contiguous().to(device)
    batcher.y = batcher.y[start:start + count].contiguous().to(device)
    batcher.batch_size = count
    return batcher


def check_resume_world(ck: dict, world_size: int, run_dir) -> None:
    """A checkpoint resumes only at the world size it was saved with (its hidden state and data
    position are laid out for that many ranks)."""
    saved = int(ck.get("world_size", 1))
    if saved == world_size:
        return
    ranks = lambda n: f"{n} rank{'s' if n != 1 else ''}"   # noqa: E731
    how = ("as one process (leave out --nproc and torchrun)" if saved == 1
           else f"with {ranks(saved)}: tuirnn run --resume {run_dir} --nproc {saved} "
                f"(or torchrun --nproc_per_node={saved})")
    raise UserError(f"{run_dir} was trained with {ranks(saved)} and this start has "
                    f"{ranks(world_size)}; resume {how}, or go on with {ranks(world_size)} in a new "
                    f"run from its weights: tuirnn run CONFIG --init-from {run_dir}/checkpoints/last.pt")
