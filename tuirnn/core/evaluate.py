"""Loss over a whole split, streams carried: the trainer's val loss and `tuirnn eval`.

One function, so the number `tuirnn eval RUN --split val` prints is the number the trainer
logged for the same checkpoint; char_probs gives the same split per character (`tuirnn errors`).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data import Batcher
from .model import CharRNN


@torch.no_grad()
def mean_loss(model: CharRNN, data: Batcher, device: torch.device | str) -> float:
    """Mean cross-entropy in nats/char over every batch of `data`, in order.

    The hidden state starts at zero and is carried from batch to batch (row b of batch i+1
    continues row b of batch i), as in training; dropout is off. The sum stays on the device
    (one host sync at the end).
    """
    was_training = model.training
    model.eval()
    state = model.init_state(data.batch_size, device)
    total = torch.zeros((), device=device)
    for i in range(len(data)):
        x, y = data[i]                      # (B, T) int64 each
        logits, state = model(x, state)     # (B, T, V)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
    model.train(was_training)
    return float(total) / (len(data) * data.chars_per_batch)


@torch.no_grad()
def char_probs(model: CharRNN, ids: torch.Tensor, device: torch.device | str,
               chunk: int = 8192) -> np.ndarray:
    """(T,) float64: the model's probability of each ids[t] given ids[:t], as one stream read
    from a zero state in chunks (the state carried, dropout off); NaN for ids[0], never
    predicted. Memory stays one chunk's logits, so a whole split fits (`tuirnn errors`)."""
    was_training = model.training
    model.eval()
    out = np.full(len(ids), np.nan)
    state = None
    try:
        for s in range(0, max(0, len(ids) - 1), chunk):
            x = ids[s:s + chunk].long().to(device)[None]                  # (1, C)
            y = ids[s + 1:s + chunk + 1].long().to(device)                # (C,) or (C-1,) at the end
            logits, state = model(x, state)
            logp = torch.log_softmax(logits[0, :len(y)].float(), dim=-1)  # (len(y), V)
            out[s + 1:s + 1 + len(y)] = logp.gather(1, y[:, None])[:, 0].exp().cpu().numpy()
    finally:
        model.train(was_training)
    return out
