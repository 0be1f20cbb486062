"""A small modal prompt for the neuron pane: one line (a unit number, a file path) or a
multi-line box (text typed or pasted to probe). Dismisses with the string, or None."""
from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea


class NeuronPrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    NeuronPrompt { align: center middle; }
    NeuronPrompt > Vertical { width: 80%; max-width: 100; height: auto; max-height: 90%;
                              border: round $accent; background: $surface; padding: 0 1; }
    NeuronPrompt TextArea { height: 12; }
    NeuronPrompt .prompt-hint { color: $text-muted; }
    NeuronPrompt .prompt-hint.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Probe")]

    def __init__(self, title: str, hint: str = "", value: str = "",
                 multiline: bool = False,
                 validate: Callable[[str], str | None] | None = None) -> None:
        """`validate(answer)` returns an error to show (the prompt stays open) or None."""
        super().__init__()
        self.title_text, self.hint, self.value, self.multiline = title, hint, value, multiline
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            if self.multiline:
                yield TextArea(self.value, id="prompt-value", soft_wrap=True)
            else:
                yield Input(self.value, id="prompt-value")
            yield Static(self.hint, classes="prompt-hint", id="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-value").focus()

    def action_submit(self) -> None:
        widget = self.query_one("#prompt-value")
        answer = widget.text if isinstance(widget, TextArea) else self.query_one("#prompt-value", Input).value
        error = self.validate(answer) if self.validate is not None else None
        if error:
            hint = self.query_one("#prompt-hint", Static)
            hint.update(error)
            hint.set_class(True, "error")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()
