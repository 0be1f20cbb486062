"""Events the trainer emits: frozen dataclasses of builtins, named in the past tense.

Sinks (the TUI, the event log, the headless printer) receive them in order. Nothing here holds
a tensor, so an event can cross threads and be written as one JSON line.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    run_name: str
    run_dir: str
    cell: str
    hidden_size: int
    num_layers: int
    num_params: int
    device: str
    vocab: str                   # the sorted characters
    train_chars: int
    val_chars: int
    iters_per_epoch: int
    max_iters: int               # total planned, from max_iters and max_epochs
    start_iter: int              # > 0 when resumed
    batch_size: int
    seq_length: int
    learning_rate: float
    config: dict[str, Any]
    world_size: int = 1          # processes training together (torchrun ranks); batch_size is each one's
    backend: str = ""            # their process group: nccl | gloo; "" for one process
    init_from: str = ""          # the checkpoint whose weights a new run started from (--init-from)
    init_from_iter: int = 0      # ... and the iteration it was saved at
    time_budget_s: float | None = None   # train.time_budget in seconds (None: no budget) ...
    budget_used_s: float = 0.0   # ... and how much of it a resumed run had used already


@dataclass(frozen=True)
class StepsCompleted:
    """Every `log_every` steps: the per-step losses since the last report."""
    iteration: int               # the last step done (1-based count of steps)
    epoch: float                 # fractional epochs done
    losses: tuple[float, ...]    # one per step in this window, oldest first
    lr: float
    chars_per_sec: float         # over this window
    elapsed_s: float             # training time so far in this process
    # several ranks: forward ms per step of the fastest and the slowest rank (a straggler shows)
    rank_ms_min: float | None = None
    rank_ms_max: float | None = None
    budget_left_s: float | None = None   # training time left of train.time_budget (None: none)


def merge_steps(a: StepsCompleted, b: StepsCompleted) -> StepsCompleted:
    """Two consecutive step reports as one: all losses kept, the newest figures win (a slow
    reader, the monitor's inbox or a socket client's queue, takes one report for many)."""
    return dataclasses.replace(b, losses=a.losses + b.losses)


@dataclass(frozen=True)
class EvalStarted:
    iteration: int


@dataclass(frozen=True)
class EvalCompleted:
    iteration: int
    epoch: float
    val_loss: float
    best_val_loss: float
    is_best: bool


@dataclass(frozen=True)
class SampleGenerated:
    iteration: int
    text: str                    # prime + generated characters
    prime: str
    temperature: float
    top_k: int
    seed: int
    val_loss: float | None       # at the checkpoint it was drawn from
    word_share: float            # share of its words that occur in the training text
    request_id: int | None = None  # set when asked for through Control.request_sample
    timeline: bool = False       # the fixed sample (same prime and seed at every checkpoint)


@dataclass(frozen=True)
class SampleChunkGenerated:
    """Streaming part of a requested sample (prime first), before its SampleGenerated."""
    request_id: int
    text: str


@dataclass(frozen=True)
class ProbeCompleted:
    """Activations of every unit for every character of `text`.

    Arrays are packed float32 bytes (little-endian) to stay builtins and cheap to pass:
    h and c: (num_layers, len(text), hidden_size); c holds tanh(cell state), empty for GRU/RNN.
    top_ids: (len(text), k) int32; top_probs: (len(text), k) float32 (next-char guesses).
    loss: (len(text),) float32, the loss in nats on each character (NaN for the first).
    """
    iteration: int
    text: str
    cell: str
    num_layers: int
    hidden_size: int
    k: int
    h: bytes
    c: bytes
    top_ids: bytes
    top_probs: bytes
    vocab: str
    source: str = "val"          # val | sample | typed | file
    request_id: int | None = None
    dropped: str = ""            # distinct characters left out of `text`: not in the vocabulary
    loss: bytes = b""
    where: str = ""              # which text, e.g. "validation chars 10,200-14,200 of 160,000"
    gates: bytes = b""           # gate saturation (core/gates.py GateStats.pack): float32
                                 # (num_layers, gates, 2, hidden_size), empty for an RNN


@dataclass(frozen=True)
class ErrorsCounted:
    """The model's errors (p < 0.5 on the true char) on the probed validation text, split by
    the oracles of core.error_analysis, in their order; the six counts sum to `errors`."""
    iteration: int
    chars: int                   # characters predicted
    errors: int
    ngram: int
    memory: int
    rare: int
    word: int
    punctuation: int
    boost: int
    ngram_used: bool = True      # False: no n-gram model, so `ngram` is 0 by default
    where: str = ""              # which text, e.g. "validation chars 10,200-14,200 of 160,000"


@dataclass(frozen=True)
class CheckpointSaved:
    iteration: int
    path: str
    kind: str                    # last | best | snapshot | manual
    val_loss: float | None


@dataclass(frozen=True)
class Paused:
    iteration: int
    budget_left_s: float | None = None   # training time left of train.time_budget, kept while paused


@dataclass(frozen=True)
class Resumed:
    iteration: int


@dataclass(frozen=True)
class RunResumed:
    """A process continues the run from its checkpoint at `iteration` (0: a folder that had
    none). Whatever an earlier process logged past `iteration` was lost with it: readers
    drop it, so the history never goes back in time."""
    iteration: int


@dataclass(frozen=True)
class AlertRaised:
    """The trainer noticed something the watcher should see.

    kind: diverged   the train loss is NaN/inf or more than 3x the first one, or the val loss
                     is (char-rnn's "loss is exploding"); action says what the trainer did:
                     "paused" (someone watches) or "stopped" (nobody does: exit status 1)
          overfitting  the val loss rose at 3 evals in a row
          plateau    no new best val loss in `train.plateau_evals` evals
    """
    iteration: int
    kind: str
    message: str                 # one line, e.g. "loss is exploding: nan at iter 57"
    value: float | None = None   # the loss that raised it
    action: str = ""             # diverged only: paused | stopped


@dataclass(frozen=True)
class AlertCleared:
    """An overfitting or plateau alert no longer holds (a new best, a val loss that fell),
    or training went on after a divergence."""
    iteration: int
    kind: str


@dataclass(frozen=True)
class RunFinished:
    iteration: int
    reason: str                  # max_iters | max_epochs | time_budget | stopped | diverged
    best_val_loss: float | None
    best_checkpoint: str | None


@dataclass(frozen=True)
class RunFailed:
    iteration: int
    error: str                   # one line
    traceback: str
    exit_status: int = 1         # 2: bad input (config, data, checkpoint); 1: anything else


@dataclass(frozen=True)
class BaselineComputed:
    """`tuirnn baseline`: Kneser–Ney n-gram losses (core/ngram.py) on one split of the run's
    corpus, fitted on its training split; appended to events.jsonl as one line."""
    split: str                   # val | test
    losses: tuple[float, ...]    # nats/char of orders 1..len(losses)
    train_chars: int
    scored_chars: int
    fit_s: float                 # seconds to count every order
    peak_mb: float               # peak memory while counting (tracemalloc), MiB


EVENT_TYPES = {cls.__name__: cls for cls in (
    RunStarted, StepsCompleted, EvalStarted, EvalCompleted, SampleGenerated, SampleChunkGenerated,
    ProbeCompleted, CheckpointSaved, Paused, Resumed, RunResumed, RunFinished, RunFailed,
    AlertRaised, AlertCleared, BaselineComputed, ErrorsCounted)}


def to_json_dict(event: Any) -> dict[str, Any]:
    """{'event': 'StepsCompleted', ...fields}; bytes fields are left out (probe payloads)."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, bytes):
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


# An int field holds an iteration, a count or a seed: never near this. A bigger one is not
# ours, and as a float it would overflow.
_INT_LIMIT = 1 << 63


def _fits(v: Any, kind: str) -> bool:
    """Whether a JSON value fits one annotation (the strings `from __future__ import
    annotations` leaves): floats may be NaN or inf (a diverged loss is logged as it was)."""
    if " | " in kind:
        return any(_fits(v, k) for k in kind.split(" | "))
    match kind:
        case "None":
            return v is None
        case "str":
            return isinstance(v, str)
        case "bool":
            return isinstance(v, bool)
        case "int":
            return isinstance(v, int) and not isinstance(v, bool) and abs(v) < _INT_LIMIT
        case "float":
            return isinstance(v, float) or _fits(v, "int")
        case "tuple[float, ...]":
            return isinstance(v, list) and all(_fits(x, "float") for x in v)
        case "dict[str, Any]":
            return isinstance(v, dict)
        case "bytes":       # never in JSON; the socket's binary frames fill them in
            return isinstance(v, bytes)
    return False            # an annotation not foreseen here: refused, not guessed


def from_json_dict(d: dict[str, Any]) -> Any:
    """Inverse of to_json_dict for the events that keep all their fields. The log and the
    socket are untrusted input: KeyError for an unknown event or a missing field, TypeError
    for a value that is not its field's type (so no reader meets a str where an int goes)."""
    cls = EVENT_TYPES[d["event"]]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in d:
            v = d[f.name]
            kind = str(f.type)
            if not _fits(v, kind):
                raise TypeError(f"{cls.__name__}.{f.name}: {type(v).__name__} is not {kind}")
            if kind == "tuple[float, ...]":
                v = tuple(float(x) for x in v)
            elif kind.startswith("float") and isinstance(v, int):    # JSON wrote 3.0 as 3
                v = float(v)
            kwargs[f.name] = v
        elif f.type == "bytes":
            kwargs[f.name] = b""
    return cls(**kwargs)
