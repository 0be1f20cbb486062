"""The command a user typed to start tuirnn, so hints name one that works for them.

One hint for every way a run stops (`q`, Ctrl+C, SIGTERM, `tuirnn stop`, a headless run):

    ./tuirnn.sh run --resume /home/me/tuirnn/runs/tiny-20261126-140512

the program as it was launched, and the run folder as an absolute path (it works from any folder).
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def program() -> str:
    """`tuirnn`, or what launched it: ./tuirnn.sh exports TUIRNN_PROG as it was invoked; a
    `tuirnn` that is not on PATH (.venv/bin/tuirnn, not activated) is named by its full path."""
    prog = os.environ.get("TUIRNN_PROG")
    if prog:
        return prog
    argv0 = sys.argv[0] if sys.argv else ""
    if Path(argv0).name == "tuirnn" and os.path.isabs(argv0):
        on_path = shutil.which("tuirnn")
        if on_path is None or not os.path.samefile(on_path, argv0):
            return argv0
    return "tuirnn"


def resume_hint(run_dir: str | Path) -> str:
    """The whole command that continues a run, quoted for a POSIX shell (copy-paste safe)."""
    ranks = int(os.environ.get("WORLD_SIZE", "1") or 1)   # under torchrun: the same ranks again
    nproc = f" --nproc {ranks}" if ranks > 1 else ""
    where = os.path.abspath(os.path.expanduser(str(run_dir)))
    return f"{shlex.quote(program())} run --resume {shlex.quote(where)}{nproc}"
