"""The monitor's loss-chart keys: log scale, lr line, window, n-gram lines, clipping, smoothing.

A mixin of MonitorScreen: each sets an attribute of the LossChart ("attributes down"), which
redraws itself; `B` may first fold `tuirnn baseline`'s event from the run's events.jsonl.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .widgets.loss_chart import LossChart

if TYPE_CHECKING:
    from .state import RunState


class ChartActions:
    """Needs the screen's state, query_one(), notify() and bell()."""

    state: RunState

    if TYPE_CHECKING:                                # given by MonitorScreen (a Screen)
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...

        def notify(self, message: str, **kwargs: Any) -> None: ...

        def bell(self) -> None: ...

    def action_toggle_log(self) -> None:
        chart = self.query_one(LossChart)
        chart.log_scale = not chart.log_scale

    def action_toggle_lr(self) -> None:
        chart = self.query_one(LossChart)
        chart.show_lr = not chart.show_lr

    def action_chart_window(self) -> None:
        self.query_one(LossChart).cycle_window()

    def action_baselines(self) -> None:
        """B: the next set of n-gram lines. With none yet, look in the run's events.jsonl first:
        `tuirnn baseline` appends there while a live trainer's history (what a monitor is
        sent) does not hold it."""
        chart = self.query_one(LossChart)
        if self.state.baseline is None and self.state.run is not None:
            from ..core.eventfile import EventFileError, read_file_events
            try:
                found = read_file_events(Path(self.state.run.run_dir) / "events.jsonl",
                                         ("BaselineComputed",))
            except (OSError, EventFileError):
                found = []
            for ev in found:
                self.state.apply(ev)
            if self.state.baseline is not None:
                chart.data_changed(now=True)
                self.notify("loss chart: n-gram lines from `tuirnn baseline`", timeout=3)
                return
        if self.state.baseline is None:
            self.notify("no n-gram baselines yet: run `tuirnn baseline RUN`", timeout=4)
            return
        self.notify(f"loss chart: {chart.cycle_baselines()}", timeout=2)

    def action_toggle_clip(self) -> None:
        chart = self.query_one(LossChart)
        chart.clip = not chart.clip

    def action_smoothing(self, step: int) -> None:
        if not self.query_one(LossChart).step_smoothing(step):
            self.bell()
