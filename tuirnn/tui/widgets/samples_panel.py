"""The sample history: one sample at a time with its iteration, val loss, temperature and
word share; older/newer step through it, and by default it follows the newest one."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ..render import sample_title, visible_text
from ..state import RunState


class SamplesPanel(Widget):
    """Shows `state.samples[index]`; `index` None means "the newest" (follows new ones)."""

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.index: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="sample-title")
        with VerticalScroll(id="sample-scroll"):
            yield Static(id="sample-text")

    def on_mount(self) -> None:
        self.update_view()

    @property
    def current(self) -> int | None:
        n = len(self.state.samples)
        if n == 0:
            return None
        return n - 1 if self.index is None else min(self.index, n - 1)

    def older(self) -> bool:
        cur = self.current
        if cur is None or cur == 0:
            return False
        self.index = cur - 1
        self.update_view()
        return True

    def newer(self) -> bool:
        cur = self.current
        if cur is None:
            return False
        n = len(self.state.samples)
        self.index = None if cur + 1 >= n - 1 else cur + 1
        self.update_view()
        return cur + 1 < n

    def newest(self) -> None:
        self.index = None
        self.update_view()

    def update_view(self) -> None:
        title = self.query_one("#sample-title", Static)
        body = self.query_one("#sample-text", Static)
        cur = self.current
        if cur is None:
            title.update(Text("no samples yet", style="dim"))
            body.update(Text("A sample is drawn at every eval; pause (space) and press s to "
                             "draw one now.", style="dim"))
            return
        entry = self.state.samples[cur]
        title.update(sample_title(entry, cur, len(self.state.samples)))
        text = Text()
        shown = visible_text(entry.text)
        if entry.prime and shown.startswith(visible_text(entry.prime)):
            k = len(visible_text(entry.prime))
            text.append(shown[:k], style="bold underline")
            text.append(shown[k:])
        else:
            text.append(shown)
        body.update(text)
        if self.index is None:
            self.query_one("#sample-scroll", VerticalScroll).scroll_end(animate=False)
