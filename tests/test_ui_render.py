"""The monitor's pure functions, without an app."""
from __future__ import annotations

import dataclasses

import pytest
from ui_fakes import fake_run

from tuirnn.core.events import Paused, Resumed, StepsCompleted
from tuirnn.tui import render
from tuirnn.tui.messages import EventInbox, merge_steps
from tuirnn.tui.state import RunState


def test_numbers():
    assert render.fmt_si(215_000) == "215.0k"
    assert render.fmt_si(2_500_000) == "2.5M"
    assert render.fmt_si(12) == "12"
    assert render.fmt_duration(59) == "59s"
    assert render.fmt_duration(125) == "2m05s"
    assert render.fmt_duration(7384) == "2h03m"
    assert render.fmt_duration(200_000) == "2d07h"
    assert render.fmt_duration(None) == "–"
    assert render.fmt_share(0.4321) == "43%"
    assert render.fmt_loss(float("nan")) == "–"
    assert render.eta_seconds(100, 300, 10.0) == 20.0
    assert render.eta_seconds(100, 300, 0.0) is None


def test_progress_bar():
    assert render.progress_bar(0.5, 4) == "██  "
    assert render.progress_bar(0.0, 3) == "   "
    assert render.progress_bar(1.5, 3) == "███"
    assert len(render.progress_bar(0.37, 17)) == 17


def test_text_helpers():
    assert render.cell_width("ab世界") == 6
    assert render.visible_text("a\x00b\nc\td") == "a·b\nc\td"


def test_header_lines_fit_and_say_the_state():
    st = RunState()
    assert "WAITING" in "".join(line.plain for line in render.header_lines(st, 80)).upper()
    for ev in fake_run():
        st.apply(ev)
    lines = render.header_lines(st, 80)
    assert len(lines) == 3
    assert "TRAINING" in lines[0].plain and "tiny-demo" in lines[0].plain
    assert "LSTM 2×128" in lines[0].plain and "215.0k params" in lines[0].plain
    assert "iter 500/2000" in lines[1].plain and "ETA" in lines[1].plain
    assert "best" in lines[2].plain


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_progress_line_fits_the_width_dropping_lr_first(width):
    st = RunState()
    for ev in fake_run():
        st.apply(ev)
    st.run = dataclasses.replace(st.run, max_iters=1_000_000, iters_per_epoch=12345)
    st.iteration = 123_456
    lines = render.header_lines(st, width)
    two = lines[1].plain
    assert render.cell_width(two) <= width, two
    assert "iter 123456/1000000" in two and "ETA" in two and "…" not in two
    if width == 80:
        assert "lr" not in two and "ch/s" in two
    if width >= 100:
        assert "lr 2.0e-03" in two and "ep 1.25/81.00" in two


def test_paused_header_shows_no_rate_or_eta():
    st = RunState()
    for ev in fake_run():
        st.apply(ev)
    assert "45.0k ch/s" in render.header_lines(st, 120)[1].plain
    st.apply(Paused(iteration=500))
    two = render.header_lines(st, 120)[1].plain
    assert "– ch/s" in two and "ETA –" in two


def test_eta_uses_the_rate_over_the_last_half_minute():
    st = RunState()
    st.apply(fake_run()[0])
    for i in range(1, 40):                 # 10 steps/s for 39 s
        st.apply(StepsCompleted(10 * i, 0.0, (2.0,), 1e-3, 1.0, float(i)))
    st.apply(StepsCompleted(400, 0.0, (2.0,), 1e-3, 1.0, 45.0))   # one slow report (an eval)
    assert 7 < st.steps_per_sec < 10           # the newest report alone would say 1.7
    st.apply(Paused(400))
    st.apply(Resumed(400))
    st.apply(StepsCompleted(410, 0.0, (2.0,), 1e-3, 1.0, 545.0))  # after a long pause
    assert 7 < st.steps_per_sec < 10


def test_state_folds_events():
    st = RunState()
    for ev in fake_run():
        st.apply(ev)
    assert len(st.losses) == 500 == len(st.smooth)
    assert [it for it, _ in st.val] == [200, 400]
    assert st.best[0] == 400
    assert len(st.samples) == 2 and st.samples[-1].word_share is not None
    assert st.best_checkpoint.endswith("best.pt")


def test_inbox_merges_step_reports_and_posts_only_urgent_events():
    posted = []
    inbox = EventInbox(notify=lambda: posted.append(1))
    a = StepsCompleted(10, 0.1, (1.0, 2.0), 1e-3, 100.0, 1.0)
    b = StepsCompleted(20, 0.2, (3.0,), 1e-3, 200.0, 2.0)
    inbox(a)
    inbox(b)
    assert posted == []
    events = inbox.drain()
    assert events == [merge_steps(a, b)]
    assert events[0].losses == (1.0, 2.0, 3.0) and events[0].iteration == 20
    evs = fake_run(2)
    for ev in evs:
        inbox(ev)
    assert posted == [1]            # one wake-up however many urgent events are queued
    assert len(inbox.drain()) == 2  # RunStarted + merged steps


def test_resumed_run_shows_its_history_as_the_past():
    import dataclasses

    from ui_fakes import run_started

    from tuirnn.core.events import RunFinished, SampleGenerated
    before = fake_run(20)  # 200 iterations with evals, samples, a finish
    before = [dataclasses.replace(e, request_id=1) if isinstance(e, SampleGenerated) else e
              for e in before] + [RunFinished(200, "stopped", 2.0, None)]
    from tuirnn.tui.attach import as_history
    st = RunState()
    for ev in as_history(before):       # as an attached monitor folds a run's past
        st.apply(ev)
    assert len(st.losses) == 200 and st.loss_start == 0
    assert all(s.request_id is None for s in st.samples)      # request ids restart
    st.apply(run_started(start_iter=200))
    assert st.finished is None                                # the old end is not this run's
    st.apply(StepsCompleted(iteration=210, epoch=0.5, losses=(1.0,) * 10, lr=1e-3,
                            chars_per_sec=1.0, elapsed_s=1.0))
    assert len(st.losses) == 210 and st.loss_start == 0 and st.state == "training"
    fresh = RunState()
    fresh.apply(run_started(start_iter=500))
    fresh.apply(StepsCompleted(iteration=510, epoch=1, losses=(1.0,) * 10, lr=1e-3,
                               chars_per_sec=1.0, elapsed_s=1.0))
    assert fresh.loss_start == 500


def test_a_requested_sample_title_names_its_seed():
    from tuirnn.tui.sample_entry import SampleEntry
    asked = render.sample_title(SampleEntry("abc", 300, seed=81234, request_id=4), 0, 2).plain
    own = render.sample_title(SampleEntry("abc", 300, seed=1637), 1, 2).plain
    assert "seed 81234" in asked and "requested" in asked
    assert "seed" not in own          # a checkpoint's sample: its seed is the run's
