"""Train loss (raw and smoothed), val points and the best val over the whole run."""
from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..render import ChartStyle, braille_chart
from ..state import RunState


class LossChart(Widget):
    """A braille chart of `state`'s loss series; `log` switches the y axis to log scale.

    The drawing is cached by (data version, size, log) so idle refreshes cost nothing; a
    redraw is ~3 ms even with 100k points, because the series is averaged into pixel columns.
    """

    log: reactive[bool] = reactive(False)

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._cache: tuple[tuple, Text] | None = None

    def watch_log(self, log: bool) -> None:
        # the legend: what each mark is (colours as drawn), then the scale
        self.border_title = (f"loss: [grey50]⠉ raw[/] · [bold cyan]⠉ smoothed[/] · "
                             f"[bold yellow]• val[/] · [bold green]★ best[/] · "
                             f"{'log' if log else 'linear'} scale (l)")

    def on_mount(self) -> None:
        self.watch_log(self.log)

    def render(self) -> Text:
        w, h = self.content_size.width, self.content_size.height
        key = (self.state.version, w, h, self.log)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        st = self.state
        color = not self.app.no_color if hasattr(self.app, "no_color") else True
        style = ChartStyle() if color else ChartStyle(raw="dim", smooth="bold", val="bold",
                                                      best="bold reverse", axis="")
        lines = braille_chart(st.raw_array(), st.smooth_array(), st.val, st.best, w, h,
                              log=self.log, x0=st.loss_start, style=style)
        text = Text("\n").join(lines)
        text.no_wrap = True
        self._cache = (key, text)
        return text
