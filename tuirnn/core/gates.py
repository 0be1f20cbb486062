"""Gates: every LSTM/GRU gate, per character, re-derived from each layer's own weights.

The fast layers (cuDNN, nn.LSTM, nn.GRU) return only their hidden sequence h. Knowing it, every
gate of every step is one batched matmul over all of time (h_{t-1} is the row before), as the
probe already does for tanh(c). What the paper (Karpathy, Johnson & Fei-Fei 2015, Figure 3)
measures from them is saturation: per unit, the share of characters at which a gate is
left-saturated (< LEFT, nearly shut) or right-saturated (> RIGHT, nearly open). A forget gate
right-saturated most of the time is an integrator: its cell remembers for long.

    LSTM rows (PyTorch order i, f, g, o):  c_t = f_t * c_{t-1} + i_t * g_t,  h_t = o_t * tanh(c_t)
    GRU rows (r, z, n):  n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn)),
                         h_t = (1 - z_t) * n_t + z_t * h_{t-1}

torch is imported inside the functions that run a model, so a UI can decode GateStats without
loading torch. Nothing here imports a UI library.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GATES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update")}
LEFT, RIGHT = 0.1, 0.9          # the paper's thresholds: shut below 0.1, open above 0.9


def lstm_layer_gates(layer, x, h_seq, h0=None, c0=None):
    """One single-layer nn.LSTM over x: (T, I), its output h_seq: (T, H) as it computed it.

    -> ({'input', 'forget', 'output': (T, H) sigmoid activations}, c (T, H) raw cell states,
    h (T, H) re-derived as o * tanh(c): equal to h_seq, which tests check). h0, c0: (H,) the
    state before x (zeros when None).
    """
    import torch
    T, H = h_seq.shape
    first = h_seq.new_zeros(1, H) if h0 is None else h0.reshape(1, H)
    h_prev = torch.cat([first, h_seq[:-1]])                          # (T, H) h_{t-1}
    z = torch.addmm(layer.bias_ih_l0 + layer.bias_hh_l0, x, layer.weight_ih_l0.t())
    z = z.addmm_(h_prev, layer.weight_hh_l0.t())                     # (T, 4H) rows i f g o
    zi, zf, zg, zo = z.chunk(4, dim=1)
    i, f, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.sigmoid(zo)
    update = i * torch.tanh(zg)
    c = torch.empty_like(update)
    prev = h_seq.new_zeros(H) if c0 is None else c0.reshape(H)
    # the elementwise recurrence is the only loop: one fused op per step over pre-split rows
    for out_row, u_row, f_row in zip(c.unbind(0), update.unbind(0), f.unbind(0)):
        torch.addcmul(u_row, f_row, prev, out=out_row)
        prev = out_row
    return {"input": i, "forget": f, "output": o}, c, o * torch.tanh(c)


def gru_layer_gates(layer, x, h_seq, h0=None):
    """One single-layer nn.GRU: -> ({'reset', 'update': (T, H)}, None, h (T, H) re-derived).

    No loop at all: with h_{t-1} known every step's gates are independent.
    """
    import torch
    T, H = h_seq.shape
    first = h_seq.new_zeros(1, H) if h0 is None else h0.reshape(1, H)
    h_prev = torch.cat([first, h_seq[:-1]])                          # (T, H)
    gi = torch.addmm(layer.bias_ih_l0, x, layer.weight_ih_l0.t())     # (T, 3H) rows r z n
    gh = torch.addmm(layer.bias_hh_l0, h_prev, layer.weight_hh_l0.t())
    ir, iz, in_ = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r, u = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return {"reset": r, "update": u}, None, (1 - u) * n + u * h_prev


def layer_gates(model, ids, hs, state=None):
    """Yield (layer index, gates, c or None, re-derived h) for each layer of a CharRNN (eval
    mode: dropout is identity). ids: (T,) long; hs: the layers' outputs, each (T, H); state:
    the model's per-layer state before ids (batch 1), None for zeros."""
    if model.cell not in GATES:
        raise ValueError(f"a {model.cell.upper()} layer has no gates")
    x = model.embed(ids)                                              # (T, E) layer 0's input
    for n, layer in enumerate(model.layers):
        s = None if state is None else state[n]
        if model.cell == "lstm":
            h0, c0 = (None, None) if s is None else (s[0][0, 0], s[1][0, 0])
            gates, c, h = lstm_layer_gates(layer, x, hs[n], h0, c0)
        else:
            gates, c, h = gru_layer_gates(layer, x, hs[n], None if s is None else s[0, 0])
        yield n, gates, c, h
        x = hs[n]


@dataclass(frozen=True)
class GateStats:
    """Saturation of every gate of every unit over `chars` characters.

    left, right: (L, G, H) float32 shares in [0, 1] of the characters at which the gate was
    < LEFT / > RIGHT; G gates in GATES[cell] order.
    """
    cell: str
    left: np.ndarray
    right: np.ndarray
    chars: int

    @property
    def names(self) -> tuple[str, ...]:
        return GATES[self.cell]

    @property
    def num_layers(self) -> int:
        return self.left.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.left.shape[2]

    def gate(self, layer: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """((H,) left shares, (H,) right shares) of one gate of one layer: one dot a unit."""
        g = self.names.index(name)
        return self.left[layer, g], self.right[layer, g]

    def shares(self, layer: int, name: str) -> tuple[float, float]:
        """(left, right): the share of (character, unit) pairs of the layer saturated."""
        left, right = self.gate(layer, name)
        return float(left.mean()), float(right.mean())

    def most_right(self, layer: int, name: str, top: int = 5) -> list[tuple[int, float]]:
        """[(unit, right share)] the `top` units most often right-saturated, most first."""
        right = self.gate(layer, name)[1]
        order = np.argsort(-right, kind="stable")[:top]
        return [(int(u), float(right[u])) for u in order]

    def pack(self) -> bytes:
        """float32 little-endian (L, G, 2, H): per layer and gate, left then right shares."""
        return np.ascontiguousarray(np.stack([self.left, self.right], axis=2), "<f4").tobytes()

    @classmethod
    def unpack(cls, blob: bytes, cell: str, num_layers: int, hidden_size: int,
               chars: int) -> "GateStats":
        """pack() undone; ValueError when the bytes do not fit the shape (untrusted input)."""
        shape = (num_layers, len(GATES.get(cell, ())), 2, hidden_size)
        if cell not in GATES or len(blob) != 4 * int(np.prod(shape)):
            raise ValueError(f"gate statistics of {len(blob)} bytes do not fit a "
                             f"{cell.upper()} of {num_layers}x{hidden_size}")
        a = np.clip(np.frombuffer(blob, dtype="<f4").reshape(shape), 0.0, 1.0)
        return cls(cell, a[:, :, 0], a[:, :, 1], chars)


class SaturationCounter:
    """Counts, per layer, gate and unit, the characters at which a gate is saturated; fed a
    chunk at a time (the whole validation split need not fit in memory at once)."""

    def __init__(self, cell: str, num_layers: int, hidden_size: int):
        G = len(GATES[cell])
        self.cell = cell
        self.left = np.zeros((num_layers, G, hidden_size), np.int64)
        self.right = np.zeros((num_layers, G, hidden_size), np.int64)
        self.chars = 0

    def add(self, layer: int, gates: dict) -> None:
        """gates: {name: (T, H) tensor} of one layer over one chunk (layers 0..L-1 each once a
        chunk; layer 0 counts the characters)."""
        for g, name in enumerate(GATES[self.cell]):
            a = gates[name]
            self.left[layer, g] += (a < LEFT).sum(dim=0).cpu().numpy()
            self.right[layer, g] += (a > RIGHT).sum(dim=0).cpu().numpy()
        if layer == 0:
            self.chars += int(gates[GATES[self.cell][0]].shape[0])

    def result(self) -> GateStats:
        n = max(1, self.chars)
        return GateStats(self.cell, (self.left / n).astype(np.float32),
                         (self.right / n).astype(np.float32), self.chars)


def gate_stats(model, ids, chunk: int = 8192) -> GateStats:
    """Saturation over ids: (T,) long on the model's device, read from a zero state in chunks
    of `chunk` characters (the state carried across, so it equals one pass over all of ids);
    memory is O(chunk), so the whole validation split of a large corpus fits."""
    import torch
    counter = SaturationCounter(model.cell, model.num_layers, model.hidden_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            state = None
            for start in range(0, len(ids), chunk):
                part = ids[start:start + chunk]
                _, new_state, hiddens = model(part[None], state, return_hidden=True)
                hs = [hid[0] for hid in hiddens]                      # each (t, H)
                for n, gates, _, _ in layer_gates(model, part, hs, state):
                    counter.add(n, gates)
                state = new_state
    finally:
        model.train(was_training)
    return counter.result()
