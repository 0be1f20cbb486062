"""The monitor app: the screen, the stop keys and the command palette.

Events reach it through an EventInbox (a sink; a socket client fills it, see tui/attach.py)
and requests leave through `control` (Control's API: a RemoteControl for a live run, a
CheckpointResponder's Control for a run whose trainer is gone). Quitting (q, Ctrl+C, SIGTERM)
asks the trainer to stop, which saves checkpoints/last.pt; the app exits once the trainer
has gone (RunExited).
"""
from __future__ import annotations

import asyncio
import signal
from typing import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding

from ..core.control import Control
from .messages import EventInbox, EventsPending, RunExited
from .monitor import MonitorScreen
from .palette import palette_commands
from .state import Activity, RunState

DRAIN_INTERVAL = 1.0      # s between inbox drains (step reports); urgent events come at once
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))


class MonitorApp(App[int]):
    CSS_PATH = "tuirnn.tcss"
    TITLE = "tuirnn"
    BINDINGS = [
        Binding("q", "stop", "Quit", tooltip="stop: finish the step, save checkpoints/last.pt, quit"),
        # Ctrl+C stops the run (saving first) rather than Textual's "press ctrl+q" hint
        Binding("ctrl+c", "stop", "Quit", show=False, priority=True),
        Binding("ctrl+q", "stop", "Quit", show=False, priority=True),
    ]

    def __init__(self, control: Control | None, inbox: EventInbox | None = None) -> None:
        super().__init__()
        self.control = control
        self.inbox = inbox if inbox is not None else EventInbox()
        self.run_state = RunState()
        self.monitor = MonitorScreen(self.run_state)
        self.training_alive = False          # a trainer answers `control` (until RunExited)
        self.trainer_exited = False          # RunExited came: nobody answers `control` now
        self.quit_requested = False

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

    def on_events_pending(self, _: EventsPending) -> None:
        self.drain()

    def on_run_exited(self, _: RunExited) -> None:
        self.training_alive = False
        self.trainer_exited = True
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
        self.request_stop(force=False)

    def action_stop(self) -> None:
        # a second press while stopping leaves at once; the trainer finishes its save alone
        self.request_stop(force=self.quit_requested)

    def request_stop(self, force: bool) -> None:
        self.quit_requested = True
        if force or not self.training_alive or self.control is None:
            self.exit(self.exit_status())
            return
        self.control.stop()
        if self.run_state.over:            # a finished run's trainer only serves requests
            self.notify("Closing…", timeout=10)
        else:
            self.run_state.set_state(Activity.STOPPING)
            self.monitor.refresh_parts({"header"})
            self.notify("Stopping: finishing the step and saving checkpoints/last.pt…", timeout=10)

    # --- command palette --------------------------------------------------------------------
    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        # Textual's own Quit (no save) and Keys would sit beside ours: leave them out
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command
        yield from palette_commands(self)


def make_app(control: Control | None = None, events: Iterable = ()) -> MonitorApp:
    """An app with no trainer: `events` are applied at mount, more via `app.feed(...)`."""
    inbox = EventInbox()
    for ev in events:
        inbox(ev)
    return MonitorApp(control if control is not None else Control(), inbox)
