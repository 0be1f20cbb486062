"""A unit that tracks "inside quotes" is found after brief training on a corpus that needs one.

Outside quotes the words are lowercase; inside they are UPPERCASE. To predict the case of the
next letter the model must remember whether a quote is open, so some unit learns that state.
"""
import random

import torch

from tuirnn.core.finder import find_units
from tuirnn.core.model import CharRNN
from tuirnn.core.probe import probe_text

WORDS = "when the wind turns north we walk by night and sing old songs".split()


def quoted_corpus(n_chars: int, seed: int) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        piece = " ".join(words)
        if rng.random() < 0.5:
            piece = '"' + piece.upper() + '"'
        out.append(piece)
        size += len(piece) + 1
    return " ".join(out)


def train(model, ids, steps, batch=32, seq=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - seq - 1, (batch,), generator=gen)
        x = torch.stack([ids[s:s + seq] for s in starts])
        y = torch.stack([ids[s + 1:s + seq + 1] for s in starts])
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def test_finder_finds_a_quote_unit_after_training():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    text = quoted_corpus(60_000, seed=1)
    vocab = "".join(sorted(set(text)))
    ids = torch.tensor([vocab.index(ch) for ch in text])
    held_out = quoted_corpus(2_000, seed=2)[:2000]

    model = CharRNN(len(vocab), "lstm", hidden_size=32, num_layers=1, embed_size=16)
    untrained = abs(find_units(probe_text(model, held_out, vocab), "quotes", top=1)[0].corr)
    loss = train(model, ids, steps=250)
    best = find_units(probe_text(model, held_out, vocab), "quotes", top=3)[0]
    trained = abs(best.corr)
    print(f"loss {loss:.3f}; best |r| inside quotes: untrained {untrained:.3f}, "
          f"trained {trained:.3f} (layer {best.layer} unit {best.unit} {best.kind})")
    assert trained > 0.8
    assert trained > untrained + 0.25
