"""`tuirnn run`: train a model, under the live monitor on a terminal, else headless."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UserError
from . import init_from, launch
from .status import clear_status, show_status


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
    from ..core import config as config_mod
    from ..core import runlog
    from ..core.errors import StorageError

    if args.resume and args.config:
        raise UserError("give either a CONFIG or --resume RUN_DIR, not both "
                        "(change settings of a resumed run with --set)")
    if args.resume and args.init_from:
        raise UserError("--resume continues a run and --init-from starts a new one from "
                        "another's weights: give one of them")
    from . import ranks
    if args.nproc is not None:
        return ranks.start_torchrun(args)
    if ranks.world().rank > 0:        # under torchrun: rank 0 is the run, the others follow
        return ranks.follow(args)
    launched = ranks.world().size > 1 or launch.in_trainer_process()
    if not args.headless and sys.stdout.isatty() and not launched:
        # the trainer in a process of its own (it outlives this terminal), this one its monitor
        return launch.start_and_monitor(launch.trainer_argv(args))
    lock = init = None
    try:
        if args.resume:
            # the lock first: a live run is refused at once, and no one writes while we read
            run_dir = Path(args.resume)
            if not run_dir.is_dir() or not runlog.holds_run(run_dir):
                raise UserError(f"{str(run_dir)!r} holds no checkpoints/last.pt to resume; "
                                "give a run folder made by tuirnn run")
            lock, _ = runlog.open_run_dir(run_dir)
            cfg, resume_state = resume_plan(run_dir, args.overrides)
            ranks.check_world(resume_state, run_dir)
        else:
            cfg = config_mod.load(args.config, args.overrides)
            if args.init_from:
                cfg, init = init_from.plan(args.init_from, cfg, args.overrides)
            run_dir = runlog.plan_run_dir(cfg, args.run_dir)
            resume_state = None
        return _train(args, cfg, run_dir, lock, resume_state, init)
    except StorageError as e:
        clear_status()
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    finally:
        if lock is not None:
            lock.release()


def _train(args, cfg, run_dir: Path, lock, resume_state, init=None) -> int:
    from ..core import runlog
    from ..core.control import Control
    from ..core.events import CheckpointSaved, RunResumed
    from ..remote.server import ControlServer
    from .launch import announce_ready
    from .ranks import make_trainer
    from .stopping import StopSignals

    corpus = load_corpus(cfg)
    control = Control()
    trainer = make_trainer(cfg, run_dir, control, corpus, resume_state, init)
    trainer.prepare()  # bad sizes etc. fail here, before any folder or screen is touched
    clear_status()
    if init is not None:
        print(init_from.announce(init), flush=True)
    # from here a signal stops the run and saves: the folder never exists without an owner
    stops = StopSignals(control).install()
    try:
        if lock is None:
            run_dir, lock = runlog.make_run_dir(run_dir, exact=args.run_dir is not None)
            trainer.run_dir = run_dir
    except BaseException:
        stops.restore()
        raise
    log = server = None
    try:
        runlog.write_config(run_dir, cfg)
        stops.run_dir = run_dir
        history = []
        if args.resume:
            upto = resume_state["iteration"] if resume_state is not None else 0
            trainer.resumed_from = upto
            if resume_state is not None:
                stops.kept = CheckpointSaved(upto, resume_state.get("path", ""), "last",
                                             resume_state.get("val_loss"))
            if (run_dir / "events.jsonl").exists():
                # the monitor shows the whole run: what came before, up to where it goes on
                past = runlog.read_events(run_dir / "events.jsonl", raw=True)
                history = runlog.drop_abandoned([*past, RunResumed(upto)])[:-1]
        log = runlog.EventLog(run_dir / "events.jsonl")
        # every live run serves its control socket: monitors, attach, stop and ls are clients
        server = ControlServer(run_dir, control, history).start()
        trainer.sinks += [log, stops, server]
        trainer.watched = watched_by(server, launch.in_trainer_process())
        announce_ready(run_dir)          # a monitor that started us attaches now
        from .headless import run_headless
        return run_headless(trainer, control, stops)
    finally:
        if server is not None:
            server.close()
        if log is not None:
            log.close()
        lock.release()
        trainer.close()


def watched_by(server, started_by_monitor: bool):
    """Does a monitor watch this run now? Decides what a divergence does: pause (a monitor
    shows it, the user decides) or stop, save last.pt and exit 1 (nobody would see a pause).
    Watched: a client is attached, or `tuirnn run` in a terminal started this trainer and its
    monitor has not attached yet (it is on its way). A run started headless with no client
    attached, or whose every monitor has detached, is not watched."""
    return lambda: server.clients > 0 or (started_by_monitor and server.greeted_ever == 0)


# Keys a resumed run cannot change, and why (the saved state depends on them).
FROZEN_ON_RESUME = {
    "train.optimizer": "the saved optimizer state belongs to {old}",
    "train.batch_size": "it sets where in the data the run goes on",
    "train.seq_length": "it sets where in the data the run goes on",
    "train.seed": "the saved random state goes on from where it was",
}


def resume_plan(run_dir: Path, overrides: list[str]):
    """(config in force, checkpoint state or None) for --resume RUN_DIR; UserError for an
    override the saved state cannot honour. A folder whose process died before its first
    checkpoint restarts from iteration 0 with its config.yaml (and says so)."""
    from ..core import config as config_mod
    from ..core.checkpoint import load_checkpoint, resume_checkpoint
    last = resume_checkpoint(run_dir)   # a broken last.pt beside saved work is refused there
    if last is None:
        if not (run_dir / "config.yaml").is_file():
            raise UserError(f"{str(run_dir)!r} holds no checkpoints/last.pt or config.yaml to "
                            "resume; give a run folder made by tuirnn run")
        cfg = config_mod.load(run_dir / "config.yaml", overrides)
        print(f"resuming {run_dir}: no checkpoint was saved yet, so it starts again from "
              "iteration 0 with its config.yaml", flush=True)
        return cfg, None
    state = load_checkpoint(last, resumable=True)
    saved = config_mod.from_dict(state["config"])
    cfg = config_mod.apply_overrides(config_mod.from_dict(state["config"]), overrides)
    if cfg.model != saved.model:
        raise UserError("a resumed run keeps its model: model.* cannot change with --resume; "
                        "start a new run to try another size or cell")
    old, new = _flat(saved.to_dict()), _flat(cfg.to_dict())
    for key in sorted(new):
        if old.get(key) == new[key]:
            continue
        why = FROZEN_ON_RESUME.get(key)
        if why is None and key.startswith("data.") and key not in ("data.path", "data.url", "data.sha256"):
            why = "it changes the text the run trains and validates on"
        if why is not None:
            raise UserError(f"{key} cannot change with --resume ({why.format(old=old.get(key))}); "
                            "start a new run to change it")
    return cfg, state


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
