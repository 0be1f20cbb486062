"""The "sample now" dialog: prime text, temperature, length, top-k and seed.

Dismisses with a dict of Control.request_sample keyword arguments, or None when cancelled.
Values are checked here (and the prime against the vocabulary) so a typo never reaches the
training thread.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...core.config import SampleConfig

_SAMPLE = SampleConfig()
DEFAULTS = {"prime": "", "temperature": f"{_SAMPLE.temperature:g}", "length": str(_SAMPLE.length),
            "top_k": str(_SAMPLE.top_k), "seed": ""}


def parse_sample_form(values: dict[str, str], vocab: str | None,
                      fallback: dict[str, str] | None = None) -> tuple[dict | None, str]:
    """Form strings -> (request kwargs, '') or (None, error message). An empty field takes
    its value from `fallback` (the run's config), else the config defaults."""
    fb = {**DEFAULTS, **(fallback or {})}
    out: dict = {"prime": values.get("prime", "").replace("\\n", "\n")}
    try:
        out["temperature"] = float(values.get("temperature") or fb["temperature"])
        out["length"] = int(values.get("length") or fb["length"])
        out["top_k"] = int(values.get("top_k") or fb["top_k"])
        seed = values.get("seed", "").strip()
        out["seed"] = int(seed) if seed else None
    except ValueError as e:
        return None, f"not a number: {str(e).split(':')[-1].strip()}"
    if not 0 < out["temperature"] <= 10:
        return None, "temperature must be above 0 (and at most 10)"
    if not 0 < out["length"] <= 100_000:
        return None, "length must be between 1 and 100000"
    if out["top_k"] < 0:
        return None, "top-k must be 0 (off) or more"
    if vocab is not None:
        unknown = sorted({ch for ch in out["prime"] if ch not in vocab})
        if unknown:
            return None, "prime has characters the model never saw: " + " ".join(map(repr, unknown))
    return out, ""


class SampleDialog(ModalScreen[dict | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "generate", "Generate")]

    def __init__(self, vocab: str | None, defaults: dict | None = None,
                 fallback: dict | None = None) -> None:
        """defaults: the form's starting strings (the last values used); fallback: what an
        empty field means (the run's config)."""
        super().__init__()
        self.vocab = vocab
        self.fallback = {**DEFAULTS, **(fallback or {})}
        self.defaults = {**self.fallback, **(defaults or {})}

    def compose(self) -> ComposeResult:
        d = self.defaults
        with Vertical(id="sample-dialog"):
            yield Label("Sample now", id="sample-dialog-title")
            with Grid(id="sample-form"):
                yield Label("prime")
                yield Input(d["prime"], placeholder="text to start from (\\n = newline)", id="prime", compact=True)
                yield Label("temperature")
                yield Input(d["temperature"], type="number", id="temperature", compact=True)
                yield Label("length")
                yield Input(d["length"], type="integer", id="length", compact=True)
                yield Label("top-k")
                yield Input(d["top_k"], type="integer", id="top_k", compact=True)
                yield Label("seed")
                yield Input(d["seed"], placeholder="random", type="integer", id="seed", compact=True)
            yield Static("", id="sample-error")
            with Horizontal(id="sample-buttons"):
                yield Button("Generate", variant="primary", id="generate", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#prime", Input).focus()

    def form_values(self) -> dict[str, str]:
        return {i.id: i.value for i in self.query(Input) if i.id}

    def action_generate(self) -> None:
        request, error = parse_sample_form(self.form_values(), self.vocab, self.fallback)
        if request is None:
            self.query_one("#sample-error", Static).update(error)
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_generate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_generate() if event.button.id == "generate" else self.action_cancel()
