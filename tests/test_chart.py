"""The loss chart: pure drawing (chart.py) and the widget's keys (z , . y)."""
from __future__ import annotations

import numpy as np
from ui_fakes import fake_run, run_started, sync

from tuirnn.core.events import EvalCompleted, StepsCompleted
from tuirnn.tui import chart
from tuirnn.tui.app import make_app
from tuirnn.tui.render import header_lines
from tuirnn.tui.state import RunState
from tuirnn.tui.widgets.loss_chart import LossChart

BOX = set("─│╮╰╯╭")


def braille(text: str) -> bool:
    return any(0x2800 < ord(c) <= 0x28FF for c in text)


def decaying(n: int) -> np.ndarray:
    """A run's loss: 3.3 falling fast to ~1.2, then slowly to ~1.1 (like War and Peace)."""
    x = np.arange(n, dtype=float)
    return 2.1 * np.exp(-x / (n / 40)) + 1.2 - 0.1 * x / n


def labels(lines) -> list[str]:
    return [line.plain[:chart.LABEL_W].strip() for line in lines[:-1]]


def test_bin_means_averages_into_columns():
    y = np.arange(100, dtype=float)
    cols = chart.bin_means(y, 10)
    assert len(cols) == 10 and cols[0] == np.mean(np.arange(10))
    assert len(chart.bin_means(y[:5], 10)) == 5      # fewer points: one per column
    assert len(chart.bin_means(np.zeros(0), 10)) == 0


def _chart(n, log=False, width=60, height=12, **kw):
    y = np.exp(-np.linspace(0, 3, n)) * 3 + 1
    return chart.braille_chart(y, y, [(n // 2, 1.5)], (n, 1.05), width, height, log=log, **kw)


def test_chart_shape_and_marks():
    lines = _chart(1000)
    assert len(lines) == 12 and all(len(line.plain) <= 60 for line in lines)
    text = "\n".join(line.plain for line in lines)
    assert "★" in text and "•" in text and braille(text)     # one val point: a dot
    assert lines[-1].plain.strip().endswith("1000")
    # the curve goes down: its first dots are on a higher row than its last ones
    rows = [i for i, line in enumerate(lines[:-1]) if braille(line.plain[7:12])]
    rows_end = [i for i, line in enumerate(lines[:-1]) if braille(line.plain[-5:])]
    assert min(rows) < max(rows_end)


def test_chart_log_scale_and_edge_cases():
    assert len(_chart(500, log=True)) == 12
    assert len(_chart(1)) == 12                               # a single point
    assert len(chart.braille_chart(np.ones(50), np.ones(50), [], None, 40, 6)) == 6
    empty = chart.braille_chart(np.zeros(0), np.zeros(0), [], None, 40, 6)
    assert "waiting" in "".join(line.plain for line in empty)
    assert len(chart.braille_chart(np.ones(5), np.ones(5), [], None, 3, 1)) == 1


def test_robust_range_leaves_out_the_start_and_says_so():
    y = decaying(10_000)
    clipped = chart.braille_chart(y, y, [], None, 100, 20)
    full = chart.braille_chart(y, y, [], None, 100, 20, clip=False)
    top, bottom = labels(clipped)[0], labels(clipped)[-1]
    assert top.startswith("↑") and float(top[1:]) < 2.0           # 3.3 is cut off
    assert not labels(full)[0].startswith("↑") and float(labels(full)[0]) > 3.0
    assert float(bottom) == float(labels(full)[-1])                # the low end stays
    # the slow part (last 90%) spans most rows when clipped, a few when not
    def rows_used(lines):
        return sum(braille(line.plain[chart.LABEL_W + 10:]) for line in lines[:-1])
    assert rows_used(clipped) > 2 * rows_used(full)
    # a flat curve is never marked as clipped
    flat = chart.braille_chart(np.full(500, 2.0), np.full(500, 2.0), [], None, 60, 10)
    assert not labels(flat)[0].startswith("↑")


def test_window_start_cycles_whole_quarter_and_last_2000():
    assert chart.WINDOWS == ("whole run", "last 25%", "last 2000")
    assert chart.window_start(10_000, "whole run") == 0
    assert chart.window_start(10_000, "last 25%") == 7_500
    assert chart.window_start(10_000, "last 2000") == 8_000
    assert chart.window_start(500, "last 2000") == 0
    assert chart.window_start(0, "last 25%") == 0


def test_window_leaves_out_earlier_val_points_and_shows_its_iterations():
    y = decaying(4000)
    val = [(i, float(y[i - 1]) + 0.05) for i in range(500, 4001, 500)]
    lines = chart.braille_chart(y[3000:], y[3000:], val, (500, 0.5), 80, 12, x0=3000)
    assert lines[-1].plain.split() == ["3001", "4000"]
    assert "★" not in "".join(line.plain for line in lines)      # best lies before the window


def test_val_is_a_connected_line_of_its_own_style_in_no_color():
    y = decaying(2000)
    val = [(i, float(y[i - 1]) + 0.15) for i in (100, 200, 300, 500, 700, 1000, 1500, 2000)]
    style = chart.NO_COLOR_STYLE
    lines = chart.braille_chart(y, y, val, None, 80, 16, style=style)
    cells = [(r, c) for r, line in enumerate(lines[:-1])
             for c, ch in enumerate(line.plain) if ch in BOX]
    # one cell in every column from the first val point to the last: connected
    cols = sorted({c for _, c in cells})
    assert len(cols) > 40 and cols == list(range(cols[0], cols[-1] + 1))
    # without colour the three curves still differ: raw dim, smoothed bold braille, val box chars
    styles = {str(span.style) for line in lines for span in line.spans}
    assert {"dim", "bold"} <= styles
    for r, c in cells:
        assert any(s.start <= c < s.end and str(s.style) == style.val for s in lines[r].spans)


def test_val_line_cells_joins_rows_with_corners():
    cells = chart.val_line_cells([(2, 0), (5, 1), (5, 3)])
    assert cells[0] == (2, 0, "─")
    assert [(r, c, ch) for r, c, ch in cells if c == 1] == [(2, 1, "╮"), (3, 1, "│"), (4, 1, "│"),
                                                           (5, 1, "╰")]
    assert cells[-1] == (5, 3, "─")
    assert chart.val_line_cells([(4, 7)]) == [(4, 7, "•")]
    up = chart.val_line_cells([(5, 0), (3, 1)])
    assert up[1:] == [(5, 1, "╯"), (4, 1, "│"), (3, 1, "╭")]


def per_char(segments) -> list[tuple[str, object]]:
    return [(ch, seg.style) for seg in segments for ch in seg.text]


def test_row_segments_are_what_rich_renders_with_the_base_under():
    """The widget's rows become Segments that give every character the style rich gives it
    when it prints the same line as Text (braille_chart's), over the widget's base style."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    y = decaying(3000)
    val = [(i, float(y[i - 1]) + 0.1) for i in (100, 300, 700, 1500, 3000)]
    console = Console(width=120, color_system="truecolor", force_terminal=True)
    options = console.options.update(no_wrap=True, overflow="ignore")
    base = Style(color="white", bgcolor="grey11")
    for style in (chart.ChartStyle(), chart.NO_COLOR_STYLE):
        for args in ((y, y, val, (1500, 1.2), 120, 20), (y[:0], y[:0], [], None, 120, 5)):
            rows = chart.chart_rows(*args, style=style)
            lines = chart.braille_chart(*args, style=style)
            assert [text for text, _ in rows] == [line.plain for line in lines]
            for row, line in zip(rows, lines):
                printed = [seg for seg in console.render(line, options) if seg.text != "\n"]
                want = per_char(Segment.apply_style(printed, base))
                assert per_char(chart.row_segments(row, base)) == want


def test_smoothing_redoes_the_curve_and_gap_is_in_the_header():
    st = RunState()
    st.apply(run_started())
    st.apply(StepsCompleted(iteration=4, epoch=0.01, losses=(4.0, 2.0, 4.0, 2.0), lr=1e-3,
                            chars_per_sec=1.0, elapsed_s=1.0))
    assert list(st.smooth) != [4.0, 2.0, 4.0, 2.0]
    st.set_smoothing(0.0)
    assert list(st.smooth) == [4.0, 2.0, 4.0, 2.0]
    st.apply(StepsCompleted(iteration=5, epoch=0.01, losses=(3.0,), lr=1e-3, chars_per_sec=1.0,
                            elapsed_s=2.0))
    assert st.smooth[-1] == 3.0                      # new steps use the new weight
    st.apply(EvalCompleted(iteration=5, epoch=0.01, val_loss=3.5, best_val_loss=3.5, is_best=True))
    assert st.gap == 3.5 - 15.0 / 5
    assert "gap +0.500" in header_lines(st, 120)[2].plain


@sync
async def test_keys_cycle_window_smoothing_and_y_range():
    app = make_app(events=fake_run())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        loss = app.monitor.query_one(LossChart)
        title = lambda: str(loss.border_title)
        assert "whole run" in title() and "smoothed 0.95" in title() and "─ val" in title()
        first_axis = loss.chart_rows()[-1][0].split()
        for expected in ("last 25%", "last 2000", "whole run"):
            await pilot.press("z")
            assert expected in title()
            if expected == "last 25%":
                assert loss.chart_rows()[-1][0].split() == ["376", "500"]
        assert loss.chart_rows()[-1][0].split() == first_axis
        await pilot.press("full_stop")
        assert "smoothed 0.97" in title()
        for _ in range(4):
            await pilot.press("comma")
        assert "smoothed 0.50" in title() and app.run_state.smoothing == 0.5
        await pilot.press("comma", "comma")                # 0, then the end: a bell
        assert "smoothed 0.00" in title()
        assert list(app.run_state.smooth) == list(app.run_state.losses)
        await pilot.press("y")
        assert "full y" in title() and not loss.clip
        await pilot.press("y")
        assert "full y" not in title()
