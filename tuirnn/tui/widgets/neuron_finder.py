"""The finder dialog: rank every unit by how well it tracks a pattern, pick one to show.

Focus starts in the regex box (type, Enter ranks); Tab or Down reaches the built-in
hypotheses on the left (highlighting one ranks at once).
Right: the best units with their correlation; choosing one dismisses with its UnitScore.
The ranking runs on the UI thread from the cached probe (tens of ms for a 3x512 model).
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...core.errors import UserError
from ...core.finder import HYPOTHESES, UnitScore, find_units, pattern_label
from ...core.probe import KIND_LABELS, ProbeResult


def score_label(score: UnitScore) -> str:
    return (f"{score.corr:+.3f}  layer {score.layer} unit {score.unit:<4d} "
            f"{KIND_LABELS[score.kind]}")


class NeuronFinder(ModalScreen[UnitScore | None]):
    DEFAULT_CSS = """
    NeuronFinder { align: center middle; }
    NeuronFinder > Vertical { width: 90%; max-width: 110; height: 80%; max-height: 30;
                              border: round $accent; background: $surface; padding: 0 1; }
    NeuronFinder Horizontal { height: 1fr; }
    NeuronFinder #finder-patterns { width: 28; }
    NeuronFinder #finder-units { width: 1fr; }
    /* one screen row per pattern and per unit, cut with … on a narrow terminal */
    NeuronFinder OptionList { text-wrap: nowrap; text-overflow: ellipsis; }
    NeuronFinder #finder-status, NeuronFinder #finder-hint { text-wrap: nowrap; text-overflow: ellipsis; }
    NeuronFinder #finder-status, NeuronFinder #finder-hint { color: $text-muted; height: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Close"),
                Binding("down", "patterns", "Built-ins", show=False)]
    HINT = "type a regex + Enter · Tab/↓: built-ins · Enter on a unit: show it"
    TOP = 20

    def __init__(self, result: ProbeResult, pattern: str = "quotes") -> None:
        super().__init__()
        self.result = result
        self.pattern = pattern
        self.scores: list[UnitScore] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Find units that track a pattern")
            yield Static(self.HINT, id="finder-hint")
            yield Input(placeholder="regex (chars inside a match = 1), Enter to rank",
                        id="finder-regex")
            with Horizontal():
                yield OptionList(*(Option(label, id=name) for name, (label, _) in
                                   HYPOTHESES.items()), id="finder-patterns")
                yield OptionList(id="finder-units")
            yield Static("", id="finder-status")

    def on_mount(self) -> None:
        patterns = self.query_one("#finder-patterns", OptionList)
        if self.pattern in HYPOTHESES:
            # Start from the first built-in this text can answer (a text without quotes
            # cannot rank units for "inside quotes").
            names = list(HYPOTHESES)
            names = names[names.index(self.pattern):] + names[:names.index(self.pattern)]
            for name in names:
                self.rank(name)
                if self.scores:
                    break
            patterns.highlighted = list(HYPOTHESES).index(self.pattern)
        else:
            self.query_one("#finder-regex", Input).value = self.pattern
            self.rank(self.pattern)
        self.query_one("#finder-regex", Input).focus()

    def action_patterns(self) -> None:
        """Down from the regex box goes to the built-ins (the lists use Down themselves)."""
        self.query_one("#finder-patterns", OptionList).focus()

    def rank(self, pattern: str) -> None:
        status = self.query_one("#finder-status", Static)
        units = self.query_one("#finder-units", OptionList)
        try:
            self.scores = find_units(self.result, pattern, top=self.TOP)
        except UserError as e:
            status.update(str(e))
            return
        self.pattern = pattern
        units.clear_options()
        units.add_options([Option(score_label(s)) for s in self.scores])
        if self.scores:
            units.highlighted = 0
        where = f"{len(self.result.text)} chars"
        status.update(f"{pattern_label(pattern)}: best |r| of {len(self.scores)} shown, {where}"
                      if self.scores else f"{pattern_label(pattern)}: no variation in this text")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if (event.option_list.id == "finder-patterns" and event.option.id is not None
                and event.option.id != self.pattern):
            self.rank(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "finder-patterns":
            self.query_one("#finder-units", OptionList).focus()
        elif self.scores:
            self.dismiss(self.scores[event.option_index])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value:                       # empty: go pick from what is ranked now
            self.rank(event.value)
        self.query_one("#finder-units", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
