"""`tuirnn run`: train a model, under the live monitor on a terminal, else headless."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UserError
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


def load_corpus(cfg):
    """The config's corpus, split into train/val/test (a download shows a bar on stderr)."""
    from ..core.corpus import locate_corpus
    from ..core.data import Corpus, decode_corpus
    from .progress import download_progress_bar
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
    from ..core.checkpoint import load_checkpoint
    from ..core.control import Control
    from ..core.train import Trainer

    resume_state = None
    if args.resume:
        if args.config:
            raise UserError("give either a CONFIG or --resume RUN_DIR, not both "
                            "(change settings of a resumed run with --set)")
        run_dir = Path(args.resume)
        last = run_dir / "checkpoints" / "last.pt"
        if not last.is_file():
            raise UserError(f"{str(run_dir)!r} holds no checkpoints/last.pt to resume; "
                            "give a run folder made by tuirnn run")
        resume_state = load_checkpoint(last)
        cfg = config_mod.from_dict(resume_state["config"])
        saved_model = config_mod.from_dict(resume_state["config"]).model
        config_mod.apply_overrides(cfg, args.overrides)
        if cfg.model != saved_model:
            raise UserError("a resumed run keeps its model: model.* cannot change with --resume; "
                            "start a new run to try another size or cell")
    else:
        cfg = config_mod.load(args.config, args.overrides)
        run_dir = runlog.plan_run_dir(cfg, args.run_dir)

    corpus = load_corpus(cfg)
    control = Control()
    trainer = Trainer(cfg, run_dir, [], control, corpus, resume_state)
    trainer.prepare()  # bad sizes etc. fail here, before any folder or screen is touched
    clear_status()
    if resume_state is None:
        runlog.make_run_dir(run_dir)
    runlog.write_config(run_dir, cfg)
    history = []
    if resume_state is not None and (run_dir / "events.jsonl").exists():
        # the monitor shows the whole run: what came before, up to the checkpoint resumed
        upto = resume_state["iteration"]
        history = [ev for ev in runlog.read_events(run_dir / "events.jsonl")
                   if getattr(ev, "iteration", 0) <= upto]
    log = runlog.EventLog(run_dir / "events.jsonl")
    trainer.sinks.append(log)
    try:
        if args.headless or not sys.stdout.isatty():
            from .headless import run_headless
            return run_headless(trainer, control)
        from ..tui.app import run_monitor
        return run_monitor(trainer, control, history)
    finally:
        log.close()
