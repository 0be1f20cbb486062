"""The monitor as a client of a run: what `tuirnn run` (in a terminal) and `tuirnn attach` open.

    trainer process ──socket──► RemoteControl ──on_event──► EventInbox ──drain──► MonitorScreen
                    ◄─requests─┘ (the app's `control`)

A live run is driven through its socket. When the trainer is gone (finished, stopped,
crashed, or never there when we attached) the app keeps working on the run's history and
answers sample/probe requests itself from the newest checkpoint (CheckpointResponder).
`d` and a hang-up detach (the run goes on); `q`, Ctrl+C and SIGTERM stop the run.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual.binding import Binding

from ..core import runlog
from ..core.events import RunFailed, RunFinished, SampleChunkGenerated, SampleGenerated
from ..remote.client import RemoteError, TrainerGone, connect
from .app import MonitorApp
from .messages import EventInbox, RunExited

if TYPE_CHECKING:       # torch: imported for real only by a run without trainer
    from ..core.responder import CheckpointResponder

HANGUP_EXIT_S = 3.0     # a hung-up terminal may never take our last writes: leave anyway
RESPONDER_EXIT_S = 10.0  # the checkpoint thread finishing its answer before we exit


def checkpoint_of(run_dir: Path) -> Path | None:
    """The checkpoint a gone trainer left: last.pt (the final weights), else best.pt."""
    for name in ("last.pt", "best.pt"):
        path = run_dir / "checkpoints" / name
        if path.is_file():
            return path
    return None


def as_history(events: list[Any]) -> list[Any]:
    """Past events as a newly attached monitor folds them: streamed chunks dropped, and
    request ids cleared (they were another client's, or another process's)."""
    out = []
    for ev in events:
        match ev:
            case SampleChunkGenerated():
                continue
            case SampleGenerated(request_id=rid) if rid is not None:
                ev = dataclasses.replace(ev, request_id=None)
        out.append(ev)
    return out


class AttachedApp(MonitorApp):
    BINDINGS = [Binding("d", "detach", "Detach",
                        tooltip="detach: leave the run training; tuirnn attach comes back")]

    def __init__(self, run_dir: Path, inbox: EventInbox, control=None,
                 default_text: Callable | None = None) -> None:
        super().__init__(control, inbox)
        self.run_dir = Path(run_dir)
        self.live = control is not None      # a trainer answers on the socket
        self.training_alive = self.live
        self.detached = False
        self.serves_checkpoint = False       # requests answered here, from a checkpoint
        self.default_text = default_text
        self._responder: CheckpointResponder | None = None   # once the trainer is gone

    def on_mount(self) -> None:
        super().on_mount()
        if not self.live:
            self.serve_from_checkpoint()

    # --- leaving ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "detach":
            return self.live            # no trainer to leave: the footer offers no d
        return super().check_action(action, parameters)

    def action_detach(self) -> None:
        if not self.live:
            self.notify("No trainer to detach from: the run is not training. q quits.",
                        severity="warning")
            return
        self.detached = True
        self.exit(0)

    def on_signal(self, sig: int) -> None:
        if sig == getattr(signal, "SIGHUP", None):       # the SSH link dropped: the run goes on
            threading.Timer(HANGUP_EXIT_S, os._exit, args=(0,)).start()
            if self.live:
                self.detached = True
            self.exit(0)
            return
        self.request_stop(force=False)

    def on_run_exited(self, _: RunExited) -> None:
        """The socket closed: the trainer exited (or dropped us)."""
        self.live = False
        self.training_alive = False
        self.trainer_exited = True
        self.refresh_bindings()
        self.drain()
        if self.quit_requested:
            self.exit(self.exit_status())
            return
        self.serve_from_checkpoint()

    def on_unmount(self) -> None:
        if self._responder is not None:
            self._responder.control.stop()
            # torch still running on that thread at interpreter exit aborts the process
            # ("terminate called without an active exception", exit 134): let it end first
            self._responder.thread.join(timeout=RESPONDER_EXIT_S)

    # --- a run without its trainer --------------------------------------------------------------
    def serve_from_checkpoint(self) -> None:
        path = checkpoint_of(self.run_dir)
        if path is None:
            return
        from ..core.responder import CheckpointResponder  # torch: only a run without trainer
        try:
            responder = CheckpointResponder(path, self.inbox, device="cpu",
                                            default_text=self.default_text)
        except Exception as e:   # a damaged checkpoint: the history still shows
            self.notify(f"Cannot sample here: {e}", severity="warning", timeout=8)
            return
        self._responder = responder.start()
        self.control = responder.control
        self.serves_checkpoint = True
        self.refresh_bindings()
        self.monitor.refresh_bindings()
        self.run_state.loaded_checkpoint = str(path)   # the banner names it (not best.pt)
        self.monitor.refresh_parts({"header"})
        if self.monitor.ready and self.run_state.over:
            self.monitor.show_banner()


def open_run(run_dir: Path) -> tuple[EventInbox, Any]:
    """Connect to `run_dir`'s trainer if it serves, else read its log: the inbox holds the
    history either way; returns (inbox, RemoteControl or None)."""
    inbox = EventInbox()

    def history(events: list[Any]) -> None:
        for ev in as_history(events):
            inbox(ev)

    try:
        control = connect(run_dir, on_event=inbox, on_history=history)
    except RemoteError:
        if runlog.is_live(run_dir):
            raise
        control = None
    if control is None:
        events = as_history(runlog.read_events(run_dir / "events.jsonl")) \
            if (run_dir / "events.jsonl").exists() else []
        for ev in events:
            inbox(ev)
        if not any(isinstance(ev, (RunFinished, RunFailed)) for ev in events[-3:]):
            last = next((ev.path for ev in reversed(events)
                         if type(ev).__name__ == "CheckpointSaved"), None)
            it = next((ev.iteration for ev in reversed(events) if hasattr(ev, "iteration")), 0)
            inbox(TrainerGone(it, last, "the trainer is gone"))
    return inbox, control


def attach_monitor(run_dir: Path, default_text: Callable | None = None,
                   compare: list[Path] | None = None) -> tuple[int, AttachedApp]:
    """Run the monitor on `run_dir`; returns (exit status, the app) for the caller's last lines.
    compare: open on the Runs tab with these runs beside it."""
    inbox, control = open_run(run_dir)
    app = AttachedApp(run_dir, inbox, control, default_text)
    app.monitor.open_compare = compare
    if control is not None:
        def watch() -> None:
            control.wait_closed()
            try:
                app.post_message(RunExited())
            except Exception:       # the app has already gone
                pass
        threading.Thread(target=watch, name="tuirnn-watch", daemon=True).start()
    try:
        app.run()
    finally:
        if control is not None and not control.closed.is_set():
            control.close()      # detach (or the UI failed): the run goes on
    st = app.run_state
    for ev in inbox.drain():
        st.apply(ev)
    status = 1 if st.failed is not None else 0
    return status, app
