"""Answers to sample and probe requests, for whichever thread owns a model.

The Trainer answers them between steps; a monitor attached to a run whose trainer has gone
(finished, stopped, crashed) answers them itself from the run's checkpoint with a
CheckpointResponder. Both emit the same events, so the monitor cannot tell them apart.
"""
from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .control import Control, ProbeRequest, SampleRequest
from .errors import UserError
from .events import SampleChunkGenerated, SampleGenerated
from .sample import generate, word_share

Emit = Callable[[Any], None]
STREAM_EVERY_S = 0.05       # sample chunks: ~20 updates/s at most


class Responder:
    """Sample and probe with `model` (which the caller's thread owns) and emit the answers.

    val_ids: (N,) ids of the validation text, the default text for probes (may be empty).
    train_ids: (M,) ids of the training text: with them, a probe of the validation text is
    followed by its error breakdown (ErrorsCounted, core.error_analysis).
    """

    def __init__(self, model, vocab: str, device: torch.device, emit: Emit,
                 val_ids: torch.Tensor | None = None, known_words: set[str] | None = None,
                 train_ids: torch.Tensor | None = None):
        self.model, self.vocab, self.device, self.emit = model, vocab, device, emit
        self.val_ids = val_ids if val_ids is not None else torch.zeros(0, dtype=torch.uint8)
        self.known_words = known_words or set()
        self.train_ids = train_ids

    def sample(self, request: SampleRequest, iteration: int, val_loss: float | None,
               default_seed: int) -> None:
        r = request
        if r.seed is not None:
            seed = r.seed
        elif r.request_id is None:      # a checkpoint's own sample: repeatable from the run
            seed = default_seed
        else:                           # asked for without a seed: a fresh one each time
            seed = secrets.randbelow(10**6)   # (in the sample's title: short, to type again)
        sid = r.request_id if r.stream else None     # streamed in chunks under this id
        if sid is not None and r.prime:
            self.emit(SampleChunkGenerated(sid, r.prime))
        chars: list[str] = []
        pending: list[str] = []
        last_flush = time.perf_counter()
        try:
            for ch in generate(self.model, self.vocab, r.length, r.prime, r.temperature, r.top_k,
                               seed, device=self.device):
                chars.append(ch)
                if sid is not None:
                    pending.append(ch)
                    if time.perf_counter() - last_flush > STREAM_EVERY_S:
                        self.emit(SampleChunkGenerated(sid, "".join(pending)))
                        pending, last_flush = [], time.perf_counter()
        except UserError as e:  # e.g. a prime with unknown characters: say so, carry on
            self.emit(SampleGenerated(iteration, f"[{e}]", r.prime, r.temperature, r.top_k, seed,
                                      val_loss, 0.0, r.request_id))
            return
        if pending and sid is not None:
            self.emit(SampleChunkGenerated(sid, "".join(pending)))
        text = r.prime + "".join(chars)
        self.emit(SampleGenerated(iteration, text, r.prime, r.temperature, r.top_k, seed,
                                  val_loss, word_share(text, self.known_words), r.request_id))

    def probe(self, request: ProbeRequest, iteration: int, where: str = "",
              validation: bool = False) -> None:
        """Probe the request's text, or with none a window of the validation split that holds
        quotes, brackets and line breaks (probe_window); `where` says which text it is.
        validation: the request's text is a window of the validation split (found by the
        caller), so its error breakdown follows as for one found here."""
        from . import probe  # numpy-heavy; only when someone looks at neurons
        from .probe_window import default_length, default_probe_text
        if request.text is None:
            length = request.length or default_length(self.device)
            text, where = default_probe_text(self.val_ids, self.vocab, length)
        else:
            text = request.text[:request.length]  # unknown characters are dropped and listed
        with torch.no_grad():
            result = probe.probe_text(self.model, text, self.vocab, k=request.k)
        result.where = where
        self.emit(result.to_event(iteration=iteration, source=request.source,
                                  request_id=request.request_id))
        if (request.text is None or validation) and self.train_ids is not None:
            self.count_errors(result, iteration)

    def count_errors(self, result, iteration: int) -> None:
        """Emit the error breakdown of a probe of the validation text, from its per-char
        losses: a few ints. The n-grams and word counts of the training split (its first
        LIVE_TRAIN_LIMIT chars) are built at the first call (error_analysis.CACHE) and kept."""
        from . import error_analysis as E
        if result.loss is None or len(result.text) < 2:
            return
        try:
            context = E.CACHE.get(self.train_ids, self.vocab, E.LIVE_TRAIN_LIMIT)
            ids = np.array([self.vocab.index(c) for c in result.text], dtype=np.int64)
            _, b = E.analyse(context, ids, self.vocab, np.exp(-result.loss.astype(np.float64)))
        except (ValueError, MemoryError):       # a diagnostic: never the run's end
            return
        self.emit(E.to_event(b, iteration, result.where))


def training_text_of(ckpt: dict) -> str:
    """The run's training text (its first 5 M chars, the Trainer's cap in data.Corpus), read
    from the corpus the checkpoint's config names when it is here (the offline default, or
    data.path on disk; never downloads), else "" (a corpus moved or changed)."""
    from . import config as config_mod
    from .corpus import locate_corpus
    from .data import decode_corpus, split_sizes
    try:
        data = config_mod.from_dict(ckpt.get("config", {})).data
        if data.path is None and data.url is not None:
            return ""
        if data.path is not None and not Path(data.path).is_file():
            return ""
        name, raw = locate_corpus(data)
        text = decode_corpus(raw, name, data.normalize_newlines)
    except (UserError, OSError, ValueError):
        return ""
    n_train, _, _ = split_sizes(len(text), data.val_frac, data.test_frac)
    return text[:n_train][:5_000_000]


def known_words_of(ckpt: dict) -> set[str]:
    """The words of the run's training text, as the Trainer's Responder gets them (for a
    sample's "real words" share); none when the corpus is not here."""
    from .data import words_of
    return words_of(training_text_of(ckpt))


class CheckpointResponder:
    """A stand-in trainer for a run whose trainer is gone: loads the run's checkpoint and
    answers sample/probe requests on a thread of its own (which owns that model).

    default_text(model, vocab, ckpt, length, device) -> (text, where): the text a probe
    without one reads (the corpus's validation split where it can be found). Save requests
    are ignored: the trainer's checkpoints are all there is. Stop ends the thread.
    """

    def __init__(self, checkpoint: str | Path, emit: Emit, device: str = "cpu",
                 default_text: Callable | None = None):
        self.control = Control()
        self.emit = emit
        self.path = Path(checkpoint)
        self.device = torch.device(device)
        self.default_text = default_text
        self.error: str | None = None
        self.thread = threading.Thread(target=self._serve, name="tuirnn-checkpoint", daemon=True)

    def start(self) -> "CheckpointResponder":
        self.thread.start()
        return self

    def _load(self) -> None:
        from .checkpoint import model_from_checkpoint
        self.model, self.vocab, self.ckpt = model_from_checkpoint(self.path, self.device)
        self.iteration = int(self.ckpt.get("iteration", 0))
        self.val_loss = self.ckpt.get("val_loss")
        self.seed = int(self.ckpt.get("config", {}).get("train", {}).get("seed", 0))
        from .data import words_of
        train = training_text_of(self.ckpt)     # words for samples, n-grams for the errors
        index = {ch: i for i, ch in enumerate(self.vocab)}
        ids = np.fromiter((index[ch] for ch in train if ch in index), np.int64)
        self.responder = Responder(self.model, self.vocab, self.device, self.emit,
                                   known_words=words_of(train),
                                   train_ids=torch.from_numpy(ids) if len(ids) else None)

    def _serve(self) -> None:
        try:
            self._load()          # here, not in the caller: a big model loads off the UI thread
        except UserError as e:
            self.error = str(e)
        while not self.control.stopped:
            self.control.wait(0.25)
            for request in self.control.take():
                try:
                    self._answer(request)
                except UserError:  # e.g. probe text the model cannot read: the pane says so
                    continue

    def _answer(self, request: Any) -> None:
        match request:
            case SampleRequest() if self.error is not None:
                self.emit(SampleGenerated(0, f"[{self.error}]", request.prime, request.temperature,
                                          request.top_k, request.seed if request.seed is not None else 0, None, 0.0,
                                          request.request_id))
            case SampleRequest():
                self.responder.sample(request, self.iteration, self.val_loss,
                                      self.seed + self.iteration)
            case ProbeRequest() if self.error is None:
                if request.text is None and self.default_text is not None:
                    from .probe_window import default_length
                    text, where = self.default_text(
                        self.model, self.vocab, self.ckpt,
                        request.length or default_length(self.device), self.device)
                    request = dataclasses.replace(request, text=text)
                    # a window of the validation split (probe_window's 'validation chars a-b
                    # of n'), not the text's start or a sample: its errors are counted too
                    self.responder.probe(request, self.iteration, where,
                                         validation="validation chars" in where)
                else:
                    self.responder.probe(request, self.iteration)
            case _:
                pass  # a save: nothing new to save; a probe of an unreadable checkpoint
