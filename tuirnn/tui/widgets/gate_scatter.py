"""The gate scatter: how saturated each unit's gates are, for one layer, over the probed text.

A dialog over the Neurons tab (as the finder is). The neuron pane opens it with the newest
probe's GateStats and hands it every later probe (`show(result)`), so the dots move at every
checkpoint and the gates are seen settling. The cursor is a unit (its cell drawn reversed in
every panel): ←/→ step through units by number, ↑/↓ through the units most often
right-saturated in the forget (GRU: update) gate, +/- change layer; Enter dismisses with
(layer, unit), which the pane then colours the text by. Drawing is gate_render's.
"""
from __future__ import annotations

import os

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ...core.probe import ProbeResult
from .. import gate_render as GR

HINT = "←/→ unit · ↑/↓ most often open · +/- layer · Enter: colour the text by it · Esc: close"


class GateScatter(ModalScreen[tuple[int, int] | None]):
    BINDINGS = [
        Binding("escape,q", "cancel", "Close"),
        Binding("enter", "pick", "Colour by unit"),
        Binding("right,n", "unit(1)", "Next unit", show=False),
        Binding("left,p", "unit(-1)", "Previous unit", show=False),
        Binding("up", "rank(-1)", "More open", show=False),
        Binding("down", "rank(1)", "Less open", show=False),
        Binding("plus,greater_than_sign", "layer(1)", "Next layer", show=False),
        Binding("minus,less_than_sign", "layer(-1)", "Previous layer", show=False),
    ]

    def __init__(self, result: ProbeResult, layer: int = 0, unit: int = 0) -> None:
        super().__init__()
        self.result = result
        self.layer_index, self.unit = layer, unit

    def compose(self) -> ComposeResult:
        with Vertical(id="gate-dialog"):
            yield Static("", id="gate-plot")
            yield Static("", id="gate-status")
            yield Static(HINT, id="gate-hint")

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def show(self, result: ProbeResult) -> None:
        """A new probe (a checkpoint): same layer and unit, new dots."""
        if result.gates is None:
            return
        self.result = result
        self.layer_index = min(self.layer_index, result.gates.num_layers - 1)
        self.unit = min(self.unit, result.gates.hidden_size - 1)
        self.redraw()

    def redraw(self) -> None:
        stats = self.result.gates
        if stats is None or not self.is_mounted:
            return
        no_color = "NO_COLOR" in os.environ or getattr(self.app, "no_color", False)
        # the dialog fills the screen less its border and padding, less status and hint
        width, height = max(20, self.size.width - 4), max(8, self.size.height - 4)
        rows = GR.render_scatter(stats, self.layer_index, width, height, self.unit, no_color)
        plot = Text("\n").join(rows)
        plot.no_wrap, plot.overflow = True, "crop"
        self.query_one("#gate-plot", Static).update(plot)
        status = GR.unit_line(stats, self.layer_index, self.unit)
        status.append(f"  iter {self.result.iteration}", style="dim")
        self.query_one("#gate-status", Static).update(status)

    def action_unit(self, step: int) -> None:
        if self.result.gates is not None:
            self.unit = (self.unit + step) % self.result.gates.hidden_size
            self.redraw()

    def action_rank(self, step: int) -> None:
        """Move through the units ordered by how often their forget/update gate is open."""
        stats = self.result.gates
        if stats is None:
            return
        right = stats.gate(self.layer_index, stats.names[1])[1]
        order = np.argsort(-right, kind="stable").tolist()     # most often open first
        i = order.index(self.unit)
        self.unit = int(order[max(0, min(len(order) - 1, i + step))])
        self.redraw()

    def action_layer(self, step: int) -> None:
        if self.result.gates is not None:
            self.layer_index = (self.layer_index + step) % self.result.gates.num_layers
            self.redraw()

    def action_pick(self) -> None:
        self.dismiss((self.layer_index, self.unit))

    def action_cancel(self) -> None:
        self.dismiss(None)
