"""Loss over a whole split, streams carried: the trainer's val loss and `tuirnn eval`.

One function, so the number `tuirnn eval RUN --split val` prints is the number the trainer
logged for the same checkpoint.
"""
from __future__ import annotations

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
