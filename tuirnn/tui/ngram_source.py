"""The monitor's n-gram for the Neurons tab's "model − n-gram" view (no widgets here).

Counting the training split takes seconds (War and Peace, orders 1..9: ~10 s, ~250 MB), so it
runs once, on a thread of its own, when the view is first asked for; the pane is told when it
is ready (`done` is called on that thread: the pane hands it to the app's loop). After that
each probe's text is scored in milliseconds and kept until the text changes.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from ..core import ngram
from ..core.errors import UserError
from . import vs_ngram_render as M

DEFAULT_ORDER = 5      # with no `tuirnn baseline` result yet; else its best order
MAX_ORDER = 12         # the monitor shares the machine with the trainer: no more than this


class NGramSource:
    def __init__(self) -> None:
        self.model: ngram.NGramModel | None = None
        self.order = DEFAULT_ORDER
        self.status = ""                # '' | 'counting…' | why there is none
        self._thread: threading.Thread | None = None
        self._scored: tuple[str, np.ndarray, np.ndarray] | None = None   # text, ln p, diff

    @staticmethod
    def order_for(baseline: Any) -> int:
        """The best order of a BaselineComputed (capped at MAX_ORDER), else DEFAULT_ORDER."""
        if baseline is None or not baseline.losses:
            return DEFAULT_ORDER
        best = int(np.nanargmin(np.asarray(baseline.losses, dtype=float))) + 1
        return max(1, min(MAX_ORDER, best))

    def start(self, config: dict[str, Any], vocab: str, order: int,
              done: Callable[[], None]) -> None:
        """Count orders 1..order of the run's training split on a thread; `done()` after."""
        if self._thread is not None or self.model is not None:
            return
        from ..core import config as config_mod
        self.order, self.status = order, f"counting {order}-grams of the training split…"

        def work() -> None:
            try:
                data = config_mod.from_dict(config).data
                self.model = ngram.fit_training_split(data, vocab, order)
                self.status = ""
            except (UserError, OSError, ValueError) as e:
                self.status = f"no n-gram: {e}"
            done()

        self._thread = threading.Thread(target=work, name="tuirnn-ngram", daemon=True)
        self._thread.start()

    def scored(self, text: str, vocab: str, model_nats: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(ln p per char under the n-gram, model − n-gram bits) for a probe's text, or None
        while counting (or when there is no n-gram: see status)."""
        if self.model is None:
            return None
        if self._scored is None or self._scored[0] != text:
            lookup = {ch: i for i, ch in enumerate(vocab)}
            ids = np.fromiter((lookup[ch] for ch in text), dtype=np.int64, count=len(text))
            logp = self.model.logprobs(ids, self.order)
            self._scored = (text, logp, M.difference_bits(model_nats, logp))
        return self._scored[1], self._scored[2]
