"""The fixed sample of every checkpoint, one under another, oldest first (the essay's
"evolution of samples"): a one-line header (iter, val loss, real words) over each.

It draws through the line API: each sample is wrapped once per width into cached Strips and
`render_line` looks up the sample under a line (bisect), so scrolling costs the same with 200
samples as with 2. `[` and `]` move a selection from sample to sample; with no selection it
follows the newest, keeping it in view.
"""
from __future__ import annotations

from bisect import bisect_right

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..sample_entry import SampleEntry
from ..state import RunState
from ..timeline_render import timeline_header, wrap_text

EMPTY = ("No fixed samples yet: one is drawn at every checkpoint with the same prime and seed "
         "(sample.timeline). Press e for the other samples.")


class SampleTimeline(ScrollView, can_focus=True):
    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.selected: int | None = None   # None: the newest, followed
        self.base: int | None = None       # the diff's first sample, marked with b
        self._width = -1
        self._bodies: list[list[Strip]] = []   # per sample: its wrapped text at _width
        self._starts: list[int] = []           # per sample: the line of its header
        self._total = 0

    @property
    def entries(self) -> list[SampleEntry]:
        return self.state.timeline

    @property
    def current(self) -> int | None:
        n = len(self.entries)
        if n == 0:
            return None
        return n - 1 if self.selected is None else min(self.selected, n - 1)

    # --- layout -----------------------------------------------------------------------------
    def _layout(self) -> None:
        """Wrap what is new (everything after a change of width) and size the scroll area."""
        width = max(1, self.scrollable_content_region.width)
        if width != self._width:
            self._width, self._bodies, self._starts, self._total = width, [], [], 0
        console, base = self.app.console, self.rich_style
        for entry in self.entries[len(self._bodies):]:
            body = [Strip(Segment.apply_style(Text(line).render(console, end=""), base))
                    for line in wrap_text(entry.text, width)]
            self._bodies.append(body)
            self._starts.append(self._total)
            self._total += 1 + len(body) + 1          # header, text, a blank line
        self.virtual_size = Size(width, max(1, self._total))

    def timeline_changed(self) -> None:
        """New samples (or fewer, after a rewind): lay out, keep the newest in view if followed."""
        if len(self.entries) < len(self._bodies):
            self._width = -1
        self._layout()
        if self.selected is None:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        self._layout()
        if self.selected is None:
            self.scroll_end(animate=False, immediate=True)
        else:
            self._show(self.selected)

    def on_mount(self) -> None:
        self.timeline_changed()

    # --- drawing ----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width, base = self.size.width, self.rich_style
        line = scroll_y + y
        if not self.entries:
            if y == 0:
                return Strip(Segment.apply_style(Text(EMPTY, style="dim").render(self.app.console,
                                                                                 end=""), base)
                             ).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if self._width != max(1, self.scrollable_content_region.width):
            self._layout()
        i = bisect_right(self._starts, line) - 1
        if i < 0 or line >= self._total or i >= len(self._bodies):
            return Strip.blank(width, base)
        offset, body = line - self._starts[i], self._bodies[i]
        if offset == 0:
            header = timeline_header(self.entries[i], i, len(self.entries), self._width,
                                     selected=i == self.selected, base=i == self.base)
            strip = Strip(Segment.apply_style(header.render(self.app.console, end=""), base))
        elif offset <= len(body):
            strip = body[offset - 1]
        else:
            return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    # --- keys (the screen binds them) -------------------------------------------------------
    def _show(self, index: int) -> None:
        """Scroll so the sample's header is at the top (or as high as the end allows)."""
        if 0 <= index < len(self._starts):
            self.scroll_to(y=self._starts[index], animate=False, immediate=True)

    def older(self) -> bool:
        cur = self.current
        if cur is None or cur == 0:
            return False
        self.selected = cur - 1
        self._show(self.selected)
        self.refresh()
        return True

    def newer(self) -> bool:
        cur = self.current
        if cur is None or self.selected is None:
            return False
        if cur + 1 >= len(self.entries) - 1:      # the newest: follow new ones again
            self.newest()
        else:
            self.selected = cur + 1
            self._show(self.selected)
            self.refresh()
        return True

    def newest(self) -> None:
        self.selected = None
        self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def mark_base(self) -> bool:
        """b: the selected (or newest) sample becomes the diff's first; again: unmarked."""
        cur = self.current
        if cur is None:
            return False
        self.base = None if self.base == cur else cur
        self.refresh()
        return True

    def diff_pair(self) -> tuple[SampleEntry, SampleEntry] | None:
        """(older, newer) to compare: the base and the selected one, or the selected one and
        the one before it when no base is marked (or the base is the selected one)."""
        cur = self.current
        if cur is None:
            return None
        other = self.base if self.base is not None and self.base != cur else cur - 1
        if other < 0 or other >= len(self.entries):
            return None
        a, b = sorted((other, cur))
        return self.entries[a], self.entries[b]
