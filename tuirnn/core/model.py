"""Character-level RNN: embedding -> stack of LSTM/GRU/RNN layers -> linear head.

Each layer is its own single-layer cuDNN module (the same kernels a fused multi-layer module
runs, with dropout applied between them exactly as nn.LSTM(dropout=p) does). Keeping layers
apart lets the probe read every layer's hidden sequence, and re-derive the LSTM cell sequence
from the same weights, without any cost on the training path.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .errors import UserError

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


_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def param_count(vocab_size: int, model_cfg) -> int:
    """Parameters `build` would make, counted without allocating anything.

    Per layer: gates x (input x H + H x H + 2 H biases); embedding V x E; head H x V + V.
    """
    H, E, V = model_cfg.hidden_size, model_cfg.embed_size, vocab_size
    gates = _GATES[model_cfg.cell]
    layers = sum(gates * ((E if i == 0 else H) * H + H * H + 2 * H)
                 for i in range(model_cfg.num_layers))
    return V * E + layers + H * V + V


def free_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes free for tensors on `device`: the GPU's free memory on CUDA, else available RAM.

    None when the platform does not say (the check is then skipped).
    """
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(vocab_size: int, model_cfg, device: torch.device | str = "cpu",
               training: bool = True, origin: str = "") -> int:
    """Refuse a model too big for the machine, before anything is allocated; its param count.

    float32 weights are 4 bytes a parameter; training adds gradients and Adam's two moments
    (x4 in all). Activations come on top, so a model this passes may still be tight.
    """
    n = param_count(vocab_size, model_cfg)
    need = n * 4 * (4 if training else 1)
    free = free_memory(device)
    if free is not None and need > free:
        where = "the GPU has" if torch.device(device).type == "cuda" else "this machine has"
        raise UserError(f"{origin}model of {n:,} params needs ~{_gb(need)} GB "
                        f"{'to train' if training else 'to load'}, {where} {_gb(free)} GB free; "
                        "make model.hidden_size smaller")
    return n


def _gb(n_bytes: int) -> str:
    gb = n_bytes / 1e9
    return f"{gb:.1f}" if gb < 100 else f"{gb:,.0f}"


def flatten_state(state) -> list[torch.Tensor]:
    """Per-layer states as one list of tensors (an LSTM layer's (h, c) become two), as a
    checkpoint stores them."""
    out: list[torch.Tensor] = []
    for s in state:
        out.extend(s if isinstance(s, tuple) else (s,))
    return out


def unflatten_state(tensors: list[torch.Tensor], cell: str) -> list:
    """flatten_state undone: the per-layer states `cell` layers take."""
    if cell == "lstm":
        return [(tensors[i], tensors[i + 1]) for i in range(0, len(tensors), 2)]
    return list(tensors)
