"""The monitor app and `run_monitor`, the entry point `tuirnn run` calls in a terminal.

Threads: the main thread runs Textual; one "trainer" thread runs `Trainer.run()`. The trainer
reaches the UI only through the EventInbox sink (append + an occasional post_message), the UI
reaches the trainer only through the Control. Quitting (q, Ctrl+C, SIGTERM, SIGHUP) asks the
trainer to stop, which saves checkpoints/last.pt; the app exits when the thread has returned,
and `run_monitor` joins it in any case before the process ends.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding

from ..core.control import Control
from ..cli.hints import resume_hint
from ..core.events import RunFailed
from .messages import EventInbox, EventsPending, RunExited
from .monitor import MonitorScreen
from .state import RunState

DRAIN_INTERVAL = 1.0      # s between inbox drains (step reports); urgent events come at once
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))


class MonitorApp(App[int]):
    CSS_PATH = "tuirnn.tcss"
    TITLE = "tuirnn"
    BINDINGS = [
        Binding("q", "stop", "Quit"),
        # Ctrl+C stops the run (saving first) rather than Textual's "press ctrl+q" hint
        Binding("ctrl+c", "stop", "Quit", show=False, priority=True),
        Binding("ctrl+q", "stop", "Quit", show=False, priority=True),
    ]

    def __init__(self, control: Control, inbox: EventInbox | None = None,
                 start_training: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.control = control
        self.inbox = inbox if inbox is not None else EventInbox()
        self.run_state = RunState()
        self.monitor = MonitorScreen(self.run_state)
        self.start_training = start_training
        self.training_alive = False          # True from thread start until RunExited
        self.quit_requested = False
        self.on_stop_requested: Callable[[], Any] | None = None   # e.g. arm a watchdog

    # --- life cycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.push_screen(self.monitor)
        self.inbox.set_notify(lambda: self.post_message(EventsPending()))
        self.set_interval(DRAIN_INTERVAL, self.drain)
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        if self.start_training is not None:
            self.training_alive = True
            self.start_training()

    def on_events_pending(self, _: EventsPending) -> None:
        self.drain()

    def on_run_exited(self, _: RunExited) -> None:
        self.training_alive = False
        self.drain()
        if self.quit_requested:
            self.exit(self.exit_status())

    def drain(self) -> None:
        events = self.inbox.drain()
        if events:
            self.monitor.apply_events(events)

    def feed(self, *events) -> None:
        """Tests: queue events as the trainer would and apply them now."""
        for ev in events:
            self.inbox(ev)
        self.drain()

    def exit_status(self) -> int:
        return 1 if self.run_state.failed is not None else 0

    # --- stopping ---------------------------------------------------------------------------
    def on_signal(self, sig: int) -> None:
        # a hung-up terminal may never take our last writes: the watchdog ends the process
        # once the trainer has saved, whatever the UI is doing
        if self.on_stop_requested is not None:
            self.on_stop_requested()
        self.request_stop(force=False)

    def action_stop(self) -> None:
        # a second press while stopping leaves at once; run_monitor still waits for the save
        self.request_stop(force=self.quit_requested)

    def request_stop(self, force: bool) -> None:
        self.quit_requested = True
        if force or not self.training_alive:
            self.exit(self.exit_status())
            return
        self.control.stop()
        if self.run_state.over:            # a finished run's trainer only serves requests
            self.notify("Closing…", timeout=10)
        else:
            self.run_state.set_state("stopping")
            self.monitor.refresh_parts({"header"})
            self.notify("Stopping: finishing the step and saving checkpoints/last.pt…", timeout=10)
        if self.on_stop_requested is not None:
            self.on_stop_requested()

    # --- command palette --------------------------------------------------------------------
    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        # Textual's own Quit (no save) and Keys would sit beside ours: leave them out
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command
        m = self.monitor
        for title, help_text, action in (
            ("Pause / resume training", "Stop at the next step boundary, or go on", m.action_toggle_pause),
            ("Sample now", "Prime, temperature, length, top-k, seed", m.action_sample),
            ("Save checkpoint now", "Write checkpoints now", m.action_save),
            ("Older sample", "Step back through the sample history", m.action_older),
            ("Newer sample", "Step forward through the sample history", m.action_newer),
            ("Toggle log scale", "Loss chart: log or linear y axis", m.action_toggle_log),
            ("Log scale on the loss chart", "Loss chart: log y axis", lambda: m.set_log(True)),
            ("Linear scale on the loss chart", "Loss chart: linear y axis",
             lambda: m.set_log(False)),
            ("Training tab", "Loss chart and the newest sample (key 1)",
             lambda: m.action_tab("training")),
            ("Samples tab", "Every sample so far (key 2)", lambda: m.action_tab("samples")),
            ("Neurons tab", "Text coloured by one hidden unit (key 3)",
             lambda: m.action_tab("neurons")),
            ("Show keys", "Every key of the monitor", m.action_help),
            ("Stop and quit", "Save checkpoints/last.pt and exit", self.action_stop),
        ):
            yield SystemCommand(title, help_text, action)


def make_app(control: Control | None = None, events: Iterable = ()) -> MonitorApp:
    """An app with no trainer: `events` are applied at mount, more via `app.feed(...)`."""
    inbox = EventInbox()
    for ev in events:
        inbox(ev)
    return MonitorApp(control if control is not None else Control(), inbox)


def run_monitor(trainer, control: Control, history: Iterable = ()) -> int:
    """Run `trainer` in a thread under the monitor; returns the exit status (0 ok, 1 failed).

    `history`: a resumed run's earlier events, shown as its past (the whole loss curve).
    """
    inbox = EventInbox()
    trainer.sinks.append(inbox)
    # after RunFinished the trainer keeps answering sample/probe/save until control.stop()
    trainer.serve_after_finish = True
    app = MonitorApp(control, inbox)
    app.run_state.apply_history(list(history))
    failure: list[str] = []

    def train() -> None:
        try:
            trainer.run()
        except BaseException as e:   # Trainer.run reports its own errors; this is a last resort
            failure.append(traceback.format_exc())
            inbox(RunFailed(iteration=-1, error=f"{type(e).__name__}: {e}",
                            traceback=failure[-1]))
        finally:
            try:
                app.post_message(RunExited())
            except Exception:
                pass

    thread = threading.Thread(target=train, name="tuirnn-trainer", daemon=True)
    app.start_training = thread.start

    def watchdog() -> None:
        # After a stop request the app should exit once the trainer returns; if the terminal
        # is gone (SIGHUP) the UI may be stuck writing to it, so leave anyway, saved.
        if thread.ident is not None:      # started
            thread.join()
        threading.Event().wait(5.0)
        os._exit(app.exit_status())

    armed: list[bool] = []

    def arm() -> None:
        if not armed:
            armed.append(True)
            threading.Thread(target=watchdog, name="tuirnn-watchdog", daemon=True).start()

    app.on_stop_requested = arm

    def early_signal(signum, frame) -> None:
        # before the app's loop takes over (and after it ends): stop and let the join save;
        # a repeated signal is told the save goes on (the join waits for it)
        if control.stopped and thread.is_alive():
            print("tuirnn: saving, one moment", file=sys.stderr, flush=True)
        control.stop()
        app.quit_requested = True
        arm()

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, early_signal)
    if control.stopped:           # a signal came while the run folder was being made
        app.quit_requested = True
        arm()
    try:
        app.run()
    finally:
        for sig in STOP_SIGNALS:       # the closed loop reset them; keep stopping cleanly
            signal.signal(sig, early_signal)
        control.stop()
        if thread.is_alive():
            print("tuirnn: finishing the step and saving checkpoints/last.pt…", file=sys.stderr)
            thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    st = app.run_state
    for ev in inbox.drain():          # what came after the UI left (a forced quit)
        st.apply(ev)
    if st.failed is not None:
        print(f"tuirnn: training failed: {st.failed.error}", file=sys.stderr)
        if st.run is not None:
            print(f"tuirnn: details in {Path(st.run.run_dir)}", file=sys.stderr)
        return 1
    if app.return_code not in (None, 0):
        return 1
    if st.finished is not None:
        best = f"; best checkpoint {st.best_checkpoint}" if st.best_checkpoint else ""
        print(f"tuirnn: {st.finished.reason} at iter {st.finished.iteration}{best}")
        if st.finished.reason == "stopped" and st.run is not None:
            print(f"tuirnn: continue with: {resume_hint(st.run.run_dir)}")
    return 0
