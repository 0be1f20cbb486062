"""Command line: `tuirnn run`, `tuirnn sample`, `tuirnn neurons`.

Bad input anywhere ends as one line on stderr and exit status 2 (UserError), no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import UserError


def _add_run(sub) -> None:
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


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a checkpoint (like char-rnn's sample.lua)",
                       description="Generate text from a checkpoint and stream it to stdout.")
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--length", "-n", type=int, default=2000, help="characters to generate (2000)")
    p.add_argument("--temperature", "-t", type=float, default=1.0, help="softmax temperature (1.0)")
    p.add_argument("--top-k", type=int, default=0, help="sample only from the k likeliest (0: all)")
    p.add_argument("--prime", default="", help="text to start from (printed first)")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same text)")
    p.add_argument("--argmax", action="store_true", help="always take the likeliest character")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuirnn", description="Train character-level RNN/LSTM/GRU models and watch them learn.")
    parser.add_argument("--version", action="version", version=f"tuirnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{run,sample,neurons}")
    _add_run(sub)
    _add_sample(sub)
    try:
        from . import neurons_cli
    except ImportError:
        neurons_cli = None
    if neurons_cli is not None:
        neurons_cli.add_parser(sub)
    return parser


def _load_corpus(cfg):
    from .corpus import locate_corpus
    from .data import Corpus, decode_corpus
    from .progress import download_progress_bar
    where = cfg.data.path or cfg.data.url or "the Python standard library's source"
    show_status(f"tuirnn: reading the corpus ({where}) ...")
    with download_progress_bar() as progress:
        name, raw = locate_corpus(cfg.data, progress)
    text = decode_corpus(raw, name, cfg.data.normalize_newlines)
    del raw
    corpus = Corpus.from_text(text, name, cfg.data.val_frac)
    show_status(f"tuirnn: building the model ({cfg.model.cell} {cfg.model.num_layers}x{cfg.model.hidden_size}) ...")
    return corpus


def show_status(message: str) -> None:
    """A transient line on a terminal's stderr while the slow start-up work runs (corpus,
    model); the next status, the monitor or an error line replaces it. Nothing on a pipe."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()


def clear_status() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def cmd_run(args) -> int:
    from . import config as config_mod
    from . import runlog
    from .checkpoint import load_checkpoint
    from .control import Control
    from .train import Trainer

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

    corpus = _load_corpus(cfg)
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
        from .ui.app import run_monitor
        return run_monitor(trainer, control, history)
    finally:
        log.close()


def cmd_sample(args) -> int:
    from .checkpoint import model_from_checkpoint
    from .sample import generate
    from .train import pick_device

    if args.length < 0:
        raise UserError("--length must be 0 or more")
    if args.temperature <= 0 and not args.argmax:
        raise UserError("--temperature must be greater than 0 (or use --argmax)")
    if args.top_k < 0:
        raise UserError("--top-k must be 0 (all characters) or more")
    device = pick_device(args.device, "--device")
    model, vocab, _ = model_from_checkpoint(args.checkpoint, device)
    out = sys.stdout
    chars = generate(model, vocab, args.length, args.prime, args.temperature, args.top_k,
                     args.seed, args.argmax, device)
    first = next(chars, "")  # raises UserError for a bad prime before anything is printed
    out.write(args.prime + first)
    for i, ch in enumerate(chars):
        out.write(ch)
        if i % 64 == 0:
            out.flush()
    out.write("\n")
    out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `tuirnn` explains itself rather than start hours of training
        parser.print_help()
        print("\nStart with:  tuirnn run configs/tiny.yaml   (or `tuirnn run` for the offline default)")
        return 0
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "sample":
            return cmd_sample(args)
        from . import neurons_cli
        return neurons_cli.main(args)
    except UserError as e:
        clear_status()
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tuirnn sample ... | head`
        sys.stderr.close()
        return 0
