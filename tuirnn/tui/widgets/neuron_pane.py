"""The neuron pane: text coloured by one hidden unit, the model's guesses under the cursor.

Attributes down: the monitor sets `probe` (a ProbeCompleted) and `latest_sample` (newest
sample text). Messages up: `ProbeRequested(text, source)` when the user picks other text;
`probe_source()` tells the monitor what to re-probe after every eval. The selected layer,
unit and kind survive new probes, so you watch one unit form while the model trains.
Only the visible lines are drawn, from the decoded probe kept here, so switching units or
layers costs a few milliseconds.
"""
from __future__ import annotations

import os

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ...core.events import ProbeCompleted
from ...core.probe import KIND_LABELS, ProbeResult
from .. import neuron_render as R
from .. import surprisal_render as S
from .. import vs_ngram_render as M
from ..ngram_source import NGramSource
from .gate_scatter import GateScatter
from .neuron_actions import MAX_CHARS, PickActions

# key rows of several bindings (one line in the help screen, one footer entry)
UNIT = Binding.Group("Unit")
LAYER = Binding.Group("Layer")
SOURCE = Binding.Group("Text")
MOVE = Binding.Group("Move")


class NeuronPane(PickActions, Widget, can_focus=True):
    DEFAULT_CSS = """
    NeuronPane { height: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    NeuronPane:focus { background-tint: $foreground 3%; }
    """
    # Each key once: the footer word, then the line the help screen, palette and README show
    BINDINGS = [
        Binding("n", "unit(1)", "Next unit", group=UNIT,
                tooltip="next / previous unit (units and layers are numbered from 0)"),
        Binding("p", "unit(-1)", "Previous unit", group=UNIT),
        Binding("plus,greater_than_sign", "layer(1)", "Next layer", group=LAYER,
                tooltip="next / previous layer"),
        Binding("minus,less_than_sign", "layer(-1)", "Previous layer", group=LAYER),
        Binding("g", "goto_unit", "Go to", tooltip="go to a unit: 37, or LAYER:UNIT like 1:37"),
        Binding("x", "toggle_kind", "c/h", tooltip="LSTM: show tanh(c) or h"),
        Binding("f,slash", "find", "Find",
                tooltip="finder: rank all units by how well they track a pattern or a regex you type"),
        Binding("r", "toggle_predictions", "Guess",
                tooltip="a row of the model's next-character guesses under every line"),
        Binding("G", "gates", "Gates", show=False,
                tooltip="gate saturation of this layer (one dot a unit, new at every checkpoint); "
                        "Enter colours the text by the unit picked there"),
        Binding("w", "screen.toggle_errors", "Errors", show=False,
                tooltip="what the model still gets wrong: its errors on this validation text "
                        "by the paper's oracles, newest checkpoint (a panel under the text)"),
        Binding("u", "toggle_surprisal", "Surprisal", show=False,
                tooltip="surprisal: colour each character by the model's loss on it, in bits, "
                        "with the mean bits/char"),
        Binding("k", "toggle_vs_ngram", "vs n-gram", show=False,
                tooltip="where memory wins: colour each character by the model's loss minus an "
                        "n-gram's (blue: the model better), both means in the header"),
        # the rest are in `?` (the footer has room for the most used only at 80 columns)
        Binding("t", "type_text", "Type text to probe", show=False, group=SOURCE,
                tooltip="probe text you type / a file / the newest sample / the validation slice"),
        Binding("o", "open_file", "Open a file to probe", show=False, group=SOURCE),
        Binding("m", "use_sample", "Probe the newest sample", show=False, group=SOURCE),
        Binding("v", "use_val", "Probe the validation text", show=False, group=SOURCE),
        Binding("left", "cursor(-1)", "Left", show=False, group=MOVE,
                tooltip="move the cursor through the text"),
        Binding("right", "cursor(1)", "Right", show=False, group=MOVE),
        Binding("up", "cursor_line(-1)", "Up", show=False, group=MOVE),
        Binding("down", "cursor_line(1)", "Down", show=False, group=MOVE),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False, group=MOVE),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False, group=MOVE),
        Binding("home", "cursor_to(0)", "Start", show=False, group=MOVE),
        Binding("end", "cursor_to(-1)", "End", show=False, group=MOVE),
        # The monitor's keys still work here but leave the footer to the pane's (80 columns);
        # no tooltip: the help screen lists them once, under the monitor's keys
        *(Binding(key, f"screen.{action}", show=False) for key, action in (
            ("space", "toggle_pause"), ("space", "resume"), ("s", "sample"), ("c", "save"),
            ("left_square_bracket", "older"), ("right_square_bracket", "newer"),
            ("l", "toggle_log"))),
    ]

    probe: reactive[ProbeCompleted | None] = reactive(None, always_update=True)

    class ProbeRequested(Message):
        """Probe this text (None: the validation slice); source: val | sample | typed | file."""

        def __init__(self, text: str | None, source: str) -> None:
            super().__init__()
            self.text, self.source = text, source

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.result: ProbeResult | None = None
        self.latest_sample: str | None = None       # set by the monitor
        self.layer_index, self.unit, self.kind = 0, 0, "c"   # the unit shown; kind c = tanh(c)
        self.cursor = 0
        self.show_predictions = False
        self.surprisal = False                       # colour by the model's loss, not a unit
        self.vs_ngram = False                        # colour by model − n-gram loss (k)
        self._ngram = NGramSource()
        self.top_line = 0                            # first wrapped line on screen
        self.message = ""                            # one-line note (errors, what happened)
        self._source: tuple[str | None, str] = (None, "val")
        self._wrapped: tuple[str, int, list] | None = None
        self._gates: GateScatter | None = None       # the gate scatter, while it is open

    def on_show(self) -> None:
        # The only thing to type at on its tab: take the keys as soon as it is shown.
        self.focus()

    # --- attributes down / messages up ----------------------------------------------------
    def probe_source(self) -> tuple[str | None, str]:
        """(text, source) to probe next; text None means the validation slice."""
        return self._source

    def watch_probe(self, event: ProbeCompleted | None) -> None:
        old_text = self.result.text if self.result else None
        try:
            self.result = None if event is None else ProbeResult.from_event(event)
        except ValueError as e:                       # keep showing the last good probe
            self.note(f"{e}; waiting for the next probe")
            return
        if self.result is not None:
            self.layer_index = min(self.layer_index, self.result.num_layers - 1)
            self.unit = min(self.unit, self.result.hidden_size - 1)
            if self.result.text != old_text:
                self.cursor, self.top_line = 0, 0
            self.cursor = min(self.cursor, max(0, len(self.result.text) - 1))
            self.message = (f"left out (not in vocabulary): {R.describe(self.result.dropped)}"
                            if self.result.dropped else "")
            if self._gates is not None:              # open: its dots move at every checkpoint
                self._gates.show(self.result)
        self.refresh()

    def request(self, text: str | None, source: str) -> None:
        if text is not None:
            text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_CHARS]
            if not text:
                self.note("nothing to probe: the text is empty")
                return
        self._source = (text, source)
        self.note(f"probing {source} text…")
        self.post_message(self.ProbeRequested(text, source))

    def cancel_pending(self, why: str) -> None:
        """A requested probe will not come (refused, or the run ended): say so, never hang."""
        if self.message.startswith("probing"):
            self.note(f"not probed: {why}")

    def note(self, message: str) -> None:
        self.message = message
        self.refresh()

    # --- what is shown --------------------------------------------------------------------
    @property
    def effective_kind(self) -> str:
        return "c" if self.kind == "c" and self.result and self.result.c is not None else "h"

    def values(self):
        """(T,) the selected unit's activation per character, or in the surprisal view the
        loss on each character as scale values (surprisal_render.as_values)."""
        if self.vs_ngram:
            got = self.ngram_scored()
            return M.as_values(got[1]) if got else M.as_values(
                np.full(len(self.result.text), np.nan, np.float32))
        if self.surprisal:
            if self.result._flat.get("surprisal") is None:
                self.result._flat["surprisal"] = S.as_values(self.result.surprisal_bits())
            return self.result._flat["surprisal"]
        return self.result.unit(self.effective_kind, self.layer_index, self.unit)

    def lines(self, width: int) -> list[tuple[int, int]]:
        assert self.result is not None, "drawn only once a probe has come"
        key = (self.result.text, width)
        if self._wrapped is None or self._wrapped[:2] != key:
            self._wrapped = (*key, R.wrap(self.result.text, width))
        return self._wrapped[2]

    def rows_per_line(self) -> int:
        return 2 if self.show_predictions else 1

    def visible_line_count(self) -> int:
        # the header, the status line, and the note (when there is one) above the status line
        rows = self.content_size.height - 2 - (1 if self.message else 0)
        return max(1, rows // self.rows_per_line())

    def render(self) -> Text:
        no_color = "NO_COLOR" in os.environ or getattr(self.app, "no_color", False)
        width = max(8, self.content_size.width)
        if self.result is None:
            return Text.assemble(("Neurons", "bold"), "\nWaiting for the first probe (after the "
                                 "first eval). v: validation text, m: newest sample, t: type "
                                 "or paste text, o: open a file.\n", self.message)
        r = self.result
        if self.vs_ngram:
            got = self.ngram_scored()
            header = Text.assemble(("where memory wins ", "bold"),
                                   M.mean_line(r.loss, got[0], self._ngram.order)
                                   if got and r.loss is not None else self._ngram.status, end="")
            legend = M.legend(no_color)
        elif self.surprisal:
            vals = getattr(getattr(self.app, "run_state", None), "val", None)   # [(iter, nats)]
            room = width - len("surprisal   iter ") - len(f"{r.iteration}  {r.source}")
            header = Text.assemble(("surprisal ", "bold"),
                                   S.mean_line(r, vals[-1][1] if vals else None, room), end="")
            legend = S.legend(no_color)
        else:
            header = Text.assemble(
                ("layer ", "dim"), f"{self.layer_index}", (f" of {r.num_layers} · unit ", "dim"),
                f"{self.unit}", (f" of {r.hidden_size}", "dim"), "  ",
                (KIND_LABELS[self.effective_kind], "bold"), end="")
            legend = R.render_scale_legend(no_color, cells=1)
        header.append_text(Text.assemble(("  iter ", "dim"), str(r.iteration), "  ", r.source))
        # the window used ('validation chars 1,500-3,500 of 63,924 (quotes, ...)'), else the size
        for extra in (f": {r.where}" if r.where else None, f" {len(r.text)} chars"):
            if extra and header.cell_len + len(extra) + 2 + legend.cell_len <= width:
                header.append(extra)                     # the colour key matters more
                break
        header.append("  ")
        header.append_text(legend)
        rows = [header]
        if not r.text:
            rows.append(Text("(no text: every character was outside the vocabulary)"))
            return self.stack(rows + [Text(self.message)])
        lines = self.lines(width)
        cur_line = R.line_of(lines, self.cursor)
        shown = self.visible_line_count()
        self.top_line = min(max(self.top_line, cur_line - shown + 1), cur_line)
        values = self.values()
        for start, end in lines[self.top_line:self.top_line + shown]:
            rows.append(R.render_line(r.text, start, end, values, self.cursor, no_color))
            if self.show_predictions:
                rows.append(R.render_prediction_row(r.text, start, end, r.top_ids, r.top_probs,
                                                    r.vocab, no_color))
        rows += [Text("")] * (1 + shown * self.rows_per_line() - len(rows))
        if self.message:       # on a line of its own: the status line keeps its width
            rows.append(Text(self.message, style="italic"))
        rows.append(self.cursor_line(no_color, width))
        return self.stack(rows)

    @staticmethod
    def stack(rows: list[Text]) -> Text:
        """One Text of the rows, each cropped to the pane (never wrapped: row = screen line)."""
        out = Text("\n").join(rows)
        out.no_wrap, out.overflow = True, "crop"      # join() does not keep these
        return out

    def cursor_line(self, no_color: bool, width: int = 80) -> Text:
        """'char 12 x = +0.486  next: e 41% …': as many guesses as fit `width` (never cut)."""
        r, t = self.result, self.cursor
        assert r is not None, "drawn only once a probe has come"
        got = self.ngram_scored() if self.vs_ngram else None
        if got is not None:
            out = M.cursor_text(r.text, got[1], t, no_color)
        elif self.surprisal:
            out = S.cursor_text(r, t, no_color)
        else:
            value = float(self.values()[t])
            out = Text.assemble(("char ", "dim"), f"{t} ", (R.glyph(r.text[t]), "bold"), " = ",
                                (f"{value:+.3f}", R.activation_style(value, no_color)), end="")
        out.append("  next: ", "dim")
        out.no_wrap, out.overflow = True, "ellipsis"
        for k in range(len(r.top_ids[t]), 0, -1):
            strip = R.render_prediction_strip(r.top_ids[t][:k], r.top_probs[t][:k], r.vocab,
                                              no_color)
            if out.cell_len + strip.cell_len <= width:
                break
        out.append_text(strip)
        return out

    # --- keys -------------------------------------------------------------------------------
    def action_unit(self, step: int) -> None:
        if self.result:
            self.unit = (self.unit + step) % self.result.hidden_size
            self.note("")

    def action_layer(self, step: int) -> None:
        if self.result:
            self.layer_index = (self.layer_index + step) % self.result.num_layers
            self.note("")

    def select(self, layer: int, unit: int, kind: str | None = None, note: str = "") -> None:
        self.layer_index, self.unit = layer, unit
        self.kind = kind or self.kind
        self.note(note)

    def action_toggle_kind(self) -> None:
        if self.result is not None and self.result.c is None:
            self.note("GRU/RNN layers have only h")
            return
        self.kind = "h" if self.kind == "c" else "c"
        self.note("")

    def action_toggle_surprisal(self) -> None:
        if self.result is not None and self.result.loss is None:
            self.note("this probe carries no per-character loss; re-probe (v) for it")
            return
        self.surprisal, self.vs_ngram = not self.surprisal, False
        self.note("")

    def ngram_scored(self):
        """NGramSource.scored for the probe shown: (ln p, model − n-gram bits) or None."""
        r = self.result
        return None if r is None or r.loss is None else self._ngram.scored(r.text, r.vocab, r.loss)

    def _ngram_ready(self) -> None:
        """Called on the counting thread when it is done: redraw on the app's loop."""
        try:
            self.app.call_from_thread(self.refresh)
        except RuntimeError:          # the app has closed meanwhile
            pass

    def action_toggle_vs_ngram(self) -> None:
        r = self.result
        if r is not None and r.loss is None:
            self.note("this probe carries no per-character loss; re-probe (v) for it")
            return
        self.vs_ngram, self.surprisal = not self.vs_ngram, False
        state = getattr(self.app, "run_state", None)
        run = getattr(state, "run", None)
        if self.vs_ngram and run is not None:
            order = self._ngram.order_for(getattr(state, "baseline", None))
            self._ngram.start(run.config, run.vocab, order, self._ngram_ready)
        elif self.vs_ngram:
            self._ngram.status = "no n-gram: the run's config has not come yet"
        self.note("")

    def action_toggle_predictions(self) -> None:
        self.show_predictions = not self.show_predictions
        self.note("")

    def move_cursor(self, t: int) -> None:
        if self.result and self.result.text:
            self.cursor = max(0, min(len(self.result.text) - 1, t))
            self.refresh()

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor + step)

    def action_cursor_to(self, t: int) -> None:
        self.move_cursor(t if t >= 0 else len(self.result.text) - 1 if self.result else 0)

    def action_cursor_line(self, step: int) -> None:
        if not (self.result and self.result.text):
            return
        lines = self.lines(max(8, self.content_size.width))
        i = R.line_of(lines, self.cursor)
        j = max(0, min(len(lines) - 1, i + step))
        column = R.cell_offset(self.result.text, lines[i][0], self.cursor)
        self.move_cursor(R.char_at_cell(self.result.text, *lines[j], column))

    def action_cursor_page(self, step: int) -> None:
        self.action_cursor_line(step * self.visible_line_count())
