"""The command a user typed to start tuirnn, so hints name one that works for them."""
from __future__ import annotations

import os
import shlex
from pathlib import Path


def program() -> str:
    """`tuirnn`, or what launched it: ./tuirnn.sh exports TUIRNN_PROG as it was invoked."""
    return os.environ.get("TUIRNN_PROG") or "tuirnn"


def resume_hint(run_dir: str | Path) -> str:
    """The whole command that continues a run, quoted for a POSIX shell (copy-paste safe)."""
    ranks = int(os.environ.get("WORLD_SIZE", "1") or 1)   # under torchrun: the same ranks again
    nproc = f" --nproc {ranks}" if ranks > 1 else ""
    return f"{program()} run --resume {shlex.quote(str(run_dir))}{nproc}"
