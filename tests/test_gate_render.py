"""The gate scatter: pure render functions, then the dialog over a NeuronPane (keys, new probes,
picking a unit), and its snapshots at 80x24 and 120x40."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from ui_fakes import sync

from tuirnn.core.gates import GateStats
from tuirnn.core.probe import ProbeResult
from tuirnn.tui import gate_render as GR
from tuirnn.tui.widgets.gate_scatter import GateScatter
from tuirnn.tui.widgets.neuron_pane import NeuronPane

TEXT = 'He said "come here" and left.\n\tShe answered: "no."\n' * 4
VOCAB = "".join(sorted(set(TEXT)))
L, H = 2, 12


def plain(t) -> str:
    c = Console(width=400, color_system=None, record=True)
    c.print(t, soft_wrap=True, end="")
    return c.export_text()


def stats(seed: int = 0, settle: float = 0.0) -> GateStats:
    """Gate shares; `settle` moves layer 1's forget gates up (open), as training does."""
    rng = np.random.default_rng(seed)
    left = rng.uniform(0, 0.4, size=(L, 3, H)).astype(np.float32)
    right = rng.uniform(0, 0.4, size=(L, 3, H)).astype(np.float32)
    right[1, 1] = np.clip(right[1, 1] + settle, 0, 1 - left[1, 1])
    return GateStats("lstm", left, right, len(TEXT))


def probe(iteration=500, settle=0.0):
    rng = np.random.default_rng(1)
    T = len(TEXT)
    h = np.tanh(rng.normal(size=(L, T, H))).astype(np.float32)
    ids = rng.integers(0, len(VOCAB), size=(T, 5)).astype(np.int32)
    probs = np.full((T, 5), 0.2, np.float32)
    return ProbeResult(TEXT, VOCAB, "lstm", h, h.copy(), ids, probs,
                       gates=stats(settle=settle)).to_event(iteration=iteration)


# --- pure functions ------------------------------------------------------------------------
def test_braille_grid_puts_corners_in_corner_cells():
    grid = GR.braille_grid(np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), 5, 3)
    assert grid[2][0] == GR.DOT[0][3]                  # (0, 0): bottom-left dot
    assert grid[2][4] == GR.DOT[1][3]                  # (1, 0): bottom-right
    assert grid[0][0] == GR.DOT[0][0]                  # (0, 1): top-left
    assert sum(bits != 0 for row in grid for bits in row) == 3
    assert GR.cell_of(1.0, 1.0, 5, 3) == (0, 4) and GR.cell_of(0.0, 0.0, 5, 3) == (2, 0)


def test_panel_has_labelled_axes_and_one_dot_a_unit():
    left, right = np.array([0.05, 0.9, 0.5]), np.array([0.9, 0.05, 0.25])
    lines = GR.render_panel("forget", left, right, 24, 6, unit=1)
    text = [plain(t) for t in lines]
    assert len(lines) == 6 + 3 and text[0].startswith("forget gate")
    assert text[1].startswith("1 │") and text[6].startswith("0 │")      # y: share > 0.9
    assert "└" in text[7] and "left < 0.1" in text[8]                 # x: share < 0.1
    dots = "".join(text[1:7])
    assert sum(bin(ord(ch) - GR.BRAILLE).count("1") for ch in dots if ord(ch) > GR.BRAILLE) == 3
    # the picked unit's cell is reversed
    row, col = GR.cell_of(0.9, 0.05, 21, 6)
    assert any(span.style == "reverse bold" for span in lines[1 + row].spans)


@pytest.mark.parametrize("width, height", [(78, 18), (118, 34), (40, 30)])
def test_scatter_fits_its_box_with_a_panel_a_gate(width, height):
    rows = GR.render_scatter(stats(), 1, width, height, unit=3)
    assert len(rows) == height and all(r.cell_len <= width for r in rows)
    text = "\n".join(plain(r) for r in rows)
    for name in ("input gate", "forget gate", "output gate"):
        assert text.count(name) == 1
    assert "layer 1 of 2" in text


def test_unit_line_names_each_gates_shares():
    s = stats()
    line = plain(GR.unit_line(s, 0, 2))
    assert line.startswith("unit 2") and f"{s.right[0, 1, 2]:.0%}▴" in line


# --- the dialog over the pane --------------------------------------------------------------
class PaneApp(App):
    CSS_PATH = str(Path(__file__).parent.parent / "tuirnn" / "tui" / "tuirnn.tcss")

    def compose(self) -> ComposeResult:
        yield NeuronPane(id="pane")

    def on_mount(self):
        pane = self.query_one(NeuronPane)
        pane.probe = probe()
        pane.focus()


@sync
async def test_G_opens_the_scatter_new_probes_redraw_it_and_enter_picks_the_unit():
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.select(1, 0, "c")
        await pilot.press("G")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GateScatter) and screen.layer_index == 1
        before = screen.result.gates.right[1, 1].copy()
        pane.probe = probe(iteration=700, settle=0.5)          # a checkpoint: the dots move
        await pilot.pause()
        assert screen.result.iteration == 700
        assert (screen.result.gates.right[1, 1] > before).any()
        await pilot.press(*["up"] * H)                          # up to the most often open
        best = int(np.argmax(screen.result.gates.right[1, 1]))
        assert screen.unit == best
        await pilot.press("right", "left", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, GateScatter)
        assert (pane.layer_index, pane.unit) == (1, best) and "gate scatter" in pane.message


@sync
async def test_escape_closes_without_changing_the_unit():
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(NeuronPane)
        await pilot.press("G", "right", "right", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, GateScatter) and pane.unit == 0


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_snapshot_gate_scatter(size):
    from test_ui_snapshots import check
    app = PaneApp()
    async with app.run_test(size=size) as pilot:
        app.query_one(NeuronPane).select(1, 5, "c")
        await pilot.press("G")
        await pilot.pause()
        svg = app.export_screenshot()
    assert "forget" in svg and "unit" in svg
    check(f"gate_scatter_{size[0]}x{size[1]}", svg)
