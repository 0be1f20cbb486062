"""Shared by the benchmarks: corpus lookup and the plain PyTorch baseline loop.

The baseline is deliberately the obvious ~60-line char-rnn loop anyone would write: embedding,
one fused nn.LSTM/GRU/RNN(num_layers=L), linear head, Adam (or RMSprop), global-norm clipping,
char-rnn batching (B contiguous streams, hidden state carried across batches and detached).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import tuirnn  # noqa: E402,F401  (first: sets torch's thread wait policy as the product does)

SHARED_DATA = Path("/work/shared/data")


def find_corpus(explicit: str | None, default_name: str, config_path: str | None = None) -> Path | None:
    """--data when given; else the config's data.path, ROOT/data/<name>, /work/shared/data/<name>."""
    if explicit:
        p = Path(explicit)
        return p if p.is_file() else None
    names = [default_name] + ([Path(config_path).name] if config_path else [])
    candidates = []
    if config_path:
        candidates += [Path(config_path), ROOT / config_path]
    for name in names:
        candidates += [ROOT / "data" / name, SHARED_DATA / name]
    for c in candidates:
        if c.is_file():
            return c
    return None


def skip(reason: str) -> None:
    print(f"SKIPPED: {reason}")
    sys.exit(0)


def load_corpus(path: Path, val_frac: float, normalize_newlines: bool = True):
    from tuirnn.core.data import Corpus, decode_corpus
    text = decode_corpus(path.read_bytes(), path.name, normalize_newlines)
    return Corpus.from_text(text, path.name, val_frac)


# --- the plain baseline -------------------------------------------------------------------------

class PlainRNN(nn.Module):
    def __init__(self, vocab: int, cell: str, hidden: int, layers: int, embed: int, dropout: float):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = rnn(embed, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                       batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        out, h = self.rnn(self.embed(x), h)
        return self.head(self.drop(out)), h


def streams(ids: torch.Tensor, B: int, T: int):
    """ids -> x, y (B, n*T) int64: B contiguous streams, y shifted by one."""
    n = (len(ids) - 1) // (B * T) * B * T
    return ids[:n].long().view(B, -1), ids[1:n + 1].long().view(B, -1), n // (B * T)


def detach(h):
    """Cut the graph behind a carried state: a tensor or (nested) tuples of tensors."""
    return tuple(detach(t) for t in h) if isinstance(h, tuple) else h.detach()


class PlainLoop:
    """One training run of the baseline; `step()` does one batch."""

    def __init__(self, train_ids, vocab, cell="lstm", hidden=128, layers=2, embed=64, dropout=0.0,
                 batch=50, seq=50, lr=2e-3, clip=5.0, optimizer="adam", seed=123,
                 lr_decay=0.97, lr_decay_after=10, model=None, device="cpu"):
        torch.manual_seed(seed)
        self.model = model if model is not None else PlainRNN(vocab, cell, hidden, layers, embed, dropout)
        self.model.to(device)
        self.device = device
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.RMSprop
        self.opt = opt(self.model.parameters(), lr=lr)
        self.x, self.y, self.n_batches = streams(train_ids, batch, seq)
        self.x, self.y = self.x.to(device), self.y.to(device)
        self.T, self.V, self.clip = seq, vocab, clip
        self.lr_decay, self.lr_decay_after = lr_decay, lr_decay_after
        self.h = None
        self.it = 0
        self.last_loss = float("nan")
        self.model.train()

    def step(self) -> None:
        b = self.it % self.n_batches
        if b == 0:
            self.h = None  # epoch wrap: streams restart
        x = self.x[:, b * self.T:(b + 1) * self.T]
        y = self.y[:, b * self.T:(b + 1) * self.T]
        logits, h = self.model(x, self.h)
        loss = F.cross_entropy(logits.reshape(-1, self.V), y.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        self.h = detach(h)
        self.it += 1
        if self.it % self.n_batches == 0 and self.it // self.n_batches >= self.lr_decay_after:
            for g in self.opt.param_groups:
                g["lr"] *= self.lr_decay
        if self.it % 10 == 0:
            self.last_loss = loss.item()  # what a plain loop prints now and then

    def evaluate(self, val_ids, batch: int) -> float:
        return evaluate(self.model, val_ids, batch, self.T, self.V, self.device)


@torch.no_grad()
def evaluate(model, val_ids, batch: int, T: int, V: int, device="cpu") -> float:
    """Mean cross-entropy (nats/char) over the whole val split, streams carried.

    Same streams as the engine's val_batcher: B = min(batch, (N-1)//T), at least 1.
    `model(x, h) -> (logits, h)`, h None at the start.
    """
    B = max(1, min(batch, (len(val_ids) - 1) // T))
    x, y, n = streams(val_ids, B, T)
    x, y = x.to(device), y.to(device)
    model.eval()
    h, total = None, torch.zeros((), dtype=torch.float64, device=device)
    for i in range(n):
        logits, h = model(x[:, i * T:(i + 1) * T], h)
        total += F.cross_entropy(logits.reshape(-1, V), y[:, i * T:(i + 1) * T].reshape(-1),
                                 reduction="sum")
    model.train()
    return float(total) / (n * B * T)


class ListState(nn.Module):
    """tuirnn's CharRNN (per-layer state list) behind the plain (x, h) -> (logits, h) call,
    h a tuple the plain loop can detach."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, h=None):
        logits, state = self.m(x, None if h is None else list(h))
        return logits, tuple(state)

def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def now() -> float:
    return time.perf_counter()


def load_note() -> str:
    """A warning when other work shares the CPUs (wall-clock figures are then noisy)."""
    import os
    try:
        one = os.getloadavg()[0]
    except (OSError, AttributeError):
        return ""
    cores = os.cpu_count() or 1
    if one > cores * 0.75:
        return (f"note: load average {one:.1f} on {cores} cores at the end: other work shared the "
                f"CPUs, so wall-clock figures are noisy")
    return ""
