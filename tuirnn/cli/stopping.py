"""Ctrl+C, SIGTERM and SIGHUP for the life of a run process: nothing saved is ever lost.

1st signal: ask the trainer to stop; it finishes the step and saves checkpoints/last.pt.
2nd: say "saving, one moment" and keep waiting for that save.
3rd: abandon (KeyboardInterrupt in the main thread) and say which checkpoint was kept.
After the run has ended (RunFinished or RunFailed), signals are ignored: everything is saved,
so a late Ctrl+C must not turn a finished run into a failure.

The handlers go in before the run folder is made, so no signal finds a folder the trainer
does not yet answer for. The object is also a sink: it learns from the events which
checkpoint is on disk and when the run is over.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, Callable

from ..core.control import Control
from ..core.events import CheckpointSaved, RunFailed, RunFinished
from .hints import resume_hint

STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _say(text: str) -> None:
    print(f"tuirnn: {text}", file=sys.stderr, flush=True)


class StopSignals:
    def __init__(self, control: Control, say: Callable[[str], None] = _say):
        self.control = control
        self.say = say
        self.count = 0
        self.over = False
        self.abandoned = False
        self.kept: CheckpointSaved | None = None   # the newest last.pt on disk
        self.run_dir: Path | None = None
        self._previous: dict[int, Any] = {}

    # --- handlers ---------------------------------------------------------------------------
    def install(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._previous.setdefault(sig, signal.getsignal(sig))
            signal.signal(sig, self.handle)
        return self

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def handle(self, signum: int, frame: Any = None) -> None:
        if self.over:
            return
        self.count += 1
        if self.count == 1:
            self.control.stop()
            self.say("stopping: finishing the step and saving checkpoints/last.pt")
        elif self.count == 2:
            self.say("saving, one moment (a third Ctrl+C abandons the save)")
        else:
            self.abandoned = True
            raise KeyboardInterrupt

    # --- sink ---------------------------------------------------------------------------------
    def __call__(self, ev: Any) -> None:
        match ev:
            case CheckpointSaved(kind="last" | "manual"):
                self.kept = ev
            case RunFinished() | RunFailed():
                self.over = True

    def what_was_kept(self) -> str:
        """The line for an abandoned save: which checkpoint the folder holds now."""
        where = self.run_dir or Path("RUN")
        if self.kept is not None:
            return (f"abandoned the save; {where}/checkpoints/last.pt holds iteration "
                    f"{self.kept.iteration}; continue with: {resume_hint(where)}")
        return (f"abandoned before the first checkpoint; --resume {where} starts it again "
                "from iteration 0 with its config.yaml")
