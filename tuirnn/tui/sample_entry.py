"""One sample in the monitor's history (a checkpoint's, or one asked for with `s`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.events import SampleGenerated


@dataclass
class SampleEntry:
    """One sample in the history; `done` is False while a requested sample streams in."""
    text: str
    iteration: int
    val_loss: float | None = None
    temperature: float | None = None
    top_k: int = 0
    seed: int | None = None
    prime: str = ""
    word_share: float | None = None
    request_id: int | None = None
    done: bool = True

    @classmethod
    def from_event(cls, ev: SampleGenerated) -> "SampleEntry":
        return cls(text=ev.text, iteration=ev.iteration, val_loss=ev.val_loss,
                   temperature=ev.temperature, top_k=ev.top_k, seed=ev.seed, prime=ev.prime,
                   word_share=ev.word_share, request_id=ev.request_id)
