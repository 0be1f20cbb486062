"""Train loss (raw and smoothed), the val line and the best val, over a window of the run."""
from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from ..chart import (
    NO_COLOR_STYLE,
    SMOOTHING_STEPS,
    WINDOWS,
    ChartStyle,
    Row,
    chart_rows,
    row_segments,
    window_start,
)
from ..state import RunState


class LossChart(Widget):
    """A braille chart of `state`'s loss series; `log` switches the y axis to log scale,
    `window` picks the span shown (an index into chart.WINDOWS), `clip` the robust y range.

    It draws through Textual's line API: the chart's lines become Strips of plain Segments
    once per (data version, size, log), and `render_line` hands them out. Going through
    `render()` instead made Textual re-style every span of every line at each redraw, ~15 ms
    of CPU at every redraw. A redraw is now ~1.5 ms at 5k points (benchmarks/chart.py: numpy
    drawing, the series averaged into pixel columns first, rows straight into Segments).
    """

    log_scale: reactive[bool] = reactive(False)   # not `log`: that is Widget.log, the logger
    window: reactive[int] = reactive(0)
    clip: reactive[bool] = reactive(True)
    show_lr: reactive[bool] = reactive(False)    # the learning rate drawn in (`L`)
    MIN_REDRAW_INTERVAL = 2.0    # s between redraws for new losses (the header shows them at once)

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._cache: tuple[tuple, list[Strip]] | None = None
        self._last_redraw = 0.0
        self._redraw_timer: Timer | None = None
        self._titled_baselines = False   # whether the legend names the n-gram lines

    def data_changed(self, now: bool = False) -> None:
        """New losses: redraw now, or once MIN_REDRAW_INTERVAL has passed since the last one.

        Each redraw takes a few ms of CPU, which a trainer on every core of a small machine
        pays for; at most one every two seconds keeps that well under 1% of its time, and the
        newest data is always drawn in the end. `now`: the trainer is not stepping (an eval, a
        pause, the end), so a redraw costs it nothing: draw at once."""
        if now:
            if self._redraw_timer is not None:
                self._redraw_timer.stop()
            self._redraw()
            return
        if self._redraw_timer is not None:
            return
        wait = self._last_redraw + self.MIN_REDRAW_INTERVAL - time.monotonic()
        if wait <= 0:
            self._redraw()
        else:
            self._redraw_timer = self.set_timer(wait, self._redraw)

    def flush(self) -> None:
        """Draw now if new losses are waiting for their redraw."""
        if self._redraw_timer is not None:
            self.data_changed(now=True)

    def _redraw(self) -> None:
        self._redraw_timer = None
        self._last_redraw = time.monotonic()
        self.refresh()

    def update_title(self) -> None:
        """The legend: each mark in its style as drawn, the smoothing, then the view (scale,
        window, y range). Styles are parsed here once: a markup title would be re-parsed at
        every redraw of the border."""
        st = self.chart_style()
        parts: list = []
        for label, name in (("⠉ raw", st.raw), (f"⠉ smoothed {self.state.smoothing:.2f}", st.smooth),
                            ("─ val", st.val), ("★ best", st.best)):
            parts += [(label, Style.parse(name) if name else Style()), " · "]
        self._titled_baselines = bool(self.state.baseline_lines())
        if self._titled_baselines:
            parts += [("┄ n-gram", Style.parse(st.baseline) if st.baseline else Style()), " · "]
        if self.show_lr:
            parts += [("∙ lr", Style.parse(st.lr) if st.lr else Style()), " · "]
        view = [("log" if self.log_scale else "linear"), WINDOWS[self.window]]
        if not self.clip:
            view.append("full y")
        self.border_title = Text.assemble(*parts, " · ".join(view))
        self.refresh()

    def watch_log_scale(self) -> None:
        self.update_title()

    def watch_window(self) -> None:
        self.update_title()

    def watch_clip(self) -> None:
        self.update_title()

    def watch_show_lr(self) -> None:
        self.update_title()

    def on_mount(self) -> None:
        self.update_title()

    def chart_style(self) -> ChartStyle:
        return NO_COLOR_STYLE if getattr(self.app, "no_color", False) else ChartStyle()

    def chart_rows(self) -> list[Row]:
        """The chart at the widget's content size: each row's text and style runs."""
        st = self.state
        raw, smooth = st.raw_array(), st.smooth_array()
        first = window_start(len(raw), WINDOWS[self.window])
        return chart_rows(raw[first:], smooth[first:], st.val, st.best,
                          self.content_size.width, self.content_size.height,
                          log=self.log_scale, x0=st.loss_start + first, clip=self.clip,
                          style=self.chart_style(), baselines=st.baseline_lines(),
                          lr=st.lrs if self.show_lr else None)

    def strips(self) -> list[Strip]:
        w, h = self.content_size.width, self.content_size.height
        base = self.visual_style.rich_style    # the widget's own colours under the chart's
        key = (self.state.version, w, h, self.log_scale, self.window, self.clip, base, self.show_lr)
        if self._cache is None or self._cache[0] != key:
            strips = [Strip(row_segments(row, base), w) for row in self.chart_rows()]
            self._cache = (key, strips)
            if bool(self.state.baseline_lines()) != self._titled_baselines:
                self.update_title()          # n-gram lines came (`tuirnn baseline`) or went (B)
        return self._cache[1]

    def render_line(self, y: int) -> Strip:
        strips = self.strips()
        if 0 <= y < len(strips):
            return strips[y]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)

    # --- keys (the screen binds them) -------------------------------------------------------
    def cycle_baselines(self) -> str:
        """The next set of n-gram lines (state.BASELINE_VIEWS); returns its name."""
        view = self.state.cycle_baselines()
        self.data_changed(now=True)
        return view

    def cycle_window(self) -> None:
        """The whole run, its last 25%, its last 2000 iterations, and round again."""
        self.window = (self.window + 1) % len(WINDOWS)

    def step_smoothing(self, step: int) -> bool:
        """One step along SMOOTHING_STEPS (+1 smoother); False at either end."""
        now = self.state.smoothing
        nearest = min(range(len(SMOOTHING_STEPS)), key=lambda i: abs(SMOOTHING_STEPS[i] - now))
        i = nearest + step
        if not 0 <= i < len(SMOOTHING_STEPS):
            return False
        self.state.set_smoothing(SMOOTHING_STEPS[i])
        self.update_title()
        self.data_changed(now=True)
        return True
