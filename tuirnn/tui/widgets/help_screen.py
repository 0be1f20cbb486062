"""`?`: every key of the monitor and of the Neurons tab, one table each, built from the
bindings (tui/keys.py); Esc closes it. The close hint sits on the border, so it stays in view
when a small terminal scrolls the tables."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keys import PALETTE_ROW, KeyRow, sections

CLOSE_HINT = "Esc closes · ↑↓ scroll"


def help_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in rows:
        table.add_row(key, what)
    return table


def row_cells(rows: list[KeyRow]) -> list[tuple[str, str]]:
    return [(row.shown, row.help) for row in rows]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        scroll = VerticalScroll(id="help")
        scroll.border_title = "Keys"
        scroll.border_subtitle = CLOSE_HINT
        # the live app's keys (an attached monitor has `d`), read from it, not imported
        monitor = type(self.app.monitor)  # type: ignore[attr-defined]
        with scroll:
            for i, (title, rows) in enumerate(sections(monitor, type(self.app))):
                yield Static(title, classes="help-heading")
                cells = row_cells(rows) + ([PALETTE_ROW] if i == 0 else [])
                yield Static(help_table(cells))
            yield Static("Stopping always saves; `tuirnn run --resume RUN_DIR` continues.",
                         id="help-note")

    def on_mount(self) -> None:
        self.query_one("#help").focus()      # arrows and PgUp/PgDn scroll it

    def action_close(self) -> None:
        self.dismiss(None)
