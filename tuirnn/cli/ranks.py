"""`tuirnn run` under torchrun: rank 0 is the run, the other ranks follow it quietly.

    torchrun --nproc_per_node=N -m tuirnn run CONFIG [--headless]   (any torchrun launch)
    tuirnn run CONFIG --nproc N                                     (the same, one node)

--nproc execs torch.distributed.run (torchrun's own module) with --standalone; in a terminal
the trainer is that torchrun, started in a session of its own like any trainer process, and
the monitor attaches to rank 0's socket. Rank 0 goes through run.py's usual path (folder, lock,
events, socket, headless printer) with a DistributedTrainer; `follow` is every other rank:
no folder, no log, no socket, and nothing printed but its own errors.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ..core.errors import UserError


def world():
    from ..core.world import world_from_env  # torch-free: a refusal stays quick
    return world_from_env()


def make_trainer(cfg, run_dir: Path, control, corpus, resume_state, init=None):
    """The Trainer for this process: one rank of several under torchrun, else the plain one.
    init: the --init-from checkpoint whose weights a new run starts from."""
    from ..core.train import Trainer
    from ..core.world import launched
    if not launched():
        trainer = Trainer(cfg, run_dir, [], control, corpus, resume_state)
    else:
        from ..core.ddp_trainer import DistributedTrainer
        trainer = DistributedTrainer(cfg, run_dir, [], control, corpus, resume_state, world=world())
    trainer.init_from = init
    return trainer


def check_world(resume_state, run_dir: Path) -> None:
    """A resumed run goes on at the world size it was saved with (one clear line otherwise)."""
    from ..core.distributed import check_resume_world
    if resume_state is not None:
        check_resume_world(resume_state, world().size, run_dir)


# --- --nproc: torchrun for one node -------------------------------------------------------------
def torchrun_argv(args) -> list[str]:
    """The torchrun command (as python -m torch.distributed.run) that trains `args` on one node."""
    from . import launch
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={args.nproc}", "--module", "tuirnn", *launch.trainer_argv(args)]


def start_torchrun(args) -> int:
    from ..core.world import launched
    from . import launch
    if launched():
        raise UserError("--nproc starts torchrun itself; under torchrun leave --nproc out")
    if not 1 <= args.nproc <= 1024:
        raise UserError(f"--nproc must be between 1 and 1024 processes; got {args.nproc}")
    argv = torchrun_argv(args)
    # torch's CPU threads split over the ranks (torchrun would set 1 and warn)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))
    if args.headless or not sys.stdout.isatty():
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)
    return launch.start_and_monitor(argv[3:], launcher=argv[:3])


# --- ranks 1..N-1 -------------------------------------------------------------------------------
def follow(args) -> int:
    """One rank other than 0: the same training on its own streams, silent unless it fails
    in a way rank 0 cannot report (rank 0 itself gone)."""
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        try:
            return _follow(args)
        except UserError as e:       # rank 0 read the same config and data: it says it
            return e.exit_code


def _follow(args) -> int:
    from ..core import config as config_mod
    from ..core.control import Control
    from ..core.events import RunFailed
    from .run import load_corpus, resume_plan
    from .stopping import StopSignals

    run_dir = Path(args.resume) if args.resume else Path(args.run_dir or ".")
    if args.resume:
        cfg, resume_state = resume_plan(run_dir, args.overrides)
        check_world(resume_state, run_dir)
    else:
        cfg, resume_state = config_mod.load(args.config, args.overrides), None
    init = None
    if args.init_from and not args.resume:
        from . import init_from
        cfg, init = init_from.plan(args.init_from, cfg, args.overrides)
    os.environ.pop("TUIRNN_READY_FILE", None)
    corpus = load_corpus(cfg)
    control = Control()
    StopSignals(control, say=lambda text: None).install()   # rank 0 speaks for the run
    trainer = make_trainer(cfg, run_dir, control, corpus, resume_state, init)
    failures: list[RunFailed] = []
    trainer.sinks.append(lambda ev: failures.append(ev) if isinstance(ev, RunFailed) else None)
    try:
        trainer.run()
    finally:
        trainer.close()
    if not failures:
        return 0
    failed, lost = failures[-1], getattr(trainer, "lost", None)
    own = lost is None and failed.exit_status != 2    # bad input: rank 0 read the same and says it
    if own or (lost is not None and _speaks_for_rank0(trainer, lost.ranks)):
        print(f"error: rank {trainer.world.rank}: {failed.error}", file=sys.stderr)
    return failed.exit_status


def _speaks_for_rank0(trainer, gone: list[int]) -> bool:
    """When rank 0 is gone, the lowest rank still alive says why the run ended."""
    if 0 not in gone:
        return False
    alive = [r for r in range(trainer.world.size) if r not in gone]
    return bool(alive) and trainer.world.rank == alive[0]
