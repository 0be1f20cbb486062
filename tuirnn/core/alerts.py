"""Alerts: what the trainer tells a watcher without being asked (divergence, overfitting,
plateau). Pure bookkeeping over losses the trainer has already synced to the host (at log time
and at evals), so watching costs no extra GPU sync.

- diverged: a train loss NaN/inf or more than FACTOR x the first one this process saw (char-rnn:
  "loss is exploding, aborting"), or a val loss that is. A diverged eval is never the best.
- overfitting: the val loss rose at RISES evals in a row.
- plateau: no new best val loss in `plateau_evals` evals (0: never).
Each check returns the events to emit; the Trainer decides what a divergence does.
"""
from __future__ import annotations

import math

from .events import AlertCleared, AlertRaised

FACTOR = 3.0
RISES = 3


class AlertWatch:
    def __init__(self, plateau_evals: int = 5) -> None:
        self.plateau_evals = plateau_evals
        self.first_loss: float | None = None
        self.diverged = False              # raised and not yet cleared
        self.active: set[str] = set()      # overfitting / plateau alerts raised
        self.vals: list[float] = []        # this process's val losses, oldest first
        self.best: tuple[int, float] | None = None
        self.since_best = 0

    def exploded(self, loss: float) -> bool:
        if not math.isfinite(loss):
            return True
        return self.first_loss is not None and loss > FACTOR * self.first_loss

    def _message(self, what: str, iteration: int, loss: float) -> str:
        first = f" (over {FACTOR:g}x the first loss, {self.first_loss:.4f})" if self.first_loss else ""
        return f"{what} is exploding: {loss:.4g} at iter {iteration}{first}"

    def train_losses(self, iteration: int, losses: list[float]) -> AlertRaised | AlertCleared | None:
        """After a log window: a divergence alert (action still to fill in), its clearing once
        the losses are sane again, or None."""
        if self.first_loss is None and losses and math.isfinite(losses[0]):
            self.first_loss = losses[0]
        bad = next((x for x in losses if self.exploded(x)), None)
        if bad is not None:
            if self.diverged:
                return None                # said once; the watcher chose to go on
            self.diverged = True
            return AlertRaised(iteration, "diverged", self._message("loss", iteration, bad), bad)
        if self.diverged and losses:
            self.diverged = False
            return AlertCleared(iteration, "diverged")
        return None

    def val_exploded(self, val: float) -> bool:
        return self.exploded(val)

    def val_diverged(self, iteration: int, val: float) -> AlertRaised | None:
        """A val loss that exploded: the alert, unless one is up already."""
        if self.diverged:
            return None
        self.diverged = True
        return AlertRaised(iteration, "diverged", self._message("val loss", iteration, val), val)

    def val_loss(self, iteration: int, val: float) -> list:
        """After a sane eval: overfitting / plateau alerts raised or cleared."""
        out: list = []
        rising = len(self.vals) >= RISES and all(
            b > a for a, b in zip(self.vals[-RISES:], self.vals[-RISES + 1:] + [val]))
        self.vals.append(val)
        if self.best is None or val < self.best[1]:
            self.best, self.since_best = (iteration, val), 0
        else:
            self.since_best += 1
        if rising and "overfitting" not in self.active:
            self.active.add("overfitting")
            shown = " -> ".join(f"{v:.4f}" for v in self.vals[-RISES - 1:])
            out.append(AlertRaised(iteration, "overfitting",
                                   f"overfitting? val loss rose {RISES} evals in a row: {shown}",
                                   val))
        elif not rising and "overfitting" in self.active and val < self.vals[-2]:
            self.active.discard("overfitting")
            out.append(AlertCleared(iteration, "overfitting"))
        stuck = self.plateau_evals > 0 and self.since_best >= self.plateau_evals
        if stuck and "plateau" not in self.active:
            self.active.add("plateau")
            out.append(AlertRaised(
                iteration, "plateau", f"plateau: no new best val loss in {self.since_best} evals "
                f"(best {self.best[1]:.4f} at iter {self.best[0]})", val))
        elif not stuck and "plateau" in self.active:
            self.active.discard("plateau")
            out.append(AlertCleared(iteration, "plateau"))
        return out
