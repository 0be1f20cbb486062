"""NeuronPane keys in a tiny app, fed a synthetic probe (no model, no training)."""
import asyncio
import functools
import os
import time
from pathlib import Path

import numpy as np
import pytest
from textual.app import App, ComposeResult

from tuirnn.core.finder import signal_for
from tuirnn.core.probe import ProbeResult
from tuirnn.tui.widgets.neuron_finder import NeuronFinder
from tuirnn.tui.widgets.neuron_pane import NeuronPane
from tuirnn.tui.widgets.neuron_prompt import NeuronPrompt

SNAPSHOT = Path(__file__).parent / "snapshots" / "neuron_pane.svg"
TEXT = ('He said "come here" and left.\n\tShe (quietly) answered: "no [never]."\n'
        '漢字 too.\n') * 4
VOCAB = "".join(sorted(set(TEXT)))
L, H = 2, 6


def synthetic_probe(text=TEXT, iteration=500, seed=0):
    rng = np.random.default_rng(seed)
    T = len(text)
    h = np.tanh(rng.normal(size=(L, T, H))).astype(np.float32)
    c = np.tanh(rng.normal(size=(L, T, H))).astype(np.float32)
    c[1, :, 4] = signal_for(text, "quotes") * 1.8 - 0.9      # a quote unit to find
    ids = rng.integers(0, len(VOCAB), size=(T, 5)).astype(np.int32)
    probs = np.sort(rng.dirichlet(np.ones(8), size=T)[:, :5], axis=1)[:, ::-1].astype(np.float32)
    return ProbeResult(text, VOCAB, "lstm", h, c, ids, probs).to_event(iteration=iteration)


class PaneApp(App):
    def __init__(self):
        super().__init__()
        self.requests = []

    def compose(self) -> ComposeResult:
        yield NeuronPane(id="pane")

    def on_mount(self):
        pane = self.query_one(NeuronPane)
        pane.probe = synthetic_probe()
        pane.latest_sample = "a new sample"
        pane.focus()

    def on_neuron_pane_probe_requested(self, message):
        self.requests.append((message.text, message.source))


def pilot(test):
    """Run an async Pilot test on its own event loop (no async pytest plugin needed)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))
    return run


@pytest.fixture(autouse=True)
def steady_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)


@pilot
async def test_unit_layer_kind_and_cursor_keys():
    app = PaneApp()
    async with app.run_test(size=(80, 10)) as pilot:           # text taller than the pane
        pane = app.query_one(NeuronPane)
        await pilot.press("n", "n")
        assert pane.unit == 2
        await pilot.press("p", "p", "p")
        assert pane.unit == H - 1                          # wraps around
        await pilot.press("plus")
        assert pane.layer_index == 1
        await pilot.press("minus", "minus")
        assert pane.layer_index == 1                       # wraps: 1 -> 0 -> 1
        await pilot.press("x")
        assert pane.kind == "h"
        await pilot.press("x", "right", "right", "down")
        assert pane.kind == "c" and pane.cursor > 2
        await pilot.press("end")
        await pilot.pause()
        assert pane.cursor == len(TEXT) - 1 and pane.top_line > 0
        await pilot.press("home")
        await pilot.pause()
        assert pane.cursor == 0 and pane.top_line == 0
        await pilot.press("r")
        assert pane.show_predictions
        await pilot.pause()


@pilot
async def test_new_probe_keeps_unit_and_cursor():
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.select(1, 3, "h")
        pane.move_cursor(10)
        pane.probe = synthetic_probe(iteration=1000, seed=1)    # re-probe after an eval
        await pilot.pause()
        assert (pane.layer_index, pane.unit, pane.kind, pane.cursor) == (1, 3, "h", 10)
        assert pane.result.iteration == 1000


@pilot
async def test_goto_unit_and_out_of_range():
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        await pilot.press("g")
        assert isinstance(app.screen, NeuronPrompt)
        app.screen.query_one("#prompt-value").value = "1:3"
        await pilot.press("enter")
        assert (pane.layer_index, pane.unit) == (1, 3)
        await pilot.pause()
        top = [pane.render_line(y).text.rstrip() for y in (0, 1)]   # as drawn, 80 columns
        assert "layer 1 of 2 · unit 3 of 6" in top[0] and top[0].endswith("+1")
        assert "+1" not in top[1]                                  # never wrapped
        await pilot.press("g")
        prompt = app.screen
        prompt.query_one("#prompt-value").value = "7:99"
        await pilot.press("enter")                       # stays open, saying what is wrong
        assert app.screen is prompt and "out of range" in str(prompt.query_one("#prompt-hint").render())
        prompt.query_one("#prompt-value").value = "x"
        await pilot.press("enter")
        assert app.screen is prompt and "not a unit" in str(prompt.query_one("#prompt-hint").render())
        await pilot.press("escape")
        assert (pane.layer_index, pane.unit) == (1, 3)
        pane.note("some old error")
        await pilot.press("n")                           # the next good action clears it
        assert pane.message == "" and pane.unit == 4


@pilot
async def test_finder_selects_the_quote_unit():
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(NeuronPane)
        await pilot.press("slash")
        assert isinstance(app.screen, NeuronFinder)
        finder = app.screen
        assert (finder.scores[0].layer, finder.scores[0].unit) == (1, 4)
        await pilot.press("enter", "enter")                # pattern list -> unit list -> pick
        assert not isinstance(app.screen, NeuronFinder)
        assert (pane.layer_index, pane.unit, pane.kind) == (1, 4, "c")
        await pilot.press("slash", *"[unclosed")         # focus starts in the regex box
        assert app.screen.query_one("#finder-regex").value == "[unclosed"
        await pilot.press("enter")
        assert "bad regex" in str(app.screen.query_one("#finder-status").render())
        await pilot.press("escape")


@pilot
async def test_finder_regex_first_then_tab_or_down_to_the_built_ins():
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(NeuronPane)
        await pilot.press("f")
        finder = app.screen
        assert finder.focused.id == "finder-regex"
        assert "Tab" in str(finder.query_one("#finder-hint").render())
        await pilot.press(*'"', "enter")
        assert finder.pattern == '"' and finder.focused.id == "finder-units"
        await pilot.press("escape", "f", "down")
        assert app.screen.focused.id == "finder-patterns"
        await pilot.press("escape", "f", "tab")
        assert app.screen.focused.id == "finder-patterns"
        await pilot.press("escape")
        assert app.screen.focused is pane


@pilot
async def test_text_choices_post_probe_requests(tmp_path):
    app = PaneApp()
    path = tmp_path / "mine.txt"
    path.write_text("from a file\r\nline two\n", encoding="utf-8")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        await pilot.press("t")
        app.screen.query_one("#prompt-value").text = 'typed "text"\nhere'
        await pilot.press("ctrl+s")
        await pilot.press("m", "o")
        app.screen.query_one("#prompt-value").value = str(path)
        await pilot.press("enter")
        await pilot.press("o")
        app.screen.query_one("#prompt-value").value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        assert "cannot read" in pane.message
        await pilot.press("v")
        await pilot.pause()
        assert app.requests == [('typed "text"\nhere', "typed"), ("a new sample", "sample"),
                                ("from a file\nline two\n", "file"), (None, "val")]
        assert pane.probe_source() == (None, "val")


@pilot
async def test_switching_units_redraws_fast():
    app = PaneApp()
    async with app.run_test(size=(160, 50)):
        pane = app.query_one(NeuronPane)
        pane.show_predictions = True
        times = []
        for _ in range(10):
            start = time.perf_counter()
            pane.action_unit(1)
            pane.render()
            times.append(time.perf_counter() - start)
        assert min(times) < 0.05


@pilot
async def test_snapshot():
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.select(1, 4, "c")
        pane.move_cursor(9)
        await pilot.pause()
        svg = app.export_screenshot(title="neuron pane")
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(svg, encoding="utf-8")
    assert svg == SNAPSHOT.read_text(encoding="utf-8")


@pilot
async def test_probe_without_arrays_keeps_the_last_one():
    from tuirnn.core.events import from_json_dict, to_json_dict
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = from_json_dict(to_json_dict(synthetic_probe(iteration=900)))  # no bytes
        await pilot.pause()
        assert pane.result.iteration == 500 and "no activations" in pane.message


@pilot
async def test_no_color_still_shows_the_unit(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = PaneApp()
    async with app.run_test(size=(80, 24)):
        pane = app.query_one(NeuronPane)
        pane.select(1, 4, "c")
        text = pane.render()
        styles = {str(span.style) for span in text.spans}
        assert not any("on #" in s for s in styles) and any("reverse" in s for s in styles)


@pilot
async def test_finder_starts_on_a_pattern_the_text_has():
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = synthetic_probe(text="no quotes here (none)\n" * 20)
        await pilot.pause()
        await pilot.press("f")
        assert app.screen.pattern == "parens" and app.screen.scores
