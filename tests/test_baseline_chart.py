"""n-gram lines on the loss chart: the pure render, the state that feeds it, snapshots."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ui_snapshots import check
from textual.app import App, ComposeResult
from ui_fakes import fake_run, sync

from tuirnn.core.events import BaselineComputed, EvalCompleted
from tuirnn.tui.baselines import BASELINE_VIEWS, baseline_orders
from tuirnn.tui.chart import BASELINE_CHAR, NO_COLOR_STYLE, chart_rows
from tuirnn.tui.state import RunState
from tuirnn.tui.widgets.loss_chart import LossChart

LOSSES = (3.07, 2.43, 1.93, 1.53, 1.45, 1.50, 1.52)   # order 5 is the best


def falling(n: int = 400) -> np.ndarray:
    return np.linspace(3.0, 1.0, n)


def row_of(rows, text: str) -> int:
    found = [i for i, (line, _) in enumerate(rows) if text in line]
    assert len(found) == 1, [line for line, _ in rows]
    return found[0]


def test_a_baseline_is_a_labelled_line_at_its_height():
    y = falling()
    rows = chart_rows(y, y, [], None, 60, 20, clip=False,
                      baselines=((2.0, "5-gram 2.00"), (1.5, "9-gram 1.50")))
    hi, lo = row_of(rows, "5-gram 2.00"), row_of(rows, "9-gram 1.50")
    # 3.0 at the top row, 1.0 at the bottom plot row (18): 2.0 halfway, 1.5 three quarters
    assert abs(hi - 9) <= 1 and abs(lo - 13) <= 1
    line = rows[hi][0]
    assert line[7:8] == BASELINE_CHAR and line.count(BASELINE_CHAR) > 20
    # the curve crosses the line and stays drawn: a braille cell on that row
    assert any(0x2800 <= ord(ch) <= 0x28FF for ch in line)
    styles = {name for _, _, name in rows[hi][1]}
    assert "magenta" in styles
    plain = chart_rows(y, y, [], None, 60, 20, clip=False, style=NO_COLOR_STYLE,
                       baselines=((2.0, "5-gram 2.00"),))
    assert "5-gram 2.00" in plain[row_of(plain, "5-gram")][0]


def test_the_y_range_reaches_down_to_a_baseline_but_not_up():
    y = falling()
    rows = chart_rows(y, y, [], None, 60, 20, clip=False,
                      baselines=((0.5, "20-gram 0.50"), (9.0, "1-gram 9.00")))
    assert row_of(rows, "20-gram 0.50") == 18           # the bottom plot row, labelled 0.5
    assert rows[18][0].lstrip().startswith("0.5")
    assert not any("1-gram" in line for line, _ in rows)
    assert float(rows[0][0].split()[0]) > 2.9            # the top is still the curve's


def test_two_lines_on_one_row_share_it():
    y = falling()
    rows = chart_rows(y, y, [], None, 60, 12, clip=False,
                      baselines=((1.5, "6-gram 1.50"), (1.51, "7-gram 1.51")))
    assert "6-gram 1.50 · 7-gram 1.51" in rows[row_of(rows, "6-gram")][0]


def test_views_choose_the_orders():
    assert baseline_orders(LOSSES, BASELINE_VIEWS[0]) == [3, 5]
    assert baseline_orders(LOSSES + (1.2,), BASELINE_VIEWS[0]) == [3, 5, 8]
    assert baseline_orders(LOSSES, "best n-gram") == [5]
    assert baseline_orders(LOSSES, "every n-gram") == list(range(1, 8))
    assert baseline_orders(LOSSES, "no n-grams") == []
    assert baseline_orders((float("nan"), 2.0), "best n-gram") == [2]


def test_the_state_labels_each_line_with_the_iteration_the_model_beat_it():
    st = RunState()
    assert st.baseline_lines() == ()
    st.apply(EvalCompleted(100, 0.1, 2.0, 2.0, True))     # above 3-gram's 1.93 still
    st.apply(EvalCompleted(200, 0.2, 1.48, 1.48, True))
    v0 = st.version
    assert st.apply(BaselineComputed("val", LOSSES, 1000, 100, 0.1, 1.0)) == {"loss"}
    assert st.version > v0
    assert st.baseline_lines() == ((1.93, "3-gram 1.93 ↓200"), (1.45, "5-gram 1.45"))
    st.apply(BaselineComputed("test", (1.0,), 1000, 100, 0.1, 1.0))   # val is kept over test
    assert st.baseline is not None and st.baseline.split == "val"
    assert st.cycle_baselines() == "best n-gram"
    assert st.baseline_lines() == ((1.45, "5-gram 1.45"),)


SNAPSHOT_BASELINE = BaselineComputed("val", (4.1, 3.2, 2.4, 1.9, 1.75, 1.72, 1.74), 90_000,
                                     10_000, 0.4, 20.0)


class ChartApp(App):
    """The loss chart alone, as the monitor styles it: a snapshot that only the chart changes."""
    CSS = "#loss { height: 1fr; border: round $primary-darken-1; border-title-color: $text-muted; }"

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield LossChart(self.state, id="loss")


async def chart_shot(size: tuple[int, int]) -> str:
    st = RunState()
    for ev in [*fake_run(), SNAPSHOT_BASELINE]:
        st.apply(ev)
    app = ChartApp(st)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        return app.export_screenshot()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_snapshot_chart_with_baselines(size):
    svg = await chart_shot(size)
    assert "5-gram" in svg and "6-gram" in svg and "n-gram" in svg
    check(f"chart_baselines_{size[0]}x{size[1]}", svg)


def test_snapshot_files_exist_for_both_sizes():
    snaps = Path(__file__).parent / "snapshots"
    for name in ("chart_baselines_80x24", "chart_baselines_120x40"):
        assert (snaps / f"{name}.svg").exists() or (snaps / f"{name}.new.svg").exists()


@sync
async def test_B_reads_a_baseline_appended_to_the_log_of_a_live_run(tmp_path):
    import dataclasses
    import json

    from tuirnn.core.events import RunStarted, to_json_dict
    from tuirnn.tui.app import make_app
    events = fake_run()
    events = [dataclasses.replace(ev, run_dir=str(tmp_path)) if isinstance(ev, RunStarted)
              else ev for ev in events]
    app = make_app(events=events)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        state = app.run_state
        await pilot.press("B")                      # nothing in the log yet: no lines
        assert state.baseline is None and state.baseline_lines() == ()
        (tmp_path / "events.jsonl").write_text(
            json.dumps(to_json_dict(SNAPSHOT_BASELINE)) + "\n", encoding="utf-8")
        await pilot.press("B")
        assert state.baseline == SNAPSHOT_BASELINE
        assert [label.split()[0] for _, label in state.baseline_lines()] == [
            "3-gram", "5-gram", "6-gram"]
        await pilot.press("B")                      # then B cycles: the best only
        assert [label.split()[0] for _, label in state.baseline_lines()] == ["6-gram"]
