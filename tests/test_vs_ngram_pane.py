"""The Neurons tab's "model − n-gram" view (key k): counted on a thread, then per character."""
import asyncio
import math

import numpy as np
from test_neuron_pane import TEXT, PaneApp, pilot, steady_terminal  # noqa: F401
from test_surprisal_pane import probe_with_losses

from tuirnn.core.events import BaselineComputed, RunStarted
from tuirnn.tui.ngram_source import DEFAULT_ORDER, NGramSource
from tuirnn.tui.state import RunState
from tuirnn.tui.widgets.neuron_pane import NeuronPane


def run_started(corpus) -> RunStarted:
    return RunStarted("r", "/tmp/r", "lstm", 4, 1, 100, "cpu", "".join(sorted(set(TEXT))),
                      1000, 100, 10, 100, 0, 4, 16, 1e-3,
                      {"data": {"path": str(corpus), "val_frac": 0.1}})


class RunPaneApp(PaneApp):
    def __init__(self, corpus=None):
        super().__init__()
        self.run_state = RunState()
        if corpus is not None:
            self.run_state.apply(run_started(corpus))


async def until_counted(pane, pilot) -> None:
    for _ in range(200):
        if pane._ngram.model is not None or pane._ngram.status.startswith("no n-gram"):
            break
        await asyncio.sleep(0.05)
    await pilot.pause()


@pilot
async def test_k_colours_by_model_minus_ngram_with_both_means(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 60, encoding="utf-8")      # the n-gram learns TEXT by heart
    loss = np.full(len(TEXT), math.log(2) * 3, np.float32)     # the model: 3 bits everywhere
    loss[0] = np.nan
    app = RunPaneApp(corpus)
    async with app.run_test(size=(160, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = probe_with_losses(loss)
        await pilot.pause()
        await pilot.press("k")
        assert pane.vs_ngram and not pane.surprisal
        await until_counted(pane, pilot)
        assert pane._ngram.model is not None, pane._ngram.status
        shown = pane.render().plain
        assert "where memory wins" in shown and f"model − {DEFAULT_ORDER}-gram" in shown
        assert "model 3.000 bits/char" in shown
        values = pane.values()
        assert math.isnan(values[0]) and np.nanmean(values) > 0.5      # red: the n-gram wins
        await pilot.press("right")
        assert "n-gram better" in pane.render().plain
        await pilot.press("u")                          # surprisal replaces it
        assert pane.surprisal and not pane.vs_ngram


@pilot
async def test_without_a_corpus_the_view_says_why(tmp_path):
    app = RunPaneApp(tmp_path / "gone.txt")
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = probe_with_losses(np.zeros(len(TEXT), np.float32))
        await pilot.press("k")
        await until_counted(pane, pilot)
        assert "no n-gram" in pane.render().plain


def test_the_order_is_the_baselines_best_capped():
    assert NGramSource.order_for(None) == DEFAULT_ORDER
    ev = BaselineComputed("val", (3.0, 2.0, 1.5, 1.4, 1.6), 10, 10, 0.1, 1.0)
    assert NGramSource.order_for(ev) == 4
    long = BaselineComputed("val", tuple(3.0 - 0.1 * n for n in range(20)), 10, 10, 0.1, 1.0)
    assert NGramSource.order_for(long) == 12
