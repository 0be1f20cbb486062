"""The three-line header: state badge, run and model, progress, rate, ETA, lr, losses."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ..render import header_lines
from ..state import RunState


class StatusHeader(Widget):
    """Renders `state` (a RunState the screen owns); the screen calls refresh() on change."""

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state

    def render(self) -> Text:
        text = Text("\n").join(header_lines(self.state, self.size.width))
        text.no_wrap, text.overflow = True, "ellipsis"   # one screen line per header line
        return text
