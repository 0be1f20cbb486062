"""Train loss (raw and smoothed), val points and the best val over the whole run."""
from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from ..render import ChartStyle, braille_chart
from ..state import RunState


class LossChart(Widget):
    """A braille chart of `state`'s loss series; `log` switches the y axis to log scale.

    It draws through Textual's line API: the chart's lines become Strips of plain Segments
    once per (data version, size, log), and `render_line` hands them out. Going through
    `render()` instead made Textual re-style every span of every line at each redraw, ~15 ms
    of the UI thread holding the GIL at every redraw, which the training thread paid for.
    The drawing itself is ~1.4 ms at 5k points (numpy; the series is averaged into pixel
    columns first).
    """

    log: reactive[bool] = reactive(False)
    MIN_REDRAW_INTERVAL = 2.0    # s between redraws for new losses (the header shows them at once)

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._cache: tuple[tuple, list[Strip]] | None = None
        self._last_redraw = 0.0
        self._redraw_timer = None

    def data_changed(self, now: bool = False) -> None:
        """New losses: redraw now, or once MIN_REDRAW_INTERVAL has passed since the last one.

        Each redraw holds the GIL for a few ms, which the training thread waits out; at most
        one every two seconds keeps that well under 1% of its time, and the newest data is
        always drawn in the end. `now`: the trainer is not stepping (an eval, a pause, the
        end), so a redraw costs it nothing: draw at once."""
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

    def watch_log(self, log: bool) -> None:
        # the legend: each mark in its style as drawn, then the scale. Styles are parsed here
        # once: a markup title would be re-parsed at every redraw of the border
        st = self.chart_style()
        parts: list = ["loss: "]
        for label, name in (("⠉ raw", st.raw), ("⠉ smoothed", st.smooth), ("• val", st.val),
                            ("★ best", st.best)):
            parts += [(label, Style.parse(name) if name else Style()), " · "]
        self.border_title = Text.assemble(*parts, f"{'log' if log else 'linear'} scale (l)")
        self.refresh()

    def on_mount(self) -> None:
        self.watch_log(self.log)

    def chart_style(self) -> ChartStyle:
        if getattr(self.app, "no_color", False):
            return ChartStyle(raw="dim", smooth="bold", val="bold", best="bold reverse", axis="")
        return ChartStyle()

    def chart_lines(self) -> list[Text]:
        """The chart at the widget's content size, as rich Text lines (what is drawn)."""
        st = self.state
        return braille_chart(st.raw_array(), st.smooth_array(), st.val, st.best,
                             self.content_size.width, self.content_size.height,
                             log=self.log, x0=st.loss_start, style=self.chart_style())

    def strips(self) -> list[Strip]:
        w, h = self.content_size.width, self.content_size.height
        base = self.visual_style.rich_style    # the widget's own colours under the chart's
        key = (self.state.version, w, h, self.log, base)
        if self._cache is None or self._cache[0] != key:
            console = self.app.console
            strips = [Strip(Segment.apply_style(line.render(console, end=""), base), w)
                      for line in self.chart_lines()]
            self._cache = (key, strips)
        return self._cache[1]

    def render_line(self, y: int) -> Strip:
        strips = self.strips()
        if 0 <= y < len(strips):
            return strips[y]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)
