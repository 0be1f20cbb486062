"""`?`: every key of the monitor and of the Neurons tab, one table each; Esc closes it."""
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
    ("e", "Samples tab: timeline of fixed samples / the other samples"),
    ("b  =", "timeline: mark a diff base / diff two fixed samples"),
    ("l", "loss chart: log / linear scale"),
    ("z", "loss chart: whole run / last 25% / last 2000 iterations"),
    (",  .", "loss chart: less / more smoothing"),
    ("y", "loss chart: robust / full y range"),
    ("1 2 3", "Training / Samples / Neurons tab"),
    ("q, ctrl+c", "stop: finish the step, save checkpoints/last.pt, quit"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
]

NEURON_KEYS = [
    ("n  p", "next / previous unit (units and layers are numbered from 0)"),
    ("+  -", "next / previous layer"),
    ("g", "go to a unit: 37, or LAYER:UNIT like 1:37"),
    ("x", "show tanh(c) or h (LSTM)"),
    ("f  /", "find units that track a pattern (regex or built-in)"),
    ("r", "show the model's guesses under each line"),
    ("u", "surprisal: colour by the model's loss on each character (bits)"),
    ("←→↑↓", "move the cursor (also PgUp PgDn Home End)"),
    ("v", "probe the validation text"),
    ("m", "probe the newest sample"),
    ("t", "type or paste text to probe"),
    ("o", "open a file to probe"),
]


def help_table(keys=KEYS) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in keys:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static("Monitor keys", classes="help-heading")
            yield Static(help_table())
            yield Static("Neurons tab keys", classes="help-heading")
            yield Static(help_table(NEURON_KEYS))
            yield Static("Stopping always saves; `tuirnn run --resume RUN_DIR` continues. "
                         "Esc closes.", id="help-note")

    def action_close(self) -> None:
        self.dismiss(None)
