"""`?`: every key of the monitor in one table; any key closes it."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("space", "pause / resume training (at the next step boundary)"),
    ("s", "sample now: prime, temperature, length, top-k, seed"),
    ("c", "save a checkpoint now"),
    ("[  ]", "older / newer sample"),
    ("l", "loss chart: log / linear scale"),
    ("1 2 3", "Training / Samples / Neurons tab"),
    ("q, ctrl+c", "stop: finish the step, save checkpoints/last.pt, quit"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
]


def help_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_table())
            yield Static("Stopping always saves; `tuirnn run --resume RUN_DIR` continues. "
                         "Esc closes.", id="help-note")

    def action_close(self) -> None:
        self.dismiss(None)
