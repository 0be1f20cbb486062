"""Character-level RNN: embedding -> stack of LSTM/GRU/RNN layers -> linear head.

Each layer is its own single-layer cuDNN module (the same kernels a fused multi-layer module
runs, with dropout applied between them exactly as nn.LSTM(dropout=p) does). Keeping layers
apart lets the probe read every layer's hidden sequence, and re-derive the LSTM cell sequence
from the same weights, without any cost on the training path.
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}

# Per-layer state: LSTM (h, c), each (1, B, H); GRU/RNN h alone, (1, B, H).
State = list


class CharRNN(nn.Module):
    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 128,
                 num_layers: int = 2, dropout: float = 0.0, embed_size: int = 64):
        super().__init__()
        self.cell = cell
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embed = nn.Embedding(vocab_size, embed_size)
        rnn_cls = CELLS[cell]
        self.layers = nn.ModuleList(
            rnn_cls(embed_size if i == 0 else hidden_size, hidden_size, batch_first=True)
            for i in range(num_layers)
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def init_state(self, batch_size: int, device: torch.device | str = "cpu") -> State:
        def zeros():
            return torch.zeros(1, batch_size, self.hidden_size, device=device)
        if self.cell == "lstm":
            return [(zeros(), zeros()) for _ in self.layers]
        return [zeros() for _ in self.layers]

    def forward(self, x: torch.Tensor, state: State | None = None,
                return_hidden: bool = False):
        """x: (B, T) int ids -> logits (B, T, V), new state.

        With return_hidden, also the list of each layer's output sequence (B, T, H).
        """
        out = self.embed(x)
        new_state = []
        hiddens = []
        for i, layer in enumerate(self.layers):
            if i > 0:
                out = self.drop(out)
            out, s = layer(out, None if state is None else state[i])
            new_state.append(s)
            if return_hidden:
                hiddens.append(out)
        logits = self.head(self.drop(out))  # char-rnn also drops before the head
        if return_hidden:
            return logits, new_state, hiddens
        return logits, new_state

    @staticmethod
    def detach_state(state: State) -> State:
        return [tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach() for s in state]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build(vocab_size: int, model_cfg) -> CharRNN:
    return CharRNN(vocab_size, model_cfg.cell, model_cfg.hidden_size, model_cfg.num_layers,
                   model_cfg.dropout, model_cfg.embed_size)
