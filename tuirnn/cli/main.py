"""Command line entry: `tuirnn run|sample|neurons`; each command lives in a module of its own
with `add_parser(subparsers)` and `main(args) -> exit status`.

Bad input anywhere ends as one line on stderr and exit status 2 (UserError), no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from .. import __version__
from ..core.errors import UserError
from . import (
    attach,
    baseline,
    compare,
    config_cmd,
    errors_cmd,
    export,
    ls,
    neurons,
    run,
    sample,
    samples,
    serve,
    stop,
)
from . import eval as eval_cmd
from .hints import program
from .status import clear_status

COMMANDS = {"run": run, "sample": sample, "neurons": neurons, "ls": ls, "stop": stop, "attach": attach,
            "serve": serve, "eval": eval_cmd, "samples": samples, "compare": compare,
            "config": config_cmd, "export": export, "baseline": baseline,
            "errors": errors_cmd}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program(), description="Train character-level RNN/LSTM/GRU models and watch them learn.")
    parser.add_argument("--version", action="version", version=f"tuirnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `tuirnn` explains itself rather than start hours of training
        parser.print_help()
        print(f"\nStart with:  {program()} run configs/tiny.yaml   (or `{program()} run` for the offline default)")
        return 0
    try:
        return COMMANDS[args.command].main(args)
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


def console() -> NoReturn:
    """The `tuirnn` program (console script and `python -m tuirnn`): main(), then exit."""
    status = main()
    distributed = sys.modules.get("tuirnn.core.distributed")
    if distributed is not None and distributed.ends_without_teardown():
        # a rank: all written and closed; skip the teardown that torch's leftover threads abort in
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)
