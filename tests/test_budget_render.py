"""The header with train.time_budget: the bar and the ETA count the budget down; paused, the
clock stops and the header says so."""
from __future__ import annotations

import dataclasses

from ui_fakes import fake_run

from tuirnn.core.events import Paused, Resumed, RunStarted, StepsCompleted
from tuirnn.tui import render
from tuirnn.tui.state import RunState


def budgeted_state(left: float) -> RunState:
    st = RunState()
    for ev in fake_run():
        if isinstance(ev, RunStarted):
            ev = dataclasses.replace(ev, time_budget_s=90.0, max_iters=10**8)
        if isinstance(ev, StepsCompleted):
            ev = dataclasses.replace(ev, budget_left_s=left)
        st.apply(ev)
    return st


def test_the_bar_and_eta_count_down_the_budget():
    st = budgeted_state(left=30.0)
    two = render.header_lines(st, 100)[1].plain
    assert two.startswith("iter 500 · 1m00s/1m30s "), two
    assert " 67% " in two and "ETA 30s" in two, two
    bar = two[len("iter 500 · 1m00s/1m30s "):two.index("  67%")]
    assert abs(bar.count("█") - 2 / 3 * len(bar)) <= 1, bar     # 60 s of 90 s, not 500 iters
    plain = RunState()                                # no budget: iterations as before
    for ev in fake_run():
        plain.apply(ev)
    assert "iter 500/2000" in render.header_lines(plain, 100)[1].plain


def test_paused_the_clock_stops_and_says_so():
    st = budgeted_state(left=30.0)
    st.apply(Paused(iteration=500, budget_left_s=21.0))   # an eval since the last report
    two = render.header_lines(st, 100)[1].plain
    assert "clock stopped, 21s left" in two and "ETA" not in two, two
    st.apply(Resumed(iteration=500))
    assert "ETA 21s" in render.header_lines(st, 100)[1].plain


def test_a_resumed_run_starts_with_the_budget_it_has_left():
    st = RunState()
    started = dataclasses.replace(fake_run()[0], time_budget_s=600.0, budget_used_s=420.0)
    st.apply(started)
    assert st.budget_left_s == 180.0
    assert render.header_lines(st, 80)[1].plain.startswith("iter 0 · 7m00s/10m00s ")


def test_the_budget_line_fits_80_columns():
    st = budgeted_state(left=3599.0)
    for width in (60, 80):
        two = render.header_lines(st, width)[1].plain
        assert render.cell_width(two) <= width and "ETA" in two, two


def test_the_chart_draws_the_learning_rate_on_its_own_scale():
    import numpy as np

    from tuirnn.tui.chart import chart_rows
    raw = np.full(200, 2.0)                              # a flat loss: the middle row
    lr = [(i, 2e-3 * (1 - i / 200)) for i in range(10, 201, 10)]     # linear to 0
    off = chart_rows(raw, raw, [], None, 60, 12)
    on = chart_rows(raw, raw, [], None, 60, 12, lr=lr)
    assert not any("∙" in text for text, _ in off)
    rows = [i for i, (text, _) in enumerate(on) if "∙" in text]
    assert rows and rows[0] == 0 and rows[-1] == 10     # the peak at the top, 0 at the bottom
    first_col = min(text.index("∙") for text, _ in on if "∙" in text)
    top = on[0][0]
    assert top.index("∙") == first_col                  # the rate falls left to right
    assert any(name == "bright_blue" for _, _, name in on[0][1])


def test_state_keeps_the_rate_of_every_report_and_rewinds_it():
    st = budgeted_state(left=30.0)
    assert len(st.lrs) == 50 and st.lrs[0] == (10, 2e-3)
    st.rewind(200)
    assert st.lrs[-1][0] == 200
