"""The Runs tab: this run's validation curve over those of other runs, and a table of the
config keys on which they differ with each one's best val ("does the 3x512 beat the 2x256?").

The other runs are read from their folders (core.compare) when the tab is shown and every
RELOAD_EVERY_S while it stays on screen (they may be training too): by default the newest
under this run's run.root, or the ones `tuirnn compare` named. This run's
curve comes live from the RunState. The chart follows the loss chart's `l` (log) and `y`
(robust range) settings.
"""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from ...core.compare import RunCurve, load_run, other_runs, table_rows
from ...core.errors import UserError
from ..compare_render import MARKERS, Curve, compare_chart, compare_table, curve_styles
from ..state import RunState
from .loss_chart import LossChart


class CompareChart(Widget):
    """Draws the tab's curves at its content size (the tab sets `curves`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.curves: list[Curve] = []
        self.log_scale = False
        self.clip = True

    def render(self) -> Text:
        lines = compare_chart(self.curves, self.content_size.width, self.content_size.height,
                              log=self.log_scale, clip=self.clip)
        text = Text("\n").join(lines)
        text.no_wrap = True
        return text


class RunsTab(Widget):
    RELOAD_EVERY_S = 10.0     # other runs' logs are read again this often while the tab shows

    DEFAULT_CSS = """
    RunsTab { height: 1fr; layout: vertical; }
    RunsTab #runs-chart { height: 1fr; min-height: 6; border: round $primary-darken-1;
                          border-title-color: $text-muted; }
    RunsTab #runs-table { height: auto; max-height: 12; padding: 0 1; text-wrap: nowrap;
                          text-overflow: ellipsis; }
    """

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.paths: list[Path] | None = None     # runs to compare; None: the newest under root
        self.others: list[RunCurve] = []
        self.note = ""

    def compose(self) -> ComposeResult:
        yield CompareChart(id="runs-chart")
        yield Static("", id="runs-table")

    def on_mount(self) -> None:
        self._reload_timer = self.set_interval(self.RELOAD_EVERY_S, self.reload, pause=True)

    def on_show(self) -> None:
        self.reload()
        self._reload_timer.resume()

    def on_hide(self) -> None:
        self._reload_timer.pause()

    # --- data -------------------------------------------------------------------------------
    def this_run(self) -> RunCurve | None:
        run = self.state.run
        if run is None:
            return None
        return RunCurve(run.run_name, Path(run.run_dir), run.config if isinstance(run.config, dict)
                        else {}, list(self.state.val), self.state.iteration)

    def reload(self) -> None:
        """Read the other runs again (their logs grow while they train)."""
        this = self.this_run()
        here = this.path if this is not None else None     # this_run always gives a path
        if self.paths is not None:
            paths = [p for p in self.paths if here is None or p.resolve() != here.resolve()]
        elif here is not None:
            paths = other_runs(here.parent, here, limit=len(MARKERS) - 1)
        else:
            paths = []
        self.others, unreadable = [], []
        for path in paths[:len(MARKERS) - 1]:
            try:
                self.others.append(load_run(path))
            except (UserError, OSError, ValueError) as e:   # EventFileError: a FIFO, a link..
                # someone else's folder beside this run: named in the note, never a crash
                unreadable.append(f"{path.name} ({e.__class__.__name__})")
        self.note = f"not read: {', '.join(unreadable)}" if unreadable else ""
        self.redraw()

    def redraw(self) -> None:
        """Draw the curves and the table from the state and the runs read last."""
        this = self.this_run()
        chart = self.query_one(CompareChart)
        table = self.query_one("#runs-table", Static)
        if this is None:
            chart.curves = []
            table.update(Text("waiting for the run to start…", style="dim"))
            chart.refresh()
            return
        runs = [this, *self.others]
        markers = list(MARKERS[:len(runs)])
        styles = curve_styles(len(runs), getattr(self.app, "no_color", False))
        chart.curves = [Curve(m, s, r.val) for m, s, r in zip(markers, styles, runs)]
        loss_chart = self.screen.query("#loss")
        if loss_chart:
            first = loss_chart.first(LossChart)
            chart.log_scale, chart.clip = first.log_scale, first.clip
        where = "under " + str(Path(this.path or ".").parent) if self.paths is None else "named"
        n = len(self.others)
        chart.border_title = (f"val loss · A this run · {n} other run{'' if n == 1 else 's'} {where}"
                              + (" · log" if chart.log_scale else ""))
        header, rows = table_rows(runs, markers)
        lines = compare_table(header, rows, styles)
        if not self.others:
            lines.append(Text(f"no other runs with a log {where}; `tuirnn compare RUN RUN…` "
                              "names some", style="dim"))
        if self.note:
            lines.append(Text(self.note, style="dim"))
        table.update(Text("\n").join(lines))
        chart.refresh()

    def data_changed(self) -> None:
        """This run's val curve moved: redraw when the tab is on screen."""
        if self.is_on_screen:
            self.redraw()
