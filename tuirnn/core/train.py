"""The Trainer: owns the model on one thread, emits events to sinks, obeys a Control.

It prints nothing itself (minGPT's Trainer): sinks decide what to show. The only host syncs
are at log time (every `log_every` steps: one .tolist() of the stacked losses) and at evals.
"""
from __future__ import annotations

import dataclasses
import math
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import checkpoint as ckpt_mod
from .alerts import AlertWatch
from .config import Config
from .control import ProbeRequest, SampleRequest, SaveRequest, TrainerControl
from .data import Corpus
from .device import cpu_threads, make_optimizer
from .errors import RankLost, StorageError, UserError
from .events import (
    AlertCleared,
    AlertRaised,
    CheckpointSaved,
    EvalCompleted,
    EvalStarted,
    Paused,
    Resumed,
    RunFinished,
    RunResumed,
    SampleGenerated,
    StepsCompleted,
)
from .model import CharRNN, build, check_fits
from .ranks import Solo
from .responder import Responder
from .schedule import Pace, eval_due
from .trainer_records import (
    checkpoint_dict,
    finish_reason,
    report_failure,
    restore,
    start_from,
    started_event,
)

Sink = Callable[[Any], None]


class Trainer:
    """One loop for 1..N ranks; `dist` (ranks.Solo, or ranks.Ranks under torchrun) is called
    inline where the ranks must agree or only rank 0 writes.

    resume_state: the checkpoint a resumed run goes on from; init_from: another run's
    checkpoint whose weights a new run starts from; resumed_from: the iteration a resumed run
    goes on from without a checkpoint (0: its earlier process died before the first one);
    watched: does a monitor watch now? Then a divergence pauses the run; else it stops it.
    """

    def __init__(self, cfg: Config, run_dir: Path, sinks: list[Sink], control: TrainerControl,
                 corpus: Corpus, resume_state: dict[str, Any] | None = None, *,
                 init_from: dict[str, Any] | None = None, resumed_from: int | None = None,
                 watched: Callable[[], bool] | None = None, dist: Solo | None = None):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.sinks = list(sinks)
        self.dist = dist or Solo()
        self.control = self.dist.control(control)
        self.corpus = corpus
        self.resume_state = resume_state
        self.init_from = init_from
        self.iteration = 0
        self.best_val_loss = math.inf
        self.last_val_loss: float | None = None
        self.best_path: str | None = None
        self.resumed_from = int(resume_state["iteration"]) if resume_state else resumed_from
        self.device = self.dist.device(cfg.train.device)
        self.alerts = AlertWatch(cfg.train.plateau_evals)
        self.watched: Callable[[], bool] = watched or (lambda: False)
        self.diverged_stop = False           # stopped by a divergence: RunFinished "diverged"

    # --- events ---------------------------------------------------------------------------
    def emit(self, event: Any) -> None:
        try:
            for sink in self.sinks:
                sink(event)
        except StorageError as e:    # alone: at once; ranks: all together, at the next step
            self.dist.failed(e)

    # --- set-up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build data, model and optimiser (and restore a resumed run); UserError if unusable.

        Called by the CLI before the UI starts, so bad input fails as one line, not inside
        the monitor. The training thread owns everything from then on.
        """
        if getattr(self, "model", None) is not None:
            return
        cfg, dev = self.cfg, self.device
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.set_num_threads(cpu_threads(cfg.train.threads))
        self.dist.start(dev)
        torch.manual_seed(cfg.train.seed)    # every rank alike: the weights start equal
        t = cfg.train
        self.train_data, self.val_data = self.dist.batchers(self.corpus, t.batch_size,
                                                            t.seq_length, dev)
        check_fits(len(self.corpus.vocab), cfg.model, dev)  # before any allocation
        self.model: CharRNN = build(len(self.corpus.vocab), cfg.model).to(dev)
        self.optimizer = make_optimizer(self.model.parameters(), cfg.train.optimizer,
                                        cfg.train.learning_rate, dev)
        n = len(self.train_data)
        limit = math.ceil(cfg.train.max_epochs * n)
        self.max_iters = min(limit, cfg.train.max_iters) if cfg.train.max_iters else limit
        self.state = self.model.init_state(self.train_data.batch_size, dev)
        s = cfg.sample          # the run's last work: an eval, one or two samples, saves
        self.pace = Pace(cfg.train, self.max_iters, len(self.val_data) if self.val_data else 0,
                         s.length * (2 if s.timeline else 1))
        self.clock = self.pace.clock
        # what the loop calls forward (DDP wraps it)
        self.step_model = self.dist.wrap(self.model, dev, cfg.train.seed, self.resume_state is not None)
        if self.resume_state is not None:
            restore(self, self.resume_state)
        elif self.init_from is not None:
            start_from(self, self.init_from)

    def close(self) -> None:
        """Let go of what the run held beyond this object (a process group, for several ranks)."""
        self.dist.close()

    # --- the run ----------------------------------------------------------------------------
    def run(self) -> None:
        """Train until max_iters/max_epochs or a stop; never raises (RunFailed instead)."""
        try:
            self.prepare()
            if self.resumed_from is not None:
                self.emit(RunResumed(self.resumed_from))
            self.emit(self.dist.started(started_event(self)))
            self._loop()
            self.dist.settle()       # rank 0's last writes: every rank learns how they went
        except UserError as e:
            report_failure(self, str(e), "", exit_status=2)
        except (StorageError, RankLost) as e:  # disk full or read-only, a rank gone: one line
            self.dist.peer_failure(e)
            report_failure(self, str(e), "", exit_status=1)
        except Exception as e:  # shown in the UI and written to the run folder
            lost = self.dist.peer_failure(e)
            if lost is not None:
                report_failure(self, str(lost), "", exit_status=1)
                return
            tb = traceback.format_exc()
            report_failure(self, f"{type(e).__name__}: {e}", tb, exit_status=1)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _loop(self) -> None:
        cfg, model, opt, data = self.cfg.train, self.model, self.optimizer, self.train_data
        n_batches = len(data)
        V = len(self.corpus.vocab)
        window: list[torch.Tensor] = []
        window_start = time.perf_counter()
        run_start = window_start
        params = list(model.parameters())
        model.train()
        self.clock.start()
        while self.iteration < self.max_iters:
            if self.control.has_work:
                self._service()
                window_start = time.perf_counter() if not window else window_start
            if self.control.stopped:
                break
            lr = self.pace.lr(self.iteration, self.dist.world.size == 1)
            if lr is not None:
                for group in opt.param_groups:
                    group["lr"] = lr
            t_step = time.perf_counter()
            b = self.iteration % n_batches
            if b == 0:  # epoch wrap: streams restart, so does the hidden state
                self.state = model.init_state(data.batch_size, self.device)
            x, y = data[b]
            logits, state = self.step_model(x, self.state)
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
            opt.step()
            self.state = CharRNN.detach_state(state)
            window.append(loss.detach())
            self.iteration += 1
            if self.iteration % n_batches == 0 and cfg.lr_schedule == "step":
                epochs_done = self.iteration // n_batches
                if epochs_done >= cfg.lr_decay_after and cfg.lr_decay != 1.0:
                    for group in opt.param_groups:
                        group["lr"] *= cfg.lr_decay
            self.pace.stepped(time.perf_counter() - t_step)
            last = self.iteration == self.max_iters or self.pace.budget_spent(self.iteration, self.dist)
            if self.iteration % cfg.log_every == 0 or last:
                self._report_steps(window, window_start, run_start)
                window = []
                window_start = time.perf_counter()
            if eval_due(self.iteration, cfg.eval_every, cfg.eval_every_after) or last:
                t_eval = time.perf_counter()
                self._evaluate_and_save()
                self.clock.timed_final(time.perf_counter() - t_eval)
                window_start = time.perf_counter()
            if self.pace.spent:
                break
        self.clock.pause()
        reason = finish_reason(self)
        if reason in ("diverged", "stopped"):   # ended between evals: the steps since, last.pt
            if window:  # the steps since the last report, so the log holds every step
                self._report_steps(window, window_start, run_start)
            self._save("last", kind="last")
        self.emit(RunFinished(self.iteration, reason, self._best_or_none(), self.best_path))

    def _report_steps(self, window: list[torch.Tensor], window_start: float, run_start: float) -> None:
        # the one host sync per window; the mean over ranks, so every rank checks the same
        losses, ms_min, ms_max = self.dist.mean_losses(torch.stack(window), self.step_model)
        now = time.perf_counter()
        chars = len(losses) * self.dist.world.size * self.train_data.chars_per_batch
        self.emit(StepsCompleted(
            iteration=self.iteration, epoch=self.iteration / len(self.train_data),
            losses=tuple(losses), lr=self.lr, chars_per_sec=chars / max(now - window_start, 1e-9),
            elapsed_s=now - run_start, rank_ms_min=ms_min, rank_ms_max=ms_max,
            budget_left_s=self.clock.left()))
        match self.alerts.train_losses(self.iteration, losses):
            case AlertRaised() as alert:
                self._diverged(alert)
            case AlertCleared() as cleared:
                self.emit(cleared)
            case None:
                pass

    def _diverged(self, alert: AlertRaised) -> None:
        """The loss exploded. Watched (a monitor attached): pause at once, the monitor shows
        a red banner. Nobody watching: stop, save last.pt (never best.pt), RunFinished
        "diverged", and the process exits 1. Every rank comes here at the same step (the
        losses are agreed); only rank 0 knows whether a monitor watches, so it decides."""
        if self.dist.from_main(self.watched()):
            self.emit(dataclasses.replace(alert, action="paused"))
            self.control.pause()
        else:
            self.emit(dataclasses.replace(alert, action="stopped"))
            self.diverged_stop = True
            self.control.stop()

    def _best_or_none(self) -> float | None:
        return None if math.isinf(self.best_val_loss) else self.best_val_loss

    # --- between steps ----------------------------------------------------------------------
    def _service(self) -> None:
        """Answer requests; while paused, block here (no busy loop) until resume or stop."""
        for request in self.control.take():
            self._handle(request)
        if self.control.paused and not self.control.stopped:
            self.clock.pause()               # a paused run keeps its budget
            self.emit(Paused(self.iteration, self.clock.left()))
            while self.control.paused and not self.control.stopped:
                self.control.wait(0.25)
                for request in self.control.take():
                    self._handle(request)
            if not self.control.stopped:
                self.emit(Resumed(self.iteration))
        self.clock.resume()

    def _handle(self, request: Any) -> None:
        match request:
            case SampleRequest():
                self._sample(request)
            case SaveRequest():
                self._save("last", kind="manual")
            case ProbeRequest():
                self._responder().probe(request, self.iteration)

    def _responder(self, emit: Callable[[Any], None] | None = None) -> Responder:
        return Responder(self.model, self.corpus.vocab, self.device, emit or self.emit,
                         self.corpus.val, self.corpus.known_words, self.corpus.train)

    def _sample(self, request: SampleRequest) -> None:
        self._responder().sample(request, self.iteration, self.last_val_loss,
                                 default_seed=self.cfg.train.seed + self.iteration)

    # --- evals and checkpoints --------------------------------------------------------------
    def evaluate(self) -> float:
        """Mean cross-entropy (nats/char) over the whole val split, streams carried."""
        return self.dist.evaluate(self.model, self.val_data, self.device)

    def _evaluate_and_save(self) -> None:
        self.emit(EvalStarted(self.iteration))
        val = self.evaluate()
        self.last_val_loss = val
        exploded = self.alerts.val_exploded(val)
        is_best = val < self.best_val_loss and not exploded    # a diverged model is never best
        if is_best:
            self.best_val_loss = val
        n = len(self.train_data)
        self.emit(EvalCompleted(self.iteration, self.iteration / n, val, self.best_val_loss, is_best))
        if exploded:           # no samples or snapshots of a blown-up model
            alert = self.alerts.val_diverged(self.iteration, val)
            if alert is not None:
                self._diverged(alert)
            return
        for event in self.alerts.val_loss(self.iteration, val):
            self.emit(event)
        s = self.cfg.sample
        if self.dist.main:       # samples are rank 0's alone: no collective runs in them
            self._sample(SampleRequest(None, s.prime, s.temperature, s.length, s.top_k,
                                       seed=None, stream=False))
            if s.timeline:
                self._timeline_sample()
        self._save("last", kind="last")
        if is_best:
            self._save("best", kind="best")
        if not self.dist.main:
            return
        folder = self.run_dir / "checkpoints"
        snap = folder / ckpt_mod.snapshot_name(self.iteration, self.iteration / n, val)
        try:
            ckpt_mod.save_atomic(checkpoint_dict(self, full=False), snap)
            self.emit(CheckpointSaved(self.iteration, str(snap), "snapshot", val))
            ckpt_mod.prune_snapshots(folder, self.cfg.train.keep_snapshots)
        except StorageError as e:
            self.dist.failed(e)

    def _timeline_sample(self) -> None:
        """The fixed sample: the same prime and seed at every checkpoint, so that they compare
        (the essay's evolution of samples). Sent as SampleGenerated with timeline=True."""
        def marked(event: Any) -> None:
            match event:
                case SampleGenerated():
                    self.emit(dataclasses.replace(event, timeline=True))
                case _:
                    self.emit(event)

        s = self.cfg.sample
        fixed = SampleRequest(None, s.timeline_prime, s.temperature, s.length, s.top_k,
                              seed=s.seed, stream=False)
        self._responder(marked).sample(fixed, self.iteration, self.last_val_loss,
                                       default_seed=s.seed)

    def _save(self, name: str, kind: str) -> None:
        """Every rank builds the checkpoint (its states are gathered); rank 0 writes it."""
        path = self.run_dir / "checkpoints" / f"{name}.pt"
        ck = checkpoint_dict(self, full=True)
        if not self.dist.main:
            return
        try:
            ckpt_mod.save_atomic(ck, path)
        except StorageError as e:
            self.dist.failed(e)
            return
        if name == "best":
            self.best_path = str(path)
        self.emit(CheckpointSaved(self.iteration, str(path), kind, self.last_val_loss))
