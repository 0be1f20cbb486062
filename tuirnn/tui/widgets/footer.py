"""The footer, with Keys, Quit and the palette key pinned to its right end: on a narrow
terminal the other keys are cut, never those (`?` lists them all)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

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

    def relabel(self, actions: tuple[str, ...], description: str) -> None:
        """Show `description` on the key bound to any of `actions`, without recomposing the
        footer: a recompose (what refresh_bindings asks for) took 50-100 ms on a 2-core
        machine, and a Paused event arriving meanwhile waited behind it (space to PAUSED in
        the header: 70-146 ms with a recompose, 34-54 ms without)."""
        for key in self.query(FooterKey):
            if key.action in actions and key.description != description:
                key.description = description
                key.refresh(layout=True)
