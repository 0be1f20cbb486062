"""Whether a process still runs (for `tuirnn stop` waiting on a trainer, and ranks naming a
dead peer)."""
from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: object) -> bool:
    """True while process `pid` exists and is not a zombie (exited, not yet reaped)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's process: it exists
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True             # no /proc (macOS): the kill test is all there is
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
