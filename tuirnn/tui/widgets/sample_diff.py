"""`=`: a line-by-line diff of two checkpoints' fixed samples (same prime, same seed), so what
changed between them is the model alone. Esc closes it."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..render import fmt_loss
from ..sample_entry import SampleEntry
from ..timeline_render import diff_lines


def diff_title(old: SampleEntry, new: SampleEntry) -> Text:
    return Text.assemble(
        ("- ", "red"), f"iter {old.iteration} (val {fmt_loss(old.val_loss)})  ",
        ("+ ", "green"), f"iter {new.iteration} (val {fmt_loss(new.val_loss)})")


class SampleDiff(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,equals_sign", "close", "Close")]

    def __init__(self, old: SampleEntry, new: SampleEntry) -> None:
        super().__init__()
        self.old, self.new = old, new

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sample-diff"):
            yield Static(diff_title(self.old, self.new), id="sample-diff-title")
            yield Static(Text("\n").join(diff_lines(self.old.text, self.new.text)),
                         id="sample-diff-text")
            yield Static("Same prime and seed: the lines differ where the models do. Esc closes.",
                         id="sample-diff-note")

    def action_close(self) -> None:
        self.dismiss(None)
