"""`tuirnn run`: train a model, under the live monitor on a terminal, else headless."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..core.errors import StorageError, UserError
from ..core.world import World, launched, world_from_env
from . import launch
from .status import clear_status, show_status

if TYPE_CHECKING:
    from ..core.ranks import Solo
    from ..core.runfolder import RunLock
    from ..remote.server import ControlServer
    from .plan import Plan


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="train a model (live monitor on a terminal, else headless)",
                       description="Train a character-level RNN. With no CONFIG, trains a small LSTM "
                                   "on the Python standard library's source (no download needed).")
    p.add_argument("config", nargs="?", help="YAML config, e.g. configs/tiny.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, typed like YAML: --set train.max_iters=200")
    p.add_argument("--headless", action="store_true",
                   help="no monitor: progress bar and log lines (automatic when stdout is not a terminal)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run saved in RUN_DIR")
    p.add_argument("--run-dir", metavar="DIR", help="use exactly DIR as the run folder")
    p.add_argument("--init-from", metavar="CHECKPOINT",
                   help="a new run starting from another run's weights (a .pt file, or a run "
                        "folder: its best.pt); the model's shape comes from it")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train with N processes on this machine (one per GPU), through torchrun")


def load_corpus(cfg):
    """The config's corpus, split into train/val/test (a download shows a bar on stderr)."""
    from ..core.corpus import locate_corpus
    from ..core.data import Corpus, decode_corpus
    from ..core.device import pick_device
    from ..core.model import check_fits
    from .progress import download_progress_bar
    # even a 1-character vocabulary: a model too big fails before the corpus is read
    check_fits(1, cfg.model, pick_device(cfg.train.device))
    where = cfg.data.path or cfg.data.url or "the Python standard library's source"
    show_status(f"tuirnn: reading the corpus ({where}) ...")
    with download_progress_bar() as progress:
        name, raw = locate_corpus(cfg.data, progress)
    text = decode_corpus(raw, name, cfg.data.normalize_newlines)
    del raw
    corpus = Corpus.from_text(text, name, cfg.data.val_frac, cfg.data.test_frac)
    show_status(f"tuirnn: building the model ({cfg.model.cell} {cfg.model.num_layers}x{cfg.model.hidden_size}) ...")
    return corpus


def main(args) -> int:
    """What happens before step 1, for one process or any rank of a torchrun:
    --nproc: exec torchrun (which starts this again on each rank). In a terminal: start the
    trainer as a process of its own and be its monitor. Else: the plan, then the corpus (bad
    input fails here, before a folder exists), then the folder and its lock, the sinks (events,
    signals, control socket, printer) and the Trainer, complete, which runs."""
    if args.nproc is not None:
        return launch.start_torchrun(args)
    world = world_from_env()
    if world.rank > 0:        # under torchrun: rank 0 is the run, the others follow quietly
        return follow(args, world)
    if not args.headless and sys.stdout.isatty() and not (launched() or launch.in_trainer_process()):
        # the trainer in a process of its own (it outlives this terminal), this one its monitor
        return launch.start_and_monitor(launch.trainer_argv(args))
    from ..core import runlog  # torch, only once a run starts: other commands start fast
    from .plan import make_plan
    lock = None
    try:
        if args.resume:
            # the lock first: a live run is refused at once, and no one writes while we read
            run_dir = Path(args.resume)
            if not run_dir.is_dir() or not runlog.holds_run(run_dir):
                raise UserError(f"{str(run_dir)!r} holds no checkpoints/last.pt to resume; "
                                "give a run folder made by tuirnn run")
            lock, _ = runlog.open_run_dir(run_dir)
        return _train(make_plan(args, world), lock)
    except StorageError as e:
        clear_status()
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    finally:
        if lock is not None:
            lock.release()


def _train(plan: Plan, lock: RunLock | None) -> int:
    from ..core import runlog
    from ..core.control import Control
    from ..core.events import CheckpointSaved, RunResumed
    from ..core.ranks import Ranks, Solo
    from ..core.train import Trainer
    from ..remote.server import ControlServer
    from .headless import HeadlessPrinter, run_headless
    from .plan import announce, preflight
    from .stopping import StopSignals
    corpus = load_corpus(plan.cfg)
    dist: Solo = Ranks(plan.world) if launched() else Solo()
    preflight(plan, corpus, dist)       # bad sizes etc. fail here, before any folder or screen
    clear_status()
    if plan.init_from is not None:
        print(announce(plan.init_from), flush=True)
    control = Control()
    # from here a signal stops the run and saves: the folder never exists without an owner
    stops = StopSignals(control).install()
    run_dir = plan.run_dir
    try:
        if lock is None:
            run_dir, lock = runlog.make_run_dir(run_dir, exact=plan.exact)
    except BaseException:
        stops.restore()
        raise
    log = server = trainer = None
    try:
        runlog.write_config(run_dir, plan.cfg)
        stops.run_dir = run_dir
        history: list = []
        if plan.kind == "resume":
            upto, state = plan.resumed_from or 0, plan.resume_state
            if state is not None:
                stops.kept = CheckpointSaved(upto, state.get("path", ""), "last", state.get("val_loss"))
            if (run_dir / "events.jsonl").exists():
                # the monitor shows the whole run: what came before, up to where it goes on
                past = runlog.read_events(run_dir / "events.jsonl", raw=True)
                history = runlog.drop_abandoned([*past, RunResumed(upto)])[:-1]
        log = runlog.EventLog(run_dir / "events.jsonl")
        # every live run serves its control socket: monitors, attach, stop and ls are clients
        server = ControlServer(run_dir, control, history).start()
        printer = HeadlessPrinter()
        trainer = Trainer(plan.cfg, run_dir, [log, stops, server, printer], control, corpus,
                          plan.resume_state, init_from=plan.init_from,
                          resumed_from=plan.resumed_from, dist=dist,
                          watched=watched_by(server, launch.in_trainer_process()))
        launch.announce_ready(run_dir)          # a monitor that started us attaches now
        return run_headless(trainer, control, printer, stops)
    finally:
        if server is not None:
            server.close()
        if log is not None:
            log.close()
        lock.release()
        if trainer is not None:
            trainer.close()


def watched_by(server: ControlServer, started_by_monitor: bool) -> Callable[[], bool]:
    """Does a monitor watch this run now? Decides what a divergence does: pause (a monitor
    shows it, the user decides) or stop, save last.pt and exit 1 (nobody would see a pause).
    Watched: a client is attached, or `tuirnn run` in a terminal started this trainer and its
    monitor has not attached yet (it is on its way). A run started headless with no client
    attached, or whose every monitor has detached, is not watched."""
    return lambda: server.clients > 0 or (started_by_monitor and server.greeted_ever == 0)


# --- ranks 1..N-1 -------------------------------------------------------------------------------
def follow(args, world: World) -> int:
    """One rank other than 0: the same plan and training on its own streams; no folder, log or
    socket, silent unless it fails in a way rank 0 cannot report (rank 0 itself gone)."""
    from .plan import make_plan
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        try:
            return _follow(make_plan(args, world))
        except UserError as e:       # rank 0 read the same config and data: it says it
            return e.exit_code


def _follow(plan: Plan) -> int:
    from ..core.control import Control
    from ..core.events import RunFailed
    from ..core.ranks import Ranks
    from ..core.train import Trainer
    from .stopping import StopSignals
    os.environ.pop(launch.READY_FILE_ENV, None)
    corpus = load_corpus(plan.cfg)
    control = Control()
    StopSignals(control, say=lambda text: None).install()   # rank 0 speaks for the run
    failures: list[RunFailed] = []
    dist = Ranks(plan.world)
    def collect(ev: object) -> None:
        if isinstance(ev, RunFailed):
            failures.append(ev)

    trainer = Trainer(plan.cfg, plan.run_dir, [collect], control, corpus, plan.resume_state, init_from=plan.init_from,
                      resumed_from=plan.resumed_from, dist=dist)
    try:
        trainer.run()
    finally:
        trainer.close()
    if not failures:
        return 0
    failed, lost = failures[-1], dist.lost
    # bad input, or rank 0's own failure: rank 0 says it
    own = lost is None and failed.exit_status != 2 and not dist.followed
    if own or (lost is not None and not dist.followed and _speaks_for_rank0(dist.world, lost.ranks)):
        print(f"error: rank {dist.world.rank}: {failed.error}", file=sys.stderr)
    return failed.exit_status


def _speaks_for_rank0(world: World, gone: list[int]) -> bool:
    """When rank 0 is gone, the lowest rank still alive says why the run ended."""
    if 0 not in gone:
        return False
    alive = [r for r in range(world.size) if r not in gone]
    return bool(alive) and world.rank == alive[0]
