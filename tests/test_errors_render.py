"""The error breakdown's rows (pure functions) and the monitor's errors panel (key w), with its
snapshot at 80x24."""
from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console
from ui_fakes import fake_run, sync

from tuirnn.core import error_analysis as E
from tuirnn.core.events import ErrorsCounted
from tuirnn.core.probe import ProbeResult
from tuirnn.tui import errors_render as R
from tuirnn.tui.app import make_app
from tuirnn.tui.widgets.errors_panel import ErrorsPanel

COUNTED = ErrorsCounted(iteration=400, chars=1999, errors=612, ngram=252, memory=62, rare=31,
                        word=124, punctuation=49, boost=94,
                        where="validation chars 0-2,000 of 63,924")


def plain(t) -> str:
    c = Console(width=400, color_system=None, record=True)
    c.print(t, soft_wrap=True, end="")
    return c.export_text()


def test_rows_in_the_papers_order_with_shares_and_counts():
    b = E.from_event(COUNTED)
    rows = [plain(r) for r in R.rows(b, 80)]
    assert [r.split("  ")[0].strip() for r in rows][:1] == ["n-gram (1-9)"]
    for row, name, count in zip(rows, ("n-gram (1-9)", *E.ORACLES[1:]), b.counts):
        assert row.startswith(name)
        assert f"{100 * count / 612:5.1f}% {count:>3}" in row
    # the bars grow with the shares: n-gram (41%) longest, rare words (5%) shortest
    bars = [r.count("█") for r in rows]
    assert bars[0] == max(bars) and bars[E.RARE] == min(bars)


@pytest.mark.parametrize("width", [40, 80, 120])
def test_rows_fit_their_width(width):
    for row in R.rows(E.from_event(COUNTED), width, help_text=True):
        assert row.cell_len <= width


def test_title_and_a_model_without_ngrams():
    b = E.ErrorBreakdown(100, 10, (0, 5, 0, 5, 0, 0), ngram_used=False)
    assert plain(R.title(b, 7)) == "errors 10 of 100 chars (10.0%, p < 0.5)  iter 7"
    assert "(no n-gram model)" in plain(R.rows(b)[E.NGRAM])
    assert R.bar(0.5, 10) == "█████" and R.bar(1 / 8, 1) == "▏" and R.bar(0, 10) == ""


def test_example_line_shows_line_breaks_and_cuts_long_context():
    line = plain(R.example_line("said:\n\"Come", " ", 80))
    assert line == '    said:⏎"Come  → ␣'
    long = plain(R.example_line("x" * 200, "y", 40))
    assert long.startswith("    …") and long.endswith("→ y") and len(long) <= 40


def test_panel_before_and_after_the_first_breakdown():
    assert "next probe" in plain(R.panel(None, 80))
    text = plain(R.panel(COUNTED, 80)).splitlines()
    assert text[0].startswith("What it still gets wrong  errors 612 of 1,999 chars (30.6%")
    assert len(text) == 1 + len(E.ORACLES)


def probe_event(iteration: int = 400):
    text = 'He said "come here" and left.\n\tShe answered: "no."\n' * 4
    vocab = "".join(sorted(set(text)))
    rng = np.random.default_rng(1)
    T, L, H = len(text), 2, 12
    h = np.tanh(rng.normal(size=(L, T, H))).astype(np.float32)
    ids = rng.integers(0, len(vocab), size=(T, 5)).astype(np.int32)
    loss = rng.uniform(0, 3, T).astype(np.float32)
    loss[0] = np.nan
    return ProbeResult(text, vocab, "lstm", h, h.copy(), ids, np.full((T, 5), 0.2, np.float32),
                       loss=loss).to_event(iteration=iteration)


@sync
async def test_w_shows_the_panel_and_a_new_breakdown_redraws_it():
    app = make_app(events=fake_run() + [probe_event(), COUNTED])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        panel = app.screen.query_one(ErrorsPanel)
        assert not panel.display                       # hidden until asked for
        assert panel.counted == COUNTED
        await pilot.press("w")
        await pilot.pause()
        assert panel.display and panel.content_size.height == 1 + len(E.ORACLES)
        app.feed(ErrorsCounted(600, 1999, 500, 200, 60, 30, 110, 40, 60))
        await pilot.pause()
        await pilot.pause()
        assert panel.counted.iteration == 600
        assert "iter 600" in plain(panel.render())
        await pilot.press("w")
        await pilot.pause()
        assert not panel.display


@sync
async def test_the_panel_grows_when_the_first_breakdown_comes():
    app = make_app(events=fake_run() + [probe_event()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3", "w")
        await pilot.pause()
        panel = app.screen.query_one(ErrorsPanel)
        assert panel.content_size.height == 1
        app.feed(COUNTED)
        await pilot.pause()
        await pilot.pause()
        assert panel.content_size.height == 1 + len(E.ORACLES)
        assert panel.region.bottom <= app.screen.query_one("MonitorFooter").region.y


@sync
async def test_snapshot_errors_panel_80x24():
    from test_ui_snapshots import check
    app = make_app(events=fake_run() + [probe_event(), COUNTED])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3", "w")
        await pilot.pause()
        svg = app.export_screenshot()
    assert "What it still gets wrong" in svg.replace("&#160;", " ")
    check("errors_panel_80x24", svg)
