"""The Samples tab: the timeline of fixed samples, or every other sample (random ones drawn
at checkpoints and the ones asked for); `e` switches. Until it is switched by hand it shows
the timeline when there is one (a run with sample.timeline off shows the others)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget

from ..state import RunState
from .sample_timeline import SampleTimeline
from .samples_panel import SamplesPanel


class SamplesTab(Widget):
    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.chosen: str | None = None      # "timeline" | "random"; None: automatic

    def compose(self) -> ComposeResult:
        yield SampleTimeline(self.state, id="timeline")
        yield SamplesPanel(self.state, id="history")

    @property
    def mode(self) -> str:
        if self.chosen is not None:
            return self.chosen
        return "timeline" if self.state.timeline else "random"

    def on_mount(self) -> None:
        self.show_mode()

    def show_mode(self) -> None:
        timeline = self.mode == "timeline"
        self.query_one(SampleTimeline).display = timeline
        self.query_one("#history", SamplesPanel).display = not timeline

    def toggle(self) -> str:
        self.chosen = "random" if self.mode == "timeline" else "timeline"
        self.show_mode()
        return self.mode

    def active(self) -> SampleTimeline | SamplesPanel:
        return self.query_one(SampleTimeline) if self.mode == "timeline" else \
            self.query_one("#history", SamplesPanel)

    def timeline_changed(self) -> None:
        self.query_one(SampleTimeline).timeline_changed()
        self.show_mode()
