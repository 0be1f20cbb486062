"""The neuron pane's keys that pick what is shown: a unit by number, by the finder or in the
gate scatter, and the text probed (typed, a file, the newest sample, the validation slice).

A mixin of NeuronPane (it reads and sets the pane's own attributes); each opens a prompt or a
screen and acts on its answer, so the pane's file keeps to drawing and moving the cursor.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.finder import UnitScore
from ...core.probe import ProbeResult
from .gate_scatter import GateScatter
from .neuron_finder import NeuronFinder
from .neuron_prompt import NeuronPrompt

MAX_CHARS = 2000         # text sent to the probe (a 3x512 LSTM probes 2,000 chars in < 1 s)


class PickActions:
    """Needs the pane's result, layer_index, unit, surprisal, latest_sample, _source, _gates,
    app, note(), select() and request()."""

    result: ProbeResult | None
    layer_index: int
    unit: int
    surprisal: bool
    latest_sample: str | None
    _source: tuple[str | None, str]
    _gates: GateScatter | None

    if TYPE_CHECKING:                                # given by NeuronPane (a Widget)
        app: Any

        def note(self, message: str) -> None: ...

        def select(self, layer: int, unit: int, kind: str | None = None,
                   note: str = "") -> None: ...

        def request(self, text: str | None, source: str) -> None: ...

    def action_goto_unit(self) -> None:
        if self.result is None:
            return
        r = self.result
        self.app.push_screen(NeuronPrompt(
            f"Go to unit (0-{r.hidden_size - 1}) or LAYER:UNIT (layers 0-{r.num_layers - 1})",
            value=f"{self.layer_index}:{self.unit}", hint="numbers count from 0",
            validate=lambda answer: self.parse_goto(answer)[1]), self._goto)

    def parse_goto(self, answer: str) -> tuple[tuple[int, int] | None, str]:
        """'37' or '1:37' -> ((layer, unit), '') or (None, what is wrong)."""
        r = self.result
        try:
            layer, _, unit = answer.strip().rpartition(":")
            layer_n = int(layer) if layer else self.layer_index
            unit_n = int(unit)
        except ValueError:
            return None, f"not a unit: {answer!r} (try 37 or 1:37)"
        if r is None or not (0 <= layer_n < r.num_layers and 0 <= unit_n < r.hidden_size):
            return None, (f"{layer_n}:{unit_n} is out of range: layers 0-{r.num_layers - 1}, "
                          f"units 0-{r.hidden_size - 1}" if r else "no probe yet")
        return (layer_n, unit_n), ""

    def _goto(self, answer: str | None) -> None:
        if not answer or self.result is None:
            return
        where, error = self.parse_goto(answer)
        if where is None:
            self.note(error)
            return
        self.select(*where)

    def action_find(self) -> None:
        if self.result is not None and self.result.text:
            self.app.push_screen(NeuronFinder(self.result), self._found)

    def action_gates(self) -> None:
        if self.result is None or self.result.gates is None:
            self.note("no gates to show: a GRU/LSTM probe carries them (an RNN has none)"
                      if self.result is not None else "no probe yet")
            return
        self._gates = GateScatter(self.result, self.layer_index, self.unit)
        self.app.push_screen(self._gates, self._gate_picked)

    def _gate_picked(self, picked: tuple[int, int] | None) -> None:
        self._gates = None
        if picked is not None:
            self.surprisal = False
            self.select(*picked, kind="c" if self.result and self.result.c is not None else None,
                        note=f"picked in the gate scatter: layer {picked[0]} unit {picked[1]}")

    def _found(self, score: UnitScore | None) -> None:
        if score is not None:
            self.select(score.layer, score.unit, score.kind, note=f"r = {score.corr:+.3f}")

    def action_type_text(self) -> None:
        typed = self._source[0] if self._source[1] == "typed" else ""
        self.app.push_screen(NeuronPrompt(
            "Text to probe (type or paste; Ctrl+S probes, Esc cancels)", multiline=True,
            value=typed or "", hint=f"up to {MAX_CHARS} characters; characters the model "
            "never saw are left out"), self._typed)

    def _typed(self, text: str | None) -> None:
        if text:
            self.request(text, "typed")

    def action_open_file(self) -> None:
        self.app.push_screen(NeuronPrompt("File to probe (UTF-8 text; path, then Enter)",
                                          hint=f"its first {MAX_CHARS} characters are used"),
                             self._open)

    def _open(self, path: str | None) -> None:
        if not path:
            return
        try:
            with open(Path(path.strip()).expanduser(), encoding="utf-8-sig") as f:
                text = f.read(MAX_CHARS)
        except (OSError, UnicodeDecodeError) as e:
            self.note(f"cannot read {path.strip()}: {getattr(e, 'strerror', None) or e}")
            return
        self.request(text, "file")

    def action_use_sample(self) -> None:
        if not self.latest_sample:
            self.note("no sample yet: one is drawn at every eval")
            return
        self.request(self.latest_sample, "sample")

    def action_use_val(self) -> None:
        self.request(None, "val")
