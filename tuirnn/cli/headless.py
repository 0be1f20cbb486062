"""Headless mode: the same Trainer with a printing sink (a rich progress bar and log lines).

Used with --headless and whenever stdout is not a terminal. Signals (Ctrl+C, SIGTERM, SIGHUP)
ask the trainer to stop; it saves checkpoints/last.pt before the process exits (stopping.py).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ..core.control import Control
from ..core.events import (
    AlertCleared,
    AlertRaised,
    EvalCompleted,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    SampleGenerated,
    StepsCompleted,
)
from ..core.schedule import format_duration
from ..core.train import Trainer
from .hints import resume_hint
from .stopping import StopSignals


class LogConsole(Console):
    """A Console whose reader may go away: it falls silent instead of exiting the process
    (rich's default on a broken pipe is SystemExit(1), which would end the run unsaved)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        try:  # later writes, and the flush at exit, go to /dev/null instead of failing
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


class HeadlessPrinter:
    """A sink: progress bar on a terminal, a log line every few seconds otherwise.

    Nothing is wrapped (rich would cut lines at 80 columns on a pipe): each event is one line,
    so logs grep and hints copy-paste, and a sample is written verbatim between two rule
    lines, so every line break in it is the model's own.
    """

    def __init__(self, console: Console | None = None, line_every_s: float = 5.0):
        self.console = console or LogConsole()
        self.line_every_s = line_every_s
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.smooth: float | None = None
        self.budget: float | None = None     # train.time_budget in seconds, from RunStarted
        self.last_line = 0.0
        self.failed: RunFailed | None = None
        self.finished: RunFinished | None = None
        self.diverged: AlertRaised | None = None

    def say(self, text: str, markup: bool = False) -> None:
        """One log line, never wrapped (a terminal may fold it on screen; a file keeps it whole)."""
        self.console.print(text, markup=markup, emoji=False, soft_wrap=True)

    def _verbatim(self, text: str) -> None:
        """Model text as it is: no markup, emoji codes, tab expansion or wrapping."""
        c = self.console
        if c.is_terminal:  # through rich, so the progress bar stays below it
            c.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:
            c.file.write(text + "\n")
            c.file.flush()

    def __call__(self, ev: Any) -> None:
        """Print `ev`; a reader that went away (`| head`, a dead ssh pipe) stops the printing,
        never the training: the run goes on to its checkpoints and its log."""
        match ev:
            case RunFinished():
                self.finished = ev
            case RunFailed():
                self.failed = ev
            case AlertRaised(kind="diverged"):
                self.diverged = ev
        if self.console.quiet:
            return
        try:
            self._print(ev)
        except BrokenPipeError:      # from a plain write (rich's own go to on_broken_pipe)
            self.console.on_broken_pipe()
        if self.console.quiet:
            self._stop_bar()

    def _print(self, ev: Any) -> None:
        c, say = self.console, self.say
        match ev:
            case RunStarted():
                say(f"{ev.run_name}: {ev.cell} {ev.num_layers}x{ev.hidden_size}, "
                    f"{ev.num_params:,} params, {len(ev.vocab)} chars vocab, "
                    f"{ev.train_chars:,} train / {ev.val_chars:,} val chars, on {ev.device}")
                per = "iteration" if ev.iters_per_epoch == 1 else "iterations"
                say(f"run folder: {ev.run_dir}  ({ev.iters_per_epoch:,} {per} per epoch)")
                self.budget = ev.time_budget_s
                if c.is_terminal:
                    # with a time budget the bar counts training seconds (whichever ends first,
                    # the clock or max_iters: the further along), else iterations
                    count = (TextColumn("{task.fields[clock]}") if self.budget
                             else MofNCompleteColumn())
                    self.progress = Progress(
                        TextColumn("[bold blue]train"), BarColumn(), count,
                        TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} chars/s"),
                        TimeRemainingColumn(), console=c, transient=True)
                    self.task = self.progress.add_task("train", total=ev.max_iters,
                                                       completed=ev.start_iter, loss="-", rate="-",
                                                       clock="")
                    self.progress.start()
            case StepsCompleted():
                for loss in ev.losses:
                    self.smooth = loss if self.smooth is None else 0.95 * self.smooth + 0.05 * loss
                clock = self.clock(ev)
                if self.progress is not None and self.task is not None:
                    done, total = float(ev.iteration), self.progress.tasks[0].total or 1.0
                    if self.budget and ev.budget_left_s is not None:
                        done = total * max(ev.iteration / total, 1 - ev.budget_left_s / self.budget)
                    self.progress.update(self.task, completed=done, loss=f"{self.smooth:.4f}",
                                         rate=f"{ev.chars_per_sec:,.0f}", clock=clock)
                elif time.monotonic() - self.last_line >= self.line_every_s:
                    self.last_line = time.monotonic()
                    say(f"iter {ev.iteration:>7}  epoch {ev.epoch:6.2f}  loss {self.smooth:.4f}  "
                        f"lr {ev.lr:.2e}  {ev.chars_per_sec:,.0f} chars/s{rank_times(ev)}"
                        + (f"  {clock}" if clock else ""))
            case EvalCompleted():
                best = " (best)" if ev.is_best else ""
                say(f"iter {ev.iteration:>7}  epoch {ev.epoch:6.2f}  val loss {ev.val_loss:.4f}{best}")
            case SampleGenerated():
                kind = "fixed sample" if ev.timeline else "sample"    # the timeline's, same seed each time
                c.rule(f"{kind} at iter {ev.iteration} (T={ev.temperature:g}, "
                       f"{ev.word_share:.0%} real words)", style="dim")
                self._verbatim(ev.text)
                c.rule(style="dim")
            case Paused() | Resumed():
                say(f"{type(ev).__name__.lower()} at iter {ev.iteration}")
            case AlertRaised():
                if ev.action != "stopped":    # a stopped run says it once, at the end (stderr)
                    say(f"iter {ev.iteration:>7}  {ev.message}"
                        + ("; paused (a monitor is attached)" if ev.action == "paused" else ""))
            case AlertCleared():
                say(f"iter {ev.iteration:>7}  {ev.kind} no longer holds")
            case RunFinished(reason="diverged"):
                self._stop_bar()              # run_headless says it, with the exit status
            case RunFinished():
                self._stop_bar()
                best = f", best val loss {ev.best_val_loss:.4f} ({ev.best_checkpoint})" if ev.best_val_loss else ""
                say(f"finished at iter {ev.iteration} ({ev.reason}){best}")
            case RunFailed():
                self._stop_bar()

    def clock(self, ev: StepsCompleted) -> str:
        """'iter 2369 · 1m05s/1m30s' of training time with a budget, else ''."""
        if not self.budget or ev.budget_left_s is None:
            return ""
        used = format_duration(self.budget - ev.budget_left_s)
        return f"iter {ev.iteration} · {used}/{format_duration(self.budget)}"

    def _stop_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def rank_times(ev: StepsCompleted) -> str:
    """Several ranks: the fastest and slowest rank's forward ms per step (a straggler shows)."""
    if ev.rank_ms_min is None or ev.rank_ms_max is None:
        return ""
    return f"  rank fwd {ev.rank_ms_min:.1f}-{ev.rank_ms_max:.1f} ms"


def run_headless(trainer: Trainer, control: Control, printer: HeadlessPrinter,
                 stops: StopSignals) -> int:
    """Train in this thread; returns the exit status (0 done or stopped, 1 failed or diverged,
    2 bad input,
    130 when a third signal abandoned the final save).

    `printer` and `stops` are sinks of the trainer; `stops` (installed by `tuirnn run` before
    the run folder existed) handles Ctrl+C, SIGTERM and SIGHUP: stop and save, "saving, one
    moment", abandon.
    """
    try:
        trainer.run()
    except KeyboardInterrupt:            # the third signal: the save was given up
        printer._stop_bar()
        print(f"tuirnn: {stops.what_was_kept()}", file=sys.stderr)
        return 130
    finally:
        printer._stop_bar()
        # the handlers stay (ignoring signals now the run is over) until the process exits
    failed = printer.failed
    if failed is not None:
        if failed.traceback:
            print(failed.traceback, file=sys.stderr, end="" if failed.traceback.endswith("\n") else "\n")
            print(f"error: training failed: {failed.error} (traceback in {trainer.run_dir}/error.log)",
                  file=sys.stderr)
        else:
            print(f"error: {failed.error}", file=sys.stderr)
        return failed.exit_status
    if printer.finished is not None and printer.finished.reason == "diverged":
        what = printer.diverged.message if printer.diverged else "the loss diverged"
        print(f"error: {what}; stopped and saved {trainer.run_dir}/checkpoints/last.pt "
              "(best.pt keeps the best sane model); lower train.learning_rate or set "
              "train.grad_clip, and start again", file=sys.stderr)
        return 1
    if control.stopped and printer.finished is not None and printer.finished.reason == "stopped":
        printer.say(f"stopped; saved {trainer.run_dir}/checkpoints/last.pt; "
                    f"continue with: {resume_hint(trainer.run_dir)}")
    return 0
