"""The main screen: header, tabs (Training | Samples | Neurons | Runs), footer.

Events come down from the app (`apply_events`), are folded into the RunState, and only the
widgets whose part changed are refreshed. Keys become Control requests; the training thread
answers with events, which is how every effect (paused, sample, checkpoint) reaches the screen.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from ..core.events import (
    AlertRaised,
    ErrorsCounted,
    EvalCompleted,
    EvalStarted,
    Paused,
    ProbeCompleted,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    SampleGenerated,
)
from ..remote.client import RequestRefused, TrainerGone
from .chart_actions import ChartActions
from .keys import offered
from .monitor_keys import MONITOR_BINDINGS
from .sample_entry import SampleEntry
from .state import Activity, RunState
from .widgets.errors_panel import ErrorsPanel
from .widgets.footer import MonitorFooter
from .widgets.help_screen import HelpScreen
from .widgets.loss_chart import LossChart
from .widgets.neuron_pane import NeuronPane
from .widgets.run_banner import banner_for
from .widgets.runs_tab import RunsTab
from .widgets.sample_dialog import SampleDialog
from .widgets.sample_diff import SampleDiff
from .widgets.samples_panel import SamplesPanel
from .widgets.samples_tab import SamplesTab
from .widgets.status_header import StatusHeader

# after these the trainer runs no steps for a while (an eval's sample and checkpoints follow
# EvalCompleted), so a redraw takes no CPU from it, even where it trains on every core
TRAINER_IDLE = (EvalStarted, EvalCompleted, Paused, RunFinished, RunFailed, TrainerGone)


class MonitorScreen(ChartActions, Screen):
    BINDINGS: ClassVar[list[BindingType]] = [*MONITOR_BINDINGS]   # tui/monitor_keys.py

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state
        self.sample_config: dict = {}      # the run's sample section (what empty fields mean)
        self.sample_last: dict = {}        # the form as last sent (the next dialog starts there)
        self.ready = False       # widgets composed; before that events only fold into state
        self._footer_paused = False   # the footer shows space Resume
        self.open_compare: list | None = None   # run folders the Runs tab opens on (compare)

    def on_mount(self) -> None:
        self.ready = True
        if self.open_compare is not None:
            self.compare_with(self.open_compare)
        if self.state.over or "diverged" in self.state.alerts:
            self.show_banner()
        self.host.drain()

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.state, id="header")
        yield Static("", id="banner")
        with TabbedContent(id="tabs", initial="training"):
            with TabPane("Training", id="training"):
                with Vertical():
                    yield LossChart(self.state, id="loss")
                    yield SamplesPanel(self.state, id="latest")
            with TabPane("Samples", id="samples"):
                yield SamplesTab(self.state, id="samples-tab")
            with TabPane("Neurons", id="neurons"):
                with Vertical():                        # the panel takes its rows from the text
                    yield NeuronPane(id="neuron-pane")
                    yield ErrorsPanel(id="errors-panel")   # key w shows it
            with TabPane("Runs", id="runs"):
                yield RunsTab(self.state, id="runs-tab")
        yield MonitorFooter(compact=True)

    # --- attributes down ------------------------------------------------------------------
    @property
    def host(self) -> Any:
        """The MonitorApp, typed loosely: app.py imports this module, so this one cannot
        import it back (no import cycles)."""
        return self.app

    @property
    def control(self):
        return self.host.control

    @property
    def neuron_pane(self) -> NeuronPane | None:
        found = self.query("#neuron-pane")
        return found.first(NeuronPane) if found else None

    def apply_events(self, events: list) -> None:
        changed: set[str] = set()
        pane = self.neuron_pane
        for ev in events:
            changed |= self.state.apply(ev)
            match ev:
                case ProbeCompleted() if pane is not None:
                    pane.probe = ev
                case ErrorsCounted():
                    for errors_panel in self.query(ErrorsPanel):
                        errors_panel.counted = ev
                case EvalCompleted():
                    self.request_probe()
                case SampleGenerated() if pane is not None:
                    pane.latest_sample = ev.text       # the pane's `m` probes it
                case RunFinished() | RunFailed() | TrainerGone() if self.ready:
                    self.show_banner()
                    self.refresh_bindings()            # the footer drops keys that cannot work
                    why = self.cannot_serve()
                    if why is not None and pane is not None:
                        pane.cancel_pending(why)
                case AlertRaised() | Paused() if self.ready and "diverged" in self.state.alerts:
                    self.show_banner()                 # paused for a divergence: say why
                case Resumed() if self.ready and not self.state.over:
                    self.query_one("#banner", Static).display = False   # going on anyway
                case RunStarted():
                    self.sample_config = self._defaults_from_config(ev.config)
                case RequestRefused() if self.ready:
                    self.notify(f"The trainer refused: {ev.message}", severity="warning",
                                timeout=6)
                    if pane is not None:
                        pane.cancel_pending(ev.message)
        # while the trainer evaluates, pauses or has ended, a chart redraw costs it nothing
        idle = any(isinstance(ev, TRAINER_IDLE) for ev in events)
        self.refresh_parts(changed, chart_now=idle)

    def refresh_parts(self, changed: set[str], chart_now: bool = False) -> None:
        if not self.ready:
            return
        if "header" in changed:
            self.query_one(StatusHeader).refresh()
            if self.state.pausing_or_paused != self._footer_paused:
                self.show_pause_key()            # space: Pause <-> Resume
        if "loss" in changed:
            self.query_one(LossChart).data_changed(now=chart_now)
            self.query_one(RunsTab).data_changed()
        elif chart_now:
            self.query_one(LossChart).flush()
        if "samples" in changed:
            for panel in self.query(SamplesPanel):
                panel.update_view()
        if "timeline" in changed:
            self.query_one(SamplesTab).timeline_changed()

    def show_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        shown = banner_for(self.state, max(20, self.size.width - 2))   # padding: 1 each side
        kind = shown[1] if shown is not None else None
        banner.set_class(kind == "failed", "failed")
        banner.set_class(kind == "finished", "finished")
        if shown is not None:
            banner.update(shown[0])
            banner.display = True

    def on_resize(self) -> None:
        if self.ready and self.state.over:
            self.show_banner()

    def request_probe(self) -> None:
        pane = self.neuron_pane
        if pane is None or self.cannot_serve() is not None:
            return
        try:
            text, source = pane.probe_source()
        except Exception:
            text, source = None, "val"
        self.control.request_probe(text=text, source=source)

    @staticmethod
    def _defaults_from_config(config: dict) -> dict:
        s = config.get("sample", {}) if isinstance(config, dict) else {}
        out = {}
        for key, name in (("temperature", "temperature"), ("length", "length"), ("top_k", "top_k")):
            if key in s and s[key] is not None:
                out[name] = str(s[key])
        return out

    # --- messages up (from the neuron pane) -------------------------------------------------
    def on_neuron_pane_probe_requested(self, message) -> None:
        message.stop()
        if self._refuse("probe"):
            if self.neuron_pane is not None:     # never leave "probing…" up with no answer
                self.neuron_pane.note(f"not probed: {self.cannot_serve()}")
            return
        self.control.request_probe(text=getattr(message, "text", None),
                                   source=getattr(message, "source", "typed"))

    # --- keys -------------------------------------------------------------------------------
    def cannot_serve(self, training_only: bool = False) -> str | None:
        """Why the trainer cannot answer a request now, or None. A run that finished normally
        still answers sample/probe/save (the trainer serves until quit), but cannot pause."""
        st, app = self.state, self.host
        if app.control is None:
            return "the trainer is gone and left no checkpoint"
        if getattr(app, "serves_checkpoint", False):   # the monitor answers from a checkpoint
            return "the trainer is gone" if training_only else None
        if st.run is None:
            return "the run has not started yet"
        if st.failed is not None:
            return "the run failed"
        if st.state is Activity.STOPPING or (st.finished is not None and st.finished.reason == "stopped"):
            return "the run is stopping"
        if st.finished is not None:
            if training_only:
                return "the run has finished"
            if app.trainer_exited:
                return "the trainer has ended"
        return None

    def _refuse(self, what: str, training_only: bool = False) -> bool:
        """True (and a notice) when the run cannot take requests now."""
        why = self.cannot_serve(training_only)
        if why is not None:
            self.notify(f"Cannot {what}: {why}.", severity="warning")
        return why is not None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """space is Pause, or Resume while paused (the footer shows the one that applies)."""
        if self.state.over and not offered(action, self.cannot_serve,
                                           getattr(self.host, "serves_checkpoint", False)):
            return False            # an ended run's footer offers only keys that work
        if action in ("toggle_pause", "resume"):
            return (action == "resume") == self.state.pausing_or_paused
        return True

    def action_toggle_pause(self) -> None:
        if self._refuse("pause", training_only=True):
            return
        pausing = self.control.toggle_pause()
        self.state.set_state(Activity.PAUSING if pausing else Activity.RESUMING)
        self.query_one(StatusHeader).refresh()
        self.show_pause_key()

    def show_pause_key(self) -> None:
        """The footer's space key says Resume while paused, else Pause (the labels are the
        bindings'; check_action already routes the key to the one that applies)."""
        paused = self.state.pausing_or_paused
        self._footer_paused = paused
        label = next(b.description for b in self.BINDINGS
                     if isinstance(b, Binding) and b.action == ("resume" if paused else "toggle_pause"))
        for footer in self.query(MonitorFooter):
            footer.relabel(("toggle_pause", "resume"), label)

    action_resume = action_toggle_pause

    def action_sample(self) -> None:
        if self._refuse("sample"):
            return

        def send(request: dict | None) -> None:
            if request is None or self._refuse("sample"):
                return
            self.sample_last = {k: str(v if v is not None else "") for k, v in request.items()}
            self.sample_last["prime"] = request["prime"].replace("\n", "\\n")  # as typed
            rid = self.control.request_sample(**request)
            self.state.samples.append(SampleEntry(
                text="", iteration=self.state.iteration, temperature=request["temperature"],
                top_k=request["top_k"], seed=request["seed"], prime=request["prime"],
                request_id=rid, done=False))
            for panel in self.query(SamplesPanel):
                panel.newest()

        vocab = self.state.run.vocab if self.state.run else None
        self.app.push_screen(SampleDialog(vocab, self.sample_last, self.sample_config), send)

    def action_save(self) -> None:
        if self._refuse("save", training_only=getattr(self.app, "serves_checkpoint", False)):
            return
        self.control.request_save()
        self.state.mark_saving()
        self.query_one(StatusHeader).refresh()
        self.notify("Saving a checkpoint…", timeout=2)

    def _history(self):
        """The Samples tab's shown list (timeline or the others), with the tab brought up."""
        self.query_one(TabbedContent).active = "samples"
        return self.query_one(SamplesTab).active()

    def action_older(self) -> None:
        if not self._history().older():
            self.bell()

    def action_newer(self) -> None:
        if not self._history().newer():
            self.bell()

    def action_toggle_samples(self) -> None:
        self.query_one(TabbedContent).active = "samples"
        mode = self.query_one(SamplesTab).toggle()
        self.notify("Samples: the fixed sample of every checkpoint" if mode == "timeline"
                    else "Samples: random and requested ones", timeout=2)

    def _timeline(self):
        tab = self.query_one(SamplesTab)
        if tab.mode != "timeline":
            tab.toggle()
        self.query_one(TabbedContent).active = "samples"
        return tab.query_one("#timeline")

    def action_mark_base(self) -> None:
        if not self._timeline().mark_base():
            self.bell()

    def action_diff(self) -> None:
        pair = self._timeline().diff_pair()
        if pair is None:
            self.notify("A diff needs two fixed samples (one more checkpoint).", severity="warning")
            return
        self.app.push_screen(SampleDiff(*pair))

    def action_toggle_errors(self) -> None:
        """w (Neurons tab): the errors panel under the text, shown / hidden."""
        for errors_panel in self.query(ErrorsPanel):
            errors_panel.display = not errors_panel.display

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.query(f"TabPane#{tab}"):
            tabs.active = tab
        else:
            self.bell()

    def compare_with(self, runs: list) -> None:
        """The Runs tab compares these run folders (not the newest under run.root) and opens."""
        self.query_one(RunsTab).paths = [Path(p) for p in runs]
        self.query_one(TabbedContent).active = "runs"

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    async def run_neuron_action(self, action: str) -> None:
        """A Neurons tab key from the command palette: bring the tab up and run it there."""
        self.query_one(TabbedContent).active = "neurons"
        if self.neuron_pane is not None:
            await self.app.run_action(action, self.neuron_pane)

    def bell(self) -> None:
        self.app.bell()
