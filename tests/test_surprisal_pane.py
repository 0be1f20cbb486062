"""The Neurons tab's surprisal view (key u), on a synthetic probe with per-character losses."""
import math

import numpy as np
from test_neuron_pane import TEXT, VOCAB, PaneApp, pilot, steady_terminal  # noqa: F401

from tuirnn.core.probe import ProbeResult
from tuirnn.tui.widgets.neuron_pane import NeuronPane


def probe_with_losses(loss):
    T = len(TEXT)
    acts = np.zeros((1, T, 4), np.float32)
    return ProbeResult(TEXT, VOCAB, "lstm", acts, acts.copy(), np.zeros((T, 5), np.int32),
                       np.full((T, 5), 0.2, np.float32), loss=loss,
                       where="validation chars 0-200 of 900 (quotes)").to_event(iteration=300)


@pilot
async def test_u_colours_by_loss_and_shows_the_mean():
    loss = np.full(len(TEXT), math.log(2) * 3, np.float32)      # 3 bits on every character
    loss[0] = np.nan
    loss[5] = math.log(2) * 9                                    # one big surprise
    app = PaneApp()
    async with app.run_test(size=(160, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = probe_with_losses(loss)
        await pilot.pause()
        assert "validation chars 0-200 of 900 (quotes)" in pane.render().plain
        await pilot.press("u")
        assert pane.surprisal
        shown = pane.render().plain
        mean_bits = (3 * (len(TEXT) - 2) + 9) / (len(TEXT) - 1)
        assert f"surprisal {mean_bits:.2f} bits/char" in shown and "8+" in shown
        assert "first char: not predicted" in shown              # the cursor is on char 0
        await pilot.press("right")
        assert "3.00 bits (p 12%)" in pane.render().plain
        values = pane.values()
        assert values[5] > values[4] > 0 and math.isnan(values[0])   # redder where surprised
        await pilot.press("u")
        assert not pane.surprisal and "bits/char" not in pane.render().plain


@pilot
async def test_a_probe_without_losses_says_so():
    app = PaneApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = probe_with_losses(None)
        await pilot.press("u")
        assert not pane.surprisal and "no per-character loss" in pane.message
