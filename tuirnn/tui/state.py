"""What the monitor knows about the run, folded from core events (plain Python, no widgets).

The monitor screen applies each drained event here and then tells the widgets which parts
changed; widgets read this object when they render ("attributes down").
"""
from __future__ import annotations

import array
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ..core.events import (
    AlertCleared,
    AlertRaised,
    BaselineComputed,
    CheckpointSaved,
    EvalCompleted,
    EvalStarted,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunResumed,
    RunStarted,
    SampleChunkGenerated,
    SampleGenerated,
    StepsCompleted,
)
from ..core.runstate import RunStatus, next_status, with_liveness
from ..remote.client import RequestRefused, TrainerGone
from .baselines import BASELINE_VIEWS, baseline_orders
from .sample_entry import SampleEntry

SMOOTHING = 0.95        # EMA weight of the past in the smoothed train curve (`,` `.` change it)
GAP_STEPS = 100         # the train/val gap compares a val loss with the mean of this many steps
RATE_WINDOW_S = 30.0    # steps/s (and so the ETA) is the average over about this long

class Activity(str, Enum):
    """What the badge says while something passes: a request on its way, an eval, the start.
    Otherwise it says the run's status, core.runstate.RunStatus, by the rule `tuirnn ls`, the
    server and its clients use too (next_status); the two enums share no value."""
    STARTING = "starting"      # no step yet
    PAUSING = "pausing"        # asked to pause; the trainer stops at the next step boundary
    RESUMING = "resuming"
    EVALUATING = "evaluating"
    SAVING = "saving"
    STOPPING = "stopping"      # asked to stop; the trainer saves checkpoints/last.pt

    def __str__(self) -> str:
        return self.value


@dataclass
class RunState:
    run: RunStarted | None = None
    status: RunStatus = RunStatus.TRAINING       # core's rule, folded from every event
    activity: Activity | None = Activity.STARTING  # shown over the status while it lasts
    iteration: int = 0
    epoch: float = 0.0
    lr: float | None = None
    chars_per_sec: float = 0.0
    rank_ms: tuple[float, float] | None = None   # several ranks: fastest, slowest forward ms/step
    steps_per_sec: float = 0.0
    elapsed_s: float = 0.0
    budget_left_s: float | None = None           # training time left of train.time_budget
    lrs: list[tuple[int, float]] = field(default_factory=list)   # (iteration, lr) per report
    losses: array.array = field(default_factory=lambda: array.array("d"))
    smooth: array.array = field(default_factory=lambda: array.array("d"))
    val: list[tuple[int, float]] = field(default_factory=list)
    best: tuple[int, float] | None = None
    samples: list[SampleEntry] = field(default_factory=list)     # random and requested ones
    timeline: list[SampleEntry] = field(default_factory=list)    # the fixed one per checkpoint
    gap: float | None = None   # newest val loss minus the mean train loss of the steps before it
    smoothing: float = SMOOTHING
    last_checkpoint: CheckpointSaved | None = None
    best_checkpoint: str | None = None
    loaded_checkpoint: str | None = None  # the one s and Neurons use once the trainer is gone
    finished: RunFinished | None = None
    gone: TrainerGone | None = None    # the trainer died (or dropped us) before the run ended
    failed: RunFailed | None = None
    alerts: dict[str, AlertRaised] = field(default_factory=dict)  # kind -> the one in force
    version: int = 0           # bumped whenever the loss series change (chart cache key)
    baseline: BaselineComputed | None = None   # the newest n-gram losses (val preferred)
    baseline_view: int = 0     # index into BASELINE_VIEWS
    _ema: float = 0.0
    _ema_w: float = 0.0
    _rate_points: list[tuple[int, float]] = field(default_factory=list)  # (iter, elapsed)
    _loss_origin: int | None = None   # iteration before the first loss held
    _before_save: Activity | None = None

    @property
    def loss_start(self) -> int:
        """Iteration before the first loss we hold (a resumed run holds its history too)."""
        if self._loss_origin is not None:
            return self._loss_origin
        return self.run.start_iter if self.run else 0

    @property
    def over(self) -> bool:
        return self.finished is not None or self.failed is not None or self.gone is not None

    def raw_array(self) -> np.ndarray:
        return np.frombuffer(self.losses, dtype=np.float64) if len(self.losses) else np.zeros(0)

    def smooth_array(self) -> np.ndarray:
        return np.frombuffer(self.smooth, dtype=np.float64) if len(self.smooth) else np.zeros(0)

    @property
    def state(self) -> Activity | RunStatus:
        """The header's badge: what passes now, else the run's status."""
        if self.activity is not None and not self.status.ended:
            return self.activity
        return self.status

    @property
    def pausing_or_paused(self) -> bool:
        """The footer's space says Resume."""
        return self.activity is Activity.PAUSING or (
            self.status is RunStatus.PAUSED and self.activity is not Activity.RESUMING)

    def set_state(self, activity: Activity | str | None) -> None:
        """What the badge says until the trainer's answer comes (None: the status again)."""
        if not self.over:
            # a bad name fails here, not in the header
            self.activity = Activity(activity) if activity is not None else None

    def _done(self, *activities: Activity) -> None:
        """An answer came: the badge stops saying these."""
        if self.activity in activities:
            self.activity = None

    def apply(self, ev: Any) -> set[str]:
        """Fold one event in; returns the parts that changed: header, loss, samples, timeline,
        alert. (A probe goes to the neuron pane, which holds it: MonitorScreen.apply_events.)"""
        self.status = next_status(self.status, ev)
        match ev:
            case StepsCompleted():
                if not self.losses:
                    self._loss_origin = ev.iteration - len(ev.losses)
                start = len(self.losses)
                for x in ev.losses:
                    if not math.isfinite(x):
                        x = self.losses[-1] if self.losses else 0.0
                    self.losses.append(x)
                self._fold_smooth(start)
                self._update_rate(ev.iteration, ev.elapsed_s)
                self.iteration, self.epoch, self.lr = ev.iteration, ev.epoch, ev.lr
                self.chars_per_sec, self.elapsed_s = ev.chars_per_sec, ev.elapsed_s
                self.budget_left_s = getattr(ev, "budget_left_s", None)
                self.lrs.append((ev.iteration, ev.lr))
                if ev.rank_ms_min is not None and ev.rank_ms_max is not None:
                    self.rank_ms = (ev.rank_ms_min, ev.rank_ms_max)
                self._done(Activity.STARTING)
                self.version += 1
                return {"header", "loss"}
            case RunResumed():
                self.rewind(ev.iteration)
                return {"header", "loss", "samples", "timeline"}
            case RunStarted():
                # a (re)started trainer: an earlier process's end is history, not this run's state
                self.finished = self.failed = self.gone = None
                self.run, self.iteration, self.lr = ev, ev.start_iter, ev.learning_rate
                budget = getattr(ev, "time_budget_s", None)
                self.budget_left_s = None if budget is None else budget - ev.budget_used_s
                self.epoch = ev.start_iter / max(1, ev.iters_per_epoch)
                self.activity = None
                return {"header", "loss"}
            case EvalStarted():
                if self.activity is not Activity.STOPPING:
                    self.set_state(Activity.EVALUATING)
                return {"header"}
            case EvalCompleted():
                self.val.append((ev.iteration, ev.val_loss))
                recent = self.losses[-GAP_STEPS:]
                self.gap = ev.val_loss - sum(recent) / len(recent) if recent else None
                if self.best is None or ev.is_best or ev.val_loss < self.best[1]:
                    self.best = (ev.iteration, min(ev.val_loss, ev.best_val_loss))
                self._done(Activity.EVALUATING)
                self.version += 1
                return {"header", "loss"}
            case SampleChunkGenerated():
                entry = self.find_request(ev.request_id)
                if entry is None:
                    entry = SampleEntry(text="", iteration=self.iteration, request_id=ev.request_id,
                                        done=False)
                    self.samples.append(entry)
                entry.text += ev.text
                return {"samples"}
            case SampleGenerated(timeline=True):
                self.timeline.append(SampleEntry.from_event(ev))
                return {"timeline"}
            case SampleGenerated():
                done = SampleEntry.from_event(ev)
                entry = self.find_request(ev.request_id) if ev.request_id is not None else None
                if entry is None:
                    self.samples.append(done)
                else:        # the streamed one, whole now: updated in place (panels hold it)
                    vars(entry).update(vars(done))
                return {"samples"}
            case AlertRaised():
                self.alerts[ev.kind] = ev
                return {"header", "alert"}
            case AlertCleared():
                self.alerts.pop(ev.kind, None)
                return {"header", "alert"}
            case CheckpointSaved():
                self.last_checkpoint = ev
                if ev.kind == "best":
                    self.best_checkpoint = ev.path
                if self.activity is Activity.SAVING:
                    self.set_state(self._before_save)
                return {"header"}
            case Paused():
                self.iteration = max(self.iteration, ev.iteration)
                if getattr(ev, "budget_left_s", None) is not None:   # the evals since the report
                    self.budget_left_s = ev.budget_left_s
                self._done(Activity.PAUSING, Activity.RESUMING, Activity.EVALUATING)
                return {"header"}
            case Resumed():
                self._rate_points.clear()         # the pause is not training time
                self._done(Activity.PAUSING, Activity.RESUMING)
                return {"header"}
            case RunFinished():
                self.finished, self.activity = ev, None   # the status says how it ended
                self.iteration = max(self.iteration, ev.iteration)
                if ev.best_checkpoint:
                    self.best_checkpoint = ev.best_checkpoint
                if ev.best_val_loss is not None and self.best is None:
                    self.best = (ev.iteration, ev.best_val_loss)
                return {"header", "samples"}
            case RunFailed():
                self.failed, self.activity = ev, None
                return {"header"}
            case BaselineComputed():
                if ev.split == "val" or self.baseline is None or self.baseline.split != "val":
                    self.baseline = ev
                    self.version += 1
                return {"loss"}
            case RequestRefused():       # a sample that will never stream in
                entry = self.find_request(ev.request_id)
                if entry is None or entry.done:
                    return set()
                entry.text, entry.done = f"[not sampled: {ev.message}]", True
                return {"samples"}
            case TrainerGone():
                self.gone, self.activity = ev, None
                self.status = with_liveness(self.status, live=False)
                self.iteration = max(self.iteration, ev.iteration)
                return {"header"}
            case _:
                return set()

    def baseline_lines(self) -> tuple[tuple[float, str], ...]:
        """The chart's n-gram lines [(loss, label)]: '5-gram 1.95', then '↓1200' once a val
        loss went below it (the first iteration that did)."""
        if self.baseline is None:
            return ()
        losses = self.baseline.losses
        out = []
        for n in baseline_orders(losses, BASELINE_VIEWS[self.baseline_view]):
            v = losses[n - 1]
            below = next((it for it, val in self.val if val < v), None)
            out.append((v, f"{n}-gram {v:.2f}" + (f" ↓{below}" if below is not None else "")))
        return tuple(out)

    def cycle_baselines(self) -> str:
        """The next of BASELINE_VIEWS; returns its name."""
        self.baseline_view = (self.baseline_view + 1) % len(BASELINE_VIEWS)
        self.version += 1
        return BASELINE_VIEWS[self.baseline_view]

    def _fold_smooth(self, start: int) -> None:
        """Extend the smoothed curve over losses[start:] (EMA debiased like TensorBoard's)."""
        w = self.smoothing
        acc, weight = self._ema, self._ema_w
        for x in self.losses[start:]:
            acc = w * acc + (1 - w) * x
            weight = w * weight + (1 - w)
            self.smooth.append(acc / weight)
        self._ema, self._ema_w = acc, weight

    def _redo_smooth(self) -> None:
        """The smoothed curve again from the first loss held."""
        self.smooth = array.array("d")
        self._ema = self._ema_w = 0.0
        self._fold_smooth(0)

    def rewind(self, iteration: int) -> None:
        """The run goes on from its checkpoint at `iteration`: what was logged after it was
        lost with the process that logged it and is done again, so drop it (no loops)."""
        keep = max(0, iteration - self.loss_start)
        if keep < len(self.losses):
            del self.losses[keep:]
            self._redo_smooth()
            if not self.losses:
                self._loss_origin = None
        self.val = [(it, v) for it, v in self.val if it <= iteration]
        self.lrs = [(it, lr) for it, lr in self.lrs if it <= iteration]
        if self.val:
            self.best = min(self.val, key=lambda p: p[1])
        elif self.best is not None and self.best[0] > iteration:
            self.best = None
        self.samples = [e for e in self.samples if e.iteration <= iteration]
        self.timeline = [e for e in self.timeline if e.iteration <= iteration]
        self.iteration = min(self.iteration, iteration)
        self._rate_points.clear()
        self.version += 1

    def set_smoothing(self, smoothing: float) -> None:
        """Redo the smoothed curve over the whole run with a new weight of the past (0..0.99)."""
        self.smoothing = smoothing
        self._redo_smooth()
        self.version += 1

    def _update_rate(self, iteration: int, elapsed: float) -> None:
        """steps/s over the last RATE_WINDOW_S seconds of reports (not just the newest one,
        whose rate jumps with evals and sampling), so the ETA moves smoothly."""
        pts = self._rate_points
        if pts and elapsed <= pts[-1][1]:
            pts.clear()                       # a new clock (a resumed run)
        pts.append((iteration, elapsed))
        while len(pts) > 2 and elapsed - pts[1][1] >= RATE_WINDOW_S:
            pts.pop(0)
        if len(pts) >= 2 and elapsed > pts[0][1]:
            self.steps_per_sec = (iteration - pts[0][0]) / (elapsed - pts[0][1])

    def mark_saving(self) -> None:
        """The UI asked for a checkpoint; the header says so until CheckpointSaved comes."""
        if self.state in (RunStatus.TRAINING, RunStatus.PAUSED, Activity.EVALUATING):
            self._before_save = self.activity
            self.set_state(Activity.SAVING)

    def find_request(self, request_id: int | None) -> SampleEntry | None:
        if request_id is None:
            return None
        for entry in reversed(self.samples):
            if entry.request_id == request_id:
                return entry
        return None
