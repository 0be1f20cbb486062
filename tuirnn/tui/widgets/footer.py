"""The footer, with Keys, Quit and the palette key pinned to its right end: on a narrow
terminal the other keys are dropped from the end of the row, each binding whole (never "d De"),
never those (`?` lists them all). Which keys are shown at all is the screen's check_action
(tui/keys.py: an ended run offers no Pause or Save)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

PINNED_ACTIONS = ("help", "stop")


class MonitorFooter(Footer):
    DEFAULT_CSS = """
    MonitorFooter #footer-pinned { dock: right; width: auto; height: 1; padding-left: 1; }
    MonitorFooter #footer-pinned FooterKey { margin: 0 1 0 0; }
    MonitorFooter #footer-pinned FooterKey.-command-palette { dock: none; margin: 0; }
    MonitorFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        pinned, palette = [], []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.has_class("-command-palette"):
                palette.append(widget)
            elif isinstance(widget, FooterKey) and widget.action in PINNED_ACTIONS:
                pinned.append(widget)
            else:
                yield widget
        # in the group the palette key is not docked: it follows the keys
        yield HorizontalGroup(*pinned, *palette, id="footer-pinned")
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Show the bindings that fit left of the pinned keys, whole, in order; drop the rest."""
        pinned = self.query("#footer-pinned")
        if not pinned or not self.is_mounted:
            return
        room = self.size.width - outer_width(pinned.first())
        used, fits = 0, True
        for unit in units([w for w in self.children if w.id != "footer-pinned"]):
            width = sum(outer_width(w) for w in unit)
            fits = fits and used + width <= room
            used += width
            for w in unit:
                w.display = fits

    def relabel(self, actions: tuple[str, ...], description: str) -> None:
        """Show `description` on the key bound to any of `actions`, without recomposing the
        footer: a recompose (what refresh_bindings asks for) took 50-100 ms on a 2-core
        machine, and a Paused event arriving meanwhile waited behind it (space to PAUSED in
        the header: 70-146 ms with a recompose, 34-54 ms without)."""
        for key in self.query(FooterKey):
            if key.action in actions and key.description != description:
                key.description = description
                key.refresh(layout=True)
        self.fit()


def units(widgets: list[Widget]) -> list[list[Widget]]:
    """The footer's children as whole bindings: a key group's keys with the label after them
    ("[ ] Older/newer"), else one key each."""
    out: list[list[Widget]] = []
    for w in widgets:
        if isinstance(w, FooterLabel) and out and isinstance(out[-1][-1], KeyGroup):
            out[-1].append(w)
        else:
            out.append([w])
    return out


def outer_width(w: Widget) -> int:
    """Cells `w` takes in the footer's row, margins included, whether shown now or not (an
    auto-width group: its children's widths added up)."""
    box = w.styles.padding.width + w.styles.margin.width + w.styles.border.spacing.width
    if isinstance(w, (KeyGroup, HorizontalGroup)):
        return box + sum(outer_width(c) for c in w.children)
    return box + w.get_content_width(Size(1000, 1), Size(1000, 1))
