"""The errors panel (Neurons tab, key w): what the model still gets wrong at the newest
checkpoint, its errors on the probed validation text split by the paper's oracles.

Attributes down: the monitor sets `counted` (an ErrorsCounted, a few ints the trainer sends
after each probe of the validation text). Drawing is errors_render.panel.
"""
from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...core.events import ErrorsCounted
from .. import errors_render as R


class ErrorsPanel(Widget):
    # layout: the first breakdown turns one line into seven, and the text above gives way
    counted: reactive[ErrorsCounted | None] = reactive(None, layout=True)

    def render(self) -> Text:
        return R.panel(self.counted, max(20, self.content_size.width))
