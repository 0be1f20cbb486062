"""Probe: run a text through the model and read every unit of every layer, per character.

For each character t (the state *after* reading text[t]) we keep
  h:  (L, T, H)  every layer's hidden output, read from the same fast layers training uses;
  c:  (L, T, H)  LSTM only: tanh(cell state), re-derived from the layer's own weights because
                 nn.LSTM returns only the final c, never the sequence;
  top_ids / top_probs: (T, k) the model's k best guesses for text[t + 1];
  loss: (T,) the model's loss on text[t] in nats, -log p(text[t] | text[:t]): the surprisal
        view. loss[0] is NaN: the first character is read, never predicted (as in training,
        where y is x shifted by one).
  gates: LSTM/GRU only, per layer, gate and unit the share of the text's characters at which
         the gate is saturated (< 0.1 or > 0.9), counted in the same pass that gives c
         (core/gates.py): (L, G, H) twice, a few kB however long the text.

The finder lives in `tuirnn.finder`. Nothing here imports a UI library: this runs on the
training thread between steps, or on CPU from a checkpoint. torch is imported inside the
functions that run the model, so the UI can decode a ProbeResult without loading torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import UserError
from .events import ProbeCompleted
from .gates import GATES, GateStats, SaturationCounter, layer_gates

KINDS = ("c", "h")                       # c: tanh(cell state), LSTM only; h: hidden output
KIND_LABELS = {"c": "tanh(c)", "h": "h"}


@dataclass
class ProbeResult:
    text: str                            # the characters actually probed (unknown ones dropped)
    vocab: str
    cell: str
    h: np.ndarray                        # (L, T, H) float32
    c: np.ndarray | None                 # (L, T, H) float32 tanh(c); None for GRU/RNN
    top_ids: np.ndarray                  # (T, k) int32
    top_probs: np.ndarray                # (T, k) float32
    dropped: str = ""                    # distinct characters left out: not in the vocabulary
    iteration: int = 0
    source: str = "val"
    loss: np.ndarray | None = None       # (T,) float32 nats per character, loss[0] NaN
    where: str = ""                      # which text this is, e.g. the validation window
    gates: GateStats | None = None       # LSTM/GRU gate saturation per unit (core/gates.py)
    _flat: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_layers(self) -> int:
        return self.h.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.h.shape[2]

    @property
    def kinds(self) -> tuple[str, ...]:
        return KINDS if self.c is not None else ("h",)

    def layer(self, kind: str, layer: int) -> np.ndarray:
        """(T, H) activations of one layer; kind 'c' falls back to 'h' for GRU/RNN."""
        return (self.c if kind == "c" and self.c is not None else self.h)[layer]

    def unit(self, kind: str, layer: int, unit: int) -> np.ndarray:
        """(T,) one unit's activation per character, in [-1, 1] (tanh-bounded)."""
        return self.layer(kind, layer)[:, unit]

    def surprisal_bits(self) -> np.ndarray:
        """(T,) the loss on each character in bits (NaN for the first, or with no losses)."""
        if self.loss is None:
            return np.full(len(self.text), np.nan, np.float32)
        return self.loss / np.float32(math.log(2))

    def mean_loss(self) -> float | None:
        """Mean nats/char over the predicted characters (all but the first); None if none."""
        if self.loss is None or len(self.loss) < 2:
            return None
        return float(np.mean(self.loss[1:], dtype=np.float64))

    def to_event(self, iteration: int = 0, source: str | None = None,
                 request_id: int | None = None) -> ProbeCompleted:
        """Plain-data event: arrays packed as little-endian float32/int32 bytes."""
        return ProbeCompleted(
            iteration=iteration, text=self.text, cell=self.cell, num_layers=self.num_layers,
            hidden_size=self.hidden_size, k=self.top_ids.shape[1],
            h=_pack(self.h, "<f4"), c=b"" if self.c is None else _pack(self.c, "<f4"),
            top_ids=_pack(self.top_ids, "<i4"), top_probs=_pack(self.top_probs, "<f4"),
            vocab=self.vocab, source=self.source if source is None else source,
            request_id=request_id, dropped=self.dropped,
            loss=b"" if self.loss is None else _pack(self.loss, "<f4"), where=self.where,
            gates=b"" if self.gates is None else self.gates.pack())

    @classmethod
    def from_event(cls, ev: ProbeCompleted) -> "ProbeResult":
        T = len(ev.text)
        shape = (ev.num_layers, T, ev.hidden_size)
        if len(ev.h) != 4 * T * ev.num_layers * ev.hidden_size:
            # e.g. an event read back from events.jsonl, which leaves the arrays out
            raise ValueError("this ProbeCompleted carries no activations")
        h = np.frombuffer(ev.h, dtype="<f4").reshape(shape)
        c = np.frombuffer(ev.c, dtype="<f4").reshape(shape) if ev.c else None
        loss = np.frombuffer(ev.loss, dtype="<f4") if len(ev.loss) == 4 * T else None
        gates = (GateStats.unpack(ev.gates, ev.cell, ev.num_layers, ev.hidden_size, T)
                 if getattr(ev, "gates", b"") else None)
        return cls(text=ev.text, vocab=ev.vocab, cell=ev.cell, h=h, c=c,
                   top_ids=np.frombuffer(ev.top_ids, dtype="<i4").reshape(T, ev.k),
                   top_probs=np.frombuffer(ev.top_probs, dtype="<f4").reshape(T, ev.k),
                   dropped=getattr(ev, "dropped", ""), iteration=ev.iteration, source=ev.source,
                   loss=loss, where=ev.where, gates=gates)


def _pack(a: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


def split_known(text: str, vocab: str) -> tuple[str, str]:
    """(text without characters outside vocab, those characters sorted and deduplicated)."""
    from .data import unknown_chars
    unknown = unknown_chars(text, vocab)
    if not unknown:
        return text, ""
    bad = set(unknown)
    return "".join(ch for ch in text if ch not in bad), "".join(unknown)


def describe_chars(chars: str) -> str:
    """'a', '\\t', 'é' -> "'a' '\\t' 'é'" for error lines."""
    return " ".join(repr(ch) for ch in chars)


def encode(text: str, vocab: str, device="cpu"):
    """(T,) long ids tensor; every char must be in vocab (use split_known first)."""
    from .data import encode as encode_ids
    try:
        ids = encode_ids(text, vocab)
    except KeyError:
        raise UserError(f"text has characters the model never saw: "
                        f"{describe_chars(split_known(text, vocab)[1])}") from None
    return ids.long().to(device)


def lstm_cell_sequence(layer, x, h_seq, c0=None):
    """The cell states c_t (T, H) of a single-layer LSTM, re-derived from its weights.

    x: (T, I) the layer's input; h_seq: (T, H) its output as nn.LSTM computed it. Because the
    h sequence is known, every gate is one batched matmul over all of time:
        gates_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh   (rows in order i, f, g, o)
    and only the elementwise recurrence c_t = f_t * c_{t-1} + i_t * g_t needs a loop.
    """
    import torch
    T, H = h_seq.shape
    h_prev = torch.cat([h_seq.new_zeros(1, H), h_seq[:-1]])          # (T, H): h_{t-1}, h_{-1}=0
    # Only the i, f, g rows (the first 3H): the output gate never touches c. A quarter less
    # of the two (T, I) x (I, 3H) products that dominate the cost.
    ifg = slice(0, 3 * H)
    gates = torch.addmm((layer.bias_ih_l0 + layer.bias_hh_l0)[ifg], x, layer.weight_ih_l0[ifg].t())
    gates = gates.addmm_(h_prev, layer.weight_hh_l0[ifg].t())        # (T, 3H)
    i, f, g = gates.chunk(3, dim=1)
    update = torch.sigmoid(i) * torch.tanh(g)                         # (T, H)
    forget = torch.sigmoid(f)                                         # (T, H)
    c = torch.empty_like(update)
    prev = h_seq.new_zeros(H) if c0 is None else c0
    # One fused op per step over pre-split rows keeps Python overhead ~2 us a character.
    for out_row, u_row, f_row in zip(c.unbind(0), update.unbind(0), forget.unbind(0)):
        torch.addcmul(u_row, f_row, prev, out=out_row)
        prev = out_row
    return c


def probe_ids(model, ids, gate_counts: SaturationCounter | None = None):
    """ids: (T,) on the model's device -> (logits (T, V), final state, hs, cs).

    hs: list of (T, H) per layer; cs: list of (T, H) raw cell states (LSTM) or None.
    gate_counts: fed every layer's gates (LSTM/GRU), from the same pass that gives c.
    The model must be in eval mode (no dropout), as probe_text arranges.
    """
    import torch
    with torch.no_grad():
        logits, state, hiddens = model(ids[None], return_hidden=True)
        hs = [hid[0] for hid in hiddens]                              # each (T, H)
        cs: list | None = None
        if gate_counts is not None and model.cell in GATES:
            cs = [] if model.cell == "lstm" else None
            for i, gates, c, _ in layer_gates(model, ids, hs):
                gate_counts.add(i, gates)
                if cs is not None:
                    cs.append(c)
        elif model.cell == "lstm":
            cs = []
            x = model.embed(ids)                                      # (T, E) layer 0's input
            for i, layer in enumerate(model.layers):
                cs.append(lstm_cell_sequence(layer, x, hs[i]))
                x = hs[i]                                             # eval: dropout is identity
    return logits[0], state, hs, cs


def char_losses(logits, ids):
    """logits: (T, V) after reading ids[:t+1]; ids: (T,) -> (T,) float32 nats: the loss on
    each character given those before it (cross-entropy as in training), NaN for ids[0]."""
    import torch
    logp = torch.log_softmax(logits.float(), dim=-1)                   # (T, V)
    nll = -logp[:-1].gather(1, ids[1:, None].long())[:, 0]            # (T-1,) for ids[1:]
    return torch.cat([nll.new_full((1,), float("nan")), nll])


def probe_text(model, text: str, vocab: str, k: int = 5, unknown: str = "drop") -> ProbeResult:
    """Probe `text` from a zero state. unknown='drop' leaves out characters not in vocab (listed
    in result.dropped); unknown='error' raises UserError naming them."""
    kept, dropped = split_known(text, vocab)
    if dropped and unknown == "error":
        raise UserError(f"text has characters the model never saw: {describe_chars(dropped)}; "
                        "remove them or probe a model trained on them")
    L, H = model.num_layers, model.hidden_size
    k = max(1, min(k, len(vocab)))
    if not kept:
        empty = np.zeros((L, 0, H), np.float32)
        return ProbeResult(kept, vocab, model.cell, empty, empty.copy() if model.cell == "lstm"
                           else None, np.zeros((0, k), np.int32), np.zeros((0, k), np.float32),
                           dropped, loss=np.zeros(0, np.float32))
    import torch
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        text_ids = encode(kept, vocab, device)
        counts = SaturationCounter(model.cell, L, H) if model.cell in GATES else None
        logits, _, hs, cs = probe_ids(model, text_ids, counts)
        probs, ids = torch.softmax(logits.float(), dim=-1).topk(k, dim=-1)  # (T, k) each
        loss = char_losses(logits, text_ids).cpu().numpy()                 # (T,)
        h = torch.stack(hs).float().cpu().numpy()                          # (L, T, H)
        c = None if cs is None else torch.tanh(torch.stack(cs)).float().cpu().numpy()
    finally:
        model.train(was_training)
    return ProbeResult(kept, vocab, model.cell, h, c, ids.to(torch.int32).cpu().numpy(),
                       probs.cpu().numpy(), dropped, loss=loss,
                       gates=None if counts is None else counts.result())
