"""When things happen in a run: the learning-rate schedule, the budget clock, the evals.

Schedules (train.lr_schedule):
  step    char-rnn's: the lr is multiplied by lr_decay after every epoch once lr_decay_after
          epochs are done (the optimiser holds the rate; the loop applies the decay).
  cosine  warmup, then learning_rate -> min_lr along half a cosine (nanoGPT's).
  linear  warmup, then learning_rate -> min_lr in a straight line ("Budgeted Training",
          Li, Yumer & Ramanan 2020: linear to zero at the budget).
Their horizon is the time budget when there is one (progress = training time used / budget,
so the rate reaches min_lr at the deadline whatever the machine's speed), else max_iters.
"""
from __future__ import annotations

import math
import re
import time
from typing import Any, Callable

SCHEDULES = ("step", "cosine", "linear")
AUTO_EVALS = (100, 200, 300, 500, 700, 1000, 1500, 2000)   # the essay's early checkpoints

SAMPLE_CHAR_S = 1e-3      # a sampled character at least (one step of the model, batch 1)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_WHOLE = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[smhd])+\s*")


def eval_due(iteration: int, every: int | str, after: int) -> bool:
    """Is `iteration` a checkpoint (eval, samples, save)? every: a number of iterations, or
    "auto": AUTO_EVALS, where samples change most, then every multiple of `after` past them."""
    if not isinstance(every, str):
        return iteration % every == 0
    return iteration in AUTO_EVALS or (iteration > AUTO_EVALS[-1] and iteration % after == 0)


def parse_duration(text: str) -> float:
    """'90s' -> 90.0, '30m' -> 1800.0, '4h' -> 14400.0, '1h30m' -> 5400.0, '45' -> 45.0
    (a bare number is seconds); ValueError when it is none of these."""
    t = text.strip().lower()
    try:
        seconds = float(t)
    except ValueError:
        if not _WHOLE.fullmatch(t):
            raise ValueError(text) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(t))
    if not math.isfinite(seconds):
        raise ValueError(text)
    return seconds


def format_duration(seconds: float) -> str:
    """42 -> '42s', 125 -> '2m05s', 3725 -> '1h02m' (the header's clock)."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def lr_at(schedule: str, base: float, min_lr: float, warmup_iters: int, iteration: int,
          progress: float) -> float:
    """The rate for step `iteration` (0-based) of a cosine or linear schedule; progress in
    [0, 1] is how far along the horizon the run is (time used / budget, or iterations)."""
    if iteration < warmup_iters:             # linear warmup from base/warmup to base
        return base * (iteration + 1) / warmup_iters
    p = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * p)) * (base - min_lr)
    if schedule == "linear":
        return base - (base - min_lr) * p
    raise ValueError(f"no lr for schedule {schedule!r}")


def iter_progress(iteration: int, warmup_iters: int, max_iters: int) -> float:
    """Progress past the warmup along an iteration horizon (nanoGPT's decay_ratio)."""
    span = max_iters - warmup_iters
    return 1.0 if span <= 0 else (iteration - warmup_iters) / span


class BudgetClock:
    """Training time: the wall clock while the run trains (evals and samples included), stopped
    while it is paused and before the first step. `used` counts towards the budget; `total`
    is all training time of the run, both saved in checkpoints so a resume goes on from them.

    reserve: the seconds the run's last work (eval, samples, last.pt/best.pt) takes; the run
    stops a step early enough for it to end inside the budget. Until an eval has been timed,
    `first_reserve` (an estimate from the val size) stands in.
    """

    def __init__(self, budget: float | None, used: float = 0.0, total: float = 0.0,
                 now: Callable[[], float] = time.perf_counter):
        self.budget = budget
        self._used0, self._total0 = used, total
        self._now = now
        self._since: float | None = None       # running since (None: stopped)
        self._run = 0.0                          # seconds run in this process, closed spans
        self.reserve: float | None = None
        self.first_reserve = 0.0

    def start(self) -> None:
        if self._since is None:
            self._since = self._now()

    def pause(self) -> None:
        if self._since is not None:
            self._run += self._now() - self._since
            self._since = None

    resume = start

    @property
    def running(self) -> bool:
        return self._since is not None

    def _here(self) -> float:
        return self._run + (self._now() - self._since if self._since is not None else 0.0)

    def used(self) -> float:
        return self._used0 + self._here()

    def total(self) -> float:
        return self._total0 + self._here()

    def left(self) -> float | None:
        return None if self.budget is None else max(0.0, self.budget - self.used())

    def progress(self, used: float | None = None) -> float:
        if not self.budget:
            return 0.0
        return min(1.0, (self.used() if used is None else used) / self.budget)

    def timed_final(self, seconds: float) -> None:
        """An eval-and-save took `seconds`: the last one will take about as long (20% spare)."""
        self.reserve = max(self.reserve or 0.0, 1.2 * seconds)

    def spent(self, ahead: float, used: float | None = None) -> bool:
        """Must the run stop now? `ahead`: seconds until the next chance to decide (a step,
        or a log window under torchrun); `used`: the agreed time used (default: this clock)."""
        if self.budget is None:
            return False
        u = self.used() if used is None else used
        reserve = self.first_reserve if self.reserve is None else self.reserve
        return u + ahead + reserve >= self.budget


class Pace:
    """The Trainer's schedule keeper: its budget clock, the step time, the rate of each step
    and the decision that the budget is spent (taken once: alone at every step, under torchrun
    at each log window from rank 0's clock, broadcast, so every rank stops at the same step
    and sets the same rate)."""

    def __init__(self, train_cfg: Any, max_iters: int, n_val_batches: int, sample_chars: int = 0):
        self.t = train_cfg
        self.max_iters = max_iters
        self.n_val = n_val_batches
        self.sample_chars = sample_chars
        budget = train_cfg.time_budget
        self.clock = BudgetClock(parse_duration(budget) if budget else None)
        self.spent = False              # the budget ended the run: RunFinished "time_budget"
        self.agreed_used = 0.0          # several ranks: the budget time rank 0 last gave
        self.step_s = 0.0               # a moving mean of the step time

    def resumed(self, ck: dict[str, Any]) -> None:
        """The budget left goes on, unless --set train.time_budget gave a new one (from zero)."""
        same = ck["config"].get("train", {}).get("time_budget") == self.t.time_budget
        used = float(ck.get("budget_used_s", 0.0)) if same else 0.0
        self.clock = BudgetClock(self.clock.budget, used=used,
                                 total=float(ck.get("train_time_s", 0.0)))

    def lr(self, iteration: int, solo: bool) -> float | None:
        """cosine/linear: the rate for step `iteration`; None for step (the optimiser keeps it)."""
        t = self.t
        if t.lr_schedule == "step":
            return None
        if self.clock.budget is not None:
            progress = self.clock.progress(self.clock.used() if solo else self.agreed_used)
        else:
            progress = iter_progress(iteration, t.warmup_iters, self.max_iters)
        return lr_at(t.lr_schedule, t.learning_rate, t.min_lr, t.warmup_iters, iteration, progress)

    def stepped(self, seconds: float) -> None:
        self.step_s = seconds if self.step_s == 0.0 else 0.9 * self.step_s + 0.1 * seconds
        # until an eval is timed: its forward passes at about a third of a step each, the
        # samples a char at a time (a batch-1 forward: its overhead, ~1/60 of a step on a CPU,
        # slower with the machine as the step is), the saves
        per_char = max(SAMPLE_CHAR_S, self.step_s / 60)
        self.clock.first_reserve = self.n_val * self.step_s / 3 + self.sample_chars * per_char + 0.5

    def budget_spent(self, iteration: int, dist: Any) -> bool:
        if self.clock.budget is None:
            return False
        if dist.world.size == 1:
            self.spent = self.clock.spent(self.step_s)
        elif iteration % self.t.log_every == 0:
            self.agreed_used = dist.main_value(self.clock.used())
            ahead = self.step_s * self.t.log_every
            self.spent = dist.from_main(self.clock.spent(ahead, self.agreed_used))
        return self.spent
